import { useGetCreditsQuery } from './billingApi'
import { Card, ErrorBanner, Loading } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import type { Credits } from './types'
import { useFormatDay } from './useFormatDay'
import { useI18n } from '../../i18n/I18nProvider'

export function CreditsCard() {
  const { t } = useI18n()
  const formatDate = useFormatDay()
  const credits = useGetCreditsQuery()
  const message = useErrorMessage(credits.error)
  const data: Credits | undefined = credits.data
  return (
    <Card title={t('billing.credits.title')}>
      {credits.isLoading && <Loading />}
      <ErrorBanner message={message} />
      {data && (
        <div className="space-y-3 text-sm" data-testid="billing-credits">
          <dl className="grid grid-cols-3 gap-3">
            <div>
              <dt className="text-slate-500">{t('billing.credits.available')}</dt>
              <dd className="text-2xl font-bold text-slate-900 tabular-nums" data-testid="billing-credits-available">
                {data.available.toLocaleString()}
              </dd>
            </div>
            <div>
              <dt className="text-slate-500">{t('billing.credits.reserved')}</dt>
              <dd className="text-2xl font-semibold text-slate-700 tabular-nums">{data.reserved.toLocaleString()}</dd>
            </div>
            <div>
              <dt className="text-slate-500">{t('billing.credits.balance')}</dt>
              <dd className="text-2xl font-semibold text-slate-700 tabular-nums">{data.balance.toLocaleString()}</dd>
            </div>
          </dl>
          <p className="text-xs text-slate-500">{t('billing.credits.reservedHelp')}</p>
          {data.next_grant_at && (
            <p className="text-slate-700" data-testid="billing-next-grant">
              {data.next_grant_credits !== null && data.next_grant_credits !== undefined
                ? t('billing.credits.nextGrant', {
                    credits: data.next_grant_credits.toLocaleString(),
                    date: formatDate(data.next_grant_at),
                  })
                : t('billing.credits.nextGrantDate', { date: formatDate(data.next_grant_at) })}
            </p>
          )}
          <p className="text-xs text-slate-500">{t('billing.credits.noRollover')}</p>
        </div>
      )}
    </Card>
  )
}
