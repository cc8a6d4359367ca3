import { useEffect, useRef, useState } from 'react'
import { useDispatch } from 'react-redux'
import { api } from '../../api/api'
import type { AppDispatch } from '../../app/store'
import { Notice } from '../../components/ui'
import { effectivePlan, planName } from './plans'
import type { Plan, Subscription } from './types'
import { useI18n } from '../../i18n/I18nProvider'

/**
 * After Lemon Squeezy's checkout the webhook may land a moment after the owner does: reload
 * the billing data at these delays (ms) until the subscription changes.
 */
export const CHECKOUT_REFETCH_DELAYS = [1000, 2000, 3000, 5000, 8000]

/** "Thanks" after the checkout, and a few reloads until the webhook has been applied. */
export function CheckoutDone({ subscription, plans }: { subscription: Subscription | undefined; plans: Plan[] | undefined }) {
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
