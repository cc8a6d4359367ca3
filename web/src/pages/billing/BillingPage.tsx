import { useEffect, useRef, useState } from 'react'
import { useDispatch } from 'react-redux'
import { useSearchParams } from 'react-router-dom'
import { api } from '../../api/api'
import { useGetBillingPlansQuery, useGetCreditsQuery, useGetSubscriptionQuery } from '../../features/billing/billingApi'
import { httpStatus } from '../../api/problem'
import { hasRole } from '../../api/types'
import type { AppDispatch } from '../../app/store'
import { PageTitle } from '../../components/Layouts'
import { Badge, Button, Card, ErrorBanner, Loading, Notice } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import { useMe } from '../../components/useMe'
import { effectivePlan, hasPaidSubscription, planName, statusTone } from '../../features/billing/plans'
import type { Credits, Plan, Subscription } from '../../features/billing/types'
import { useOpenPortal } from '../../features/billing/useOpenPortal'
import { useFormatDay } from '../../features/billing/useFormatDay'
import type { MessageKey } from '../../i18n/en'
import { useI18n } from '../../i18n/I18nProvider'
import { PaymentsCard } from './PaymentsCard'
import { PlansCard } from './PlansCard'
import { StatusAlert } from './StatusAlert'
import { UsageCard } from './UsageCard'

/**
 * After Lemon Squeezy's checkout the webhook may land a moment after the owner does: reload
 * the billing data at these delays (ms) until the subscription changes.
 */
export const CHECKOUT_REFETCH_DELAYS = [1000, 2000, 3000, 5000, 8000]

/** A team that never paid may have no subscription row yet: that is Free. */
const FREE: Subscription = {
  plan: 'free',
  status: 'active',
  interval: null,
  current_period_start: null,
  current_period_end: null,
  trial_ends_at: null,
  ends_at: null,
  entitlements_reduced: false,
  guidance: null,
  update_payment_method_url: null,
}

export function BillingPage() {
  const { t } = useI18n()
  const me = useMe()
  const isOwner = hasRole(me.role, 'owner')
  const isAdmin = hasRole(me.role, 'admin')
  const [params] = useSearchParams()
  const checkoutDone = params.get('checkout') === 'done'
  const subscriptionQuery = useGetSubscriptionQuery()
  const plans = useGetBillingPlansQuery()
  const subscription = subscriptionQuery.data ?? (httpStatus(subscriptionQuery.error) === 404 ? FREE : undefined)
  const subscriptionError = useErrorMessage(httpStatus(subscriptionQuery.error) === 404 ? undefined : subscriptionQuery.error)

  return (
    <>
      <PageTitle testId="billing-title" subtitle={t('billing.intro')}>
        {t('billing.title')}
      </PageTitle>
      {checkoutDone && <CheckoutDone subscription={subscriptionQuery.data} plans={plans.data} />}
      {subscriptionQuery.isLoading && <Loading />}
      <ErrorBanner message={subscriptionError} />
      {subscription && <StatusAlert subscription={subscription} plans={plans.data} isOwner={isOwner} />}
      <div className="grid gap-6 md:grid-cols-2">
        {subscription && <CurrentPlanCard subscription={subscription} plans={plans.data} isOwner={isOwner} />}
        <CreditsCard />
      </div>
      {isAdmin ? <UsageCard /> : null}
      {subscription && (
        <PlansCard
          currentPlan={effectivePlan(subscription)}
          hasSubscription={hasPaidSubscription(subscription)}
          isOwner={isOwner}
          initialInterval={subscription.interval ?? 'month'}
        />
      )}
      {isOwner && <PaymentsCard />}
    </>
  )
}

/** "Thanks" after the checkout, and a few reloads until the webhook has been applied. */
function CheckoutDone({ subscription, plans }: { subscription: Subscription | undefined; plans: Plan[] | undefined }) {
  const { t } = useI18n()
  const dispatch = useDispatch<AppDispatch>()
  const first = useRef<string | null>(null)
  const [updated, setUpdated] = useState(false)
  const signature = subscription ? `${subscription.plan}/${subscription.status}/${subscription.interval}` : null

  useEffect(() => {
    if (signature === null) return
    if (first.current === null) first.current = signature
    else if (first.current !== signature) setUpdated(true)
  }, [signature])

  useEffect(() => {
    if (updated) return
    const timers = CHECKOUT_REFETCH_DELAYS.reduce<{ at: number; ids: number[] }>(
      (acc, delay) => {
        const at = acc.at + delay
        acc.ids.push(window.setTimeout(() => dispatch(api.util.invalidateTags(['Billing', 'Entitlements'])), at))
        return { at, ids: acc.ids }
      },
      { at: 0, ids: [] },
    )
    return () => timers.ids.forEach((id) => window.clearTimeout(id))
  }, [dispatch, updated])

  return (
    <div data-testid="billing-checkout-done">
      <Notice tone="success">
        {updated && subscription
          ? t('billing.checkout.updated', { plan: planName(effectivePlan(subscription), plans, t) })
          : t('billing.checkout.thanks')}
      </Notice>
    </div>
  )
}

function CurrentPlanCard({
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

function CreditsCard() {
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
