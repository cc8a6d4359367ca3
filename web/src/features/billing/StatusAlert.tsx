import type { ReactNode } from 'react'
import { Button, ErrorBanner } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import { redirectTo } from './redirect'
import type { Plan, Subscription } from './types'
import { planName } from './plans'
import { useOpenPortal } from './useOpenPortal'
import { useFormatDay } from './useFormatDay'
import { useI18n } from '../../i18n/I18nProvider'

const TONES = {
  danger: 'border-red-300 bg-red-50 text-red-900',
  warning: 'border-amber-300 bg-amber-50 text-amber-900',
  info: 'border-indigo-200 bg-indigo-50 text-indigo-900',
}

function Alert({
  tone,
  title,
  children,
  action,
  testId,
}: {
  tone: keyof typeof TONES
  title: string
  children: ReactNode
  action?: ReactNode
  testId: string
}) {
  // A failed payment interrupts (role="alert"); the other states are information.
  return (
    <section
      role={tone === 'danger' ? 'alert' : 'status'}
      aria-label={title}
      data-testid={testId}
      className={`space-y-2 rounded-xl border-2 px-5 py-4 text-sm ${TONES[tone]}`}
    >
      <h2 className="text-base font-semibold">{title}</h2>
      {children}
      {action && <div className="pt-1">{action}</div>}
    </section>
  )
}

/**
 * What the subscription's status means for the team and what to do about it: a failed
 * payment (update the card), a cancellation (resume before it ends), a pause, an expiry.
 */
export function StatusAlert({
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
  const plan = planName(subscription.plan, plans, t)
  const ownerOnly = <p className="font-medium">{t('billing.alert.askOwner')}</p>

  switch (subscription.status) {
    case 'past_due':
    case 'unpaid': {
      const updateUrl = subscription.update_payment_method_url
      return (
        <Alert
          tone="danger"
          testId="billing-payment-failed"
          title={subscription.status === 'unpaid' ? t('billing.alert.unpaidTitle') : t('billing.alert.pastDueTitle')}
          action={
            isOwner ? (
              <Button
                variant="danger"
                busy={portal.busy}
                data-testid="billing-update-payment"
                onClick={() => (updateUrl ? redirectTo(updateUrl) : portal.open())}
              >
                {t('billing.alert.updatePayment')}
              </Button>
            ) : (
              ownerOnly
            )
          }
        >
          <p>{t('billing.alert.pastDueBody', { plan })}</p>
          <p className="font-medium">
            {subscription.entitlements_reduced ? t('billing.alert.reducedNow') : t('billing.alert.gracePeriod')}
          </p>
          <ErrorBanner message={portalError} />
        </Alert>
      )
    }
    case 'cancelled':
      return (
        <Alert
          tone="warning"
          testId="billing-cancelled"
          title={t('billing.alert.cancelledTitle')}
          action={
            isOwner ? (
              <Button variant="secondary" busy={portal.busy} onClick={() => portal.open()}>
                {t('billing.alert.resume')}
              </Button>
            ) : (
              ownerOnly
            )
          }
        >
          <p>
            {subscription.ends_at
              ? t('billing.alert.cancelledUntil', { plan, date: formatDate(subscription.ends_at) })
              : t('billing.alert.cancelledSoon', { plan })}
          </p>
          <p>{t('billing.alert.cancelledResume')}</p>
          <ErrorBanner message={portalError} />
        </Alert>
      )
    case 'paused':
      return (
        <Alert
          tone="warning"
          testId="billing-paused"
          title={t('billing.alert.pausedTitle')}
          action={
            isOwner ? (
              <Button variant="secondary" busy={portal.busy} onClick={() => portal.open()}>
                {t('billing.alert.resume')}
              </Button>
            ) : (
              ownerOnly
            )
          }
        >
          <p>{t('billing.alert.pausedBody', { plan })}</p>
          <ErrorBanner message={portalError} />
        </Alert>
      )
    case 'expired':
      return (
        <Alert tone="info" testId="billing-expired" title={t('billing.alert.expiredTitle')}>
          <p>{t('billing.alert.expiredBody', { plan })}</p>
        </Alert>
      )
    case 'on_trial':
      return subscription.trial_ends_at ? (
        <Alert tone="info" testId="billing-trial" title={t('billing.alert.trialTitle')}>
          <p>{t('billing.alert.trialBody', { plan, date: formatDate(subscription.trial_ends_at) })}</p>
        </Alert>
      ) : null
    default:
      return null
  }
}
