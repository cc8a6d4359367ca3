import { useSearchParams } from 'react-router-dom'
import { useGetBillingPlansQuery, useGetSubscriptionQuery } from '../../features/billing/billingApi'
import { httpStatus } from '../../api/problem'
import { hasRole } from '../../features/session/types'
import { PageTitle } from '../../components/Layouts'
import { ErrorBanner, Loading } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import { useMe } from '../../components/useMe'
import { effectivePlan, hasPaidSubscription } from '../../features/billing/plans'
import type { Subscription } from '../../features/billing/types'
import { useI18n } from '../../i18n/I18nProvider'
import { PaymentsCard } from '../../features/billing/PaymentsCard'
import { PlansCard } from '../../features/billing/PlansCard'
import { StatusAlert } from '../../features/billing/StatusAlert'
import { UsageCard } from '../../features/billing/UsageCard'
import { CheckoutDone } from '../../features/billing/CheckoutDone'
import { CurrentPlanCard } from '../../features/billing/CurrentPlanCard'
import { CreditsCard } from '../../features/billing/CreditsCard'

/** A team that never paid may have no subscription row yet: that is Free. */
const FREE: Subscription = {
  subscription_id: null,
  plan: 'free',
  plan_name: 'Free',
  status: 'active',
  interval: null,
  current_period_start: null,
  current_period_end: null,
  trial_ends_at: null,
  ends_at: null,
  past_due_since: null,
  entitlements_reduced: false,
  entitlements: {},
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
