import { Badge, Button, Card, ErrorBanner } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import { effectivePlan, hasPaidSubscription, planName, statusTone } from './plans'
import type { Plan, Subscription } from './types'
import { useOpenPortal } from './useOpenPortal'
import { useFormatDay } from './useFormatDay'
import type { MessageKey } from '../../i18n/en'
import { useI18n } from '../../i18n/I18nProvider'

export function CurrentPlanCard({
  subscription,
  plans,
  isOwner,
}: {
  subscription: Subscription
  plans: Plan[] | undefined
  isOwner: boolean
}) {
  const { t } = useI18n()
  const formatDate = useFormatDay()
  const portal = useOpenPortal()
  const portalError = useErrorMessage(portal.error)
  const code = effectivePlan(subscription)
  const paid = hasPaidSubscription(subscription)
  const renews = subscription.status === 'active' || subscription.status === 'on_trial'

  return (
    <Card title={t('billing.current.title')}>
      <div className="space-y-3 text-sm" data-testid="billing-current-plan" data-plan={code} data-status={subscription.status}>
        <div className="flex flex-wrap items-center gap-2">
          <span className="text-2xl font-bold text-slate-900">{planName(code, plans, t)}</span>
          {paid && subscription.interval && (
            <span className="text-slate-500">
              {subscription.interval === 'year' ? t('billing.interval.yearly') : t('billing.interval.monthly')}
            </span>
          )}
          {(paid || subscription.status !== 'active') && (
            <Badge tone={statusTone(subscription.status)}>{t(`billing.status.${subscription.status}` as MessageKey)}</Badge>
          )}
          {subscription.entitlements_reduced && <Badge tone="red">{t('billing.current.reduced')}</Badge>}
        </div>
        {paid && subscription.current_period_end && (
          <p className="text-slate-600">
            {renews
              ? t('billing.current.renews', { date: formatDate(subscription.current_period_end) })
              : t('billing.current.periodEnds', { date: formatDate(subscription.current_period_end) })}
          </p>
        )}
        {!paid && <p className="text-slate-600">{t('billing.current.freeHelp')}</p>}
        <ErrorBanner message={portalError} />
        {paid && isOwner && (
          <Button variant="secondary" busy={portal.busy} onClick={() => portal.open()} data-testid="billing-manage">
            {t('billing.current.manage')}
          </Button>
        )}
      </div>
    </Card>
  )
}
