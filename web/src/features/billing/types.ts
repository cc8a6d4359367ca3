/**
 * Billing's public API shapes (docs/billing.md, "API"), generated from docs/api/openapi.json,
 * with the codes the document types as strings narrowed to the values billing answers. `Plan`
 * and `Price` are the app's view of `PlanOut` (normalize.ts); `Usage` is spelled out because
 * its route documents no schema (it may answer CSV).
 */
import type { components } from '../../api/schema'

type S = components['schemas']

export const PLAN_CODES = ['free', 'starter', 'pro', 'team'] as const
export type PlanCode = (typeof PLAN_CODES)[number]

export const INTERVALS = ['month', 'year'] as const
export type Interval = (typeof INTERVALS)[number]

export interface Price {
  interval: Interval
  /** In the currency's minor unit (cents); a currency without one (KRW) counts whole units. */
  amount_minor: number
  /** ISO 4217, e.g. `USD`. */
  currency: string
}

/** `GET billing/plans` → `{items: Plan[]}`. */
export interface Plan {
  code: PlanCode
  name: string
  /** Empty for Free. */
  prices: Price[]
  monthly_credits: number
  max_concurrent_jobs: number
  max_images_per_job: number
  max_width: number
  max_height: number
  allowed_models: string[]
}

/** Lemon Squeezy's subscription statuses, mapped one to one. */
export const SUBSCRIPTION_STATUSES = [
  'on_trial',
  'active',
  'paused',
  'past_due',
  'unpaid',
  'cancelled',
  'expired',
] as const
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number]

/** `GET billing/subscription`. A tenant that never paid is on `free` (status `active`).
 * `entitlements_reduced`: past due beyond the grace period, generation is limited to Free. */
export type Subscription = Omit<S['SubscriptionOut'], 'plan' | 'status' | 'interval'> & {
  plan: PlanCode
  status: SubscriptionStatus
  interval: Interval | null
}

/** `GET billing/credits`. `available` = `balance` − `reserved`. */
export type Credits = Omit<S['CreditsOut'], 'plan'> & { plan: PlanCode }

export type UsageGroup = 'day' | 'user' | 'api_key'

/** The query of `GET billing/usage`: dates are `YYYY-MM-DD` (UTC days), both ends included. */
export interface UsageQuery {
  from: string
  to: string
  group_by: UsageGroup
}

export interface UsageItem {
  /** The group: a day (`YYYY-MM-DD`, or a timestamp that starts with it), a user id or a key id. */
  key: string
  credits: number
  jobs: number
}

/** `GET billing/usage?from&to&group_by`. */
export interface Usage {
  items: UsageItem[]
  from: string
  to: string
  group_by: UsageGroup
}

export type PaymentStatus = 'paid' | 'failed' | 'refunded'

/** `GET billing/payments` → `{items: Payment[]}`, newest first. */
export type Payment = Omit<S['PaymentOut'], 'status' | 'plan'> & {
  status: PaymentStatus
  plan: PlanCode | null
}

export type CheckoutRequest = Omit<S['CheckoutIn'], 'plan'> & { plan: PlanCode }

/** `POST billing/checkout` and `GET billing/portal`: a Lemon Squeezy page to send the owner to. */
export type RedirectUrl = S['UrlOut']
