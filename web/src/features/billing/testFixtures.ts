/** Billing API answers for tests, shaped as features/billing/types.ts (plans as in pingvas_contracts.plans). */
import type { Credits, Payment, Plan, Subscription, UsageItem } from './types'

const MODELS = ['sd-1.5', 'sdxl-turbo', 'sdxl-base-1.0', 'flux-schnell']

export const PLANS: Plan[] = [
  {
    code: 'free',
    name: 'Free',
    prices: [],
    monthly_credits: 50,
    max_concurrent_jobs: 1,
    max_images_per_job: 2,
    max_width: 1024,
    max_height: 1024,
    allowed_models: MODELS.slice(0, 2),
  },
  {
    code: 'starter',
    name: 'Starter',
    prices: [
      { interval: 'month', amount_minor: 900, currency: 'USD' },
      { interval: 'year', amount_minor: 9000, currency: 'USD' },
    ],
    monthly_credits: 500,
    max_concurrent_jobs: 2,
    max_images_per_job: 4,
    max_width: 1536,
    max_height: 1536,
    allowed_models: MODELS.slice(0, 3),
  },
  {
    code: 'pro',
    name: 'Pro',
    prices: [
      { interval: 'month', amount_minor: 2900, currency: 'USD' },
      { interval: 'year', amount_minor: 29000, currency: 'USD' },
    ],
    monthly_credits: 2000,
    max_concurrent_jobs: 4,
    max_images_per_job: 8,
    max_width: 2048,
    max_height: 2048,
    allowed_models: MODELS,
  },
  {
    code: 'team',
    name: 'Team',
    prices: [
      { interval: 'month', amount_minor: 7900, currency: 'USD' },
      { interval: 'year', amount_minor: 79000, currency: 'USD' },
    ],
    monthly_credits: 6000,
    max_concurrent_jobs: 8,
    max_images_per_job: 16,
    max_width: 2048,
    max_height: 2048,
    allowed_models: MODELS,
  },
]

export function subscription(overrides: Partial<Subscription> = {}): Subscription {
  return {
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
    ...overrides,
  }
}

export function paidSubscription(overrides: Partial<Subscription> = {}): Subscription {
  return subscription({
    plan: 'pro',
    status: 'active',
    interval: 'month',
    current_period_start: '2025-03-01T00:00:00Z',
    current_period_end: '2025-04-01T12:00:00Z',
    ...overrides,
  })
}

export function credits(overrides: Partial<Credits> = {}): Credits {
  return {
    balance: 120,
    reserved: 20,
    available: 100,
    plan: 'free',
    next_grant_at: '2025-04-01T12:00:00Z',
    next_grant_credits: 50,
    ...overrides,
  }
}

export function payment(id: string, overrides: Partial<Payment> = {}): Payment {
  return {
    id,
    reference: `order-${id}`,
    kind: 'subscription',
    status: 'paid',
    plan: 'pro',
    amount_minor: 2900,
    currency: 'USD',
    receipt_url: `https://pingvas.lemonsqueezy.com/receipt/${id}`,
    created_at: '2025-03-01T09:00:00Z',
    updated_at: '2025-03-01T09:00:00Z',
    ...overrides,
  }
}

export function usageItems(entries: Record<string, number>): UsageItem[] {
  return Object.entries(entries).map(([key, credits]) => ({ key, credits, jobs: Math.max(1, Math.round(credits / 10)) }))
}
