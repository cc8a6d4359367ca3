import type { Translate } from '../../i18n/I18nProvider'
import type { MessageKey } from '../../i18n/en'
import { PLAN_CODES, type Plan, type PlanCode, type Subscription, type SubscriptionStatus } from './types'

export function isPlanCode(value: unknown): value is PlanCode {
  return typeof value === 'string' && (PLAN_CODES as readonly string[]).includes(value)
}

/** The plan the team is on now: an expired subscription is back on Free. */
export function effectivePlan(subscription: Subscription | undefined): PlanCode {
  if (!subscription || subscription.status === 'expired') return 'free'
  return subscription.plan
}

/** A paid subscription that the portal manages (plan changes, card, cancel, resume). */
export function hasPaidSubscription(subscription: Subscription | undefined): boolean {
  return effectivePlan(subscription) !== 'free'
}

/** The server's name for a plan, else ours. */
export function planName(code: string | null | undefined, plans: readonly Plan[] | undefined, t: Translate): string {
  if (!code) return '—'
  const plan = plans?.find((p) => p.code === code)
  if (plan?.name) return plan.name
  return isPlanCode(code) ? t(`billing.plan.${code}` as MessageKey) : code
}

export function statusTone(status: SubscriptionStatus): 'green' | 'red' | 'slate' | 'indigo' {
  switch (status) {
    case 'active':
      return 'green'
    case 'on_trial':
      return 'indigo'
    case 'past_due':
    case 'unpaid':
      return 'red'
    default:
      return 'slate'
  }
}
