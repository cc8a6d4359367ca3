import { useMemo } from 'react'
import { useGetUsageQuery } from './billingApi'
import { Card, ErrorBanner, Loading } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import { UsageChart } from './UsageChart'
import { dailySeries, usageCsvHref, usageWindow } from './usage'
import { useI18n } from '../../i18n/I18nProvider'

/** Credits used per day over the last 30 days (admins: `GET billing/usage` is theirs). */
export function UsageCard() {
  const { t } = useI18n()
  // Fixed for the page's life, so the query's cache key stays put.
  const range = useMemo(() => usageWindow(), [])
  const usage = useGetUsageQuery(range)
  const message = useErrorMessage(usage.error)
  const days = useMemo(() => dailySeries(usage.data?.items ?? [], range.from, range.to), [usage.data, range])

  return (
    <Card
      title={t('billing.usage.title')}
      actions={
        <a
          href={usageCsvHref(range)}
          download={`pingvas-usage-${range.from}-${range.to}.csv`}
          data-testid="billing-usage-csv"
          className="text-sm font-medium text-indigo-600 hover:text-indigo-500"
        >
          {t('billing.usage.csv')}
        </a>
      }
    >
      {usage.isLoading && <Loading />}
      <ErrorBanner message={message} />
      {usage.data && <UsageChart days={days} />}
    </Card>
  )
}
