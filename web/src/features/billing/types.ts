/**
 * Billing's public API shapes (docs/billing.md, "API"). Every billing type the app uses lives
 * here, so that adjusting to the backend as it lands is one file.
 */

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

/** `GET billing/subscription`. A tenant that never paid is on `free` (status `active`). */
export interface Subscription {
  plan: PlanCode
  status: SubscriptionStatus
  interval: Interval | null
  current_period_start: string | null
  current_period_end: string | null
  trial_ends_at: string | null
  /** When a cancelled subscription stops (access lasts until then). */
  ends_at: string | null
  /** Past due beyond the grace period: generation is limited to the Free plan. */
  entitlements_reduced: boolean
  /** What to do next, in words from the server (e.g. "update the payment method"). */
  guidance: string | null
  /** Lemon Squeezy's page to change the card; the portal when absent. */
  update_payment_method_url: string | null
}

/** `GET billing/credits`. `available` = `balance` − `reserved`. */
export interface Credits {
  balance: number
  reserved: number
  available: number
  plan: PlanCode
  next_grant_at: string | null
  next_grant_credits: number | null
}

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
export interface Payment {
  id: string
  /** e.g. `subscription`, `renewal`, `order`. */
  kind: string
  status: PaymentStatus
  plan: PlanCode | null
  amount_minor: number
  currency: string
  receipt_url: string | null
  created_at: string
}

export interface CheckoutRequest {
  plan: PlanCode
  interval: Interval
}

/** `POST billing/checkout` and `GET billing/portal`: a Lemon Squeezy page to send the owner to. */
export interface RedirectUrl {
  url: string
}
