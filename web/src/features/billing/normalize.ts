import type { Interval, Plan, Price } from './types'

type Raw = Record<string, unknown>

function num(value: unknown, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback
}

/**
 * `prices` as a list of `{interval, amount_minor, currency}` or as an object keyed by the
 * interval (`{month: {amount_minor, currency}}`), the shape billing's draft answers.
 */
function pricesOf(value: unknown): Price[] {
  if (Array.isArray(value)) {
    return value.filter((p): p is Price => !!p && typeof p === 'object' && typeof (p as Raw).interval === 'string')
  }
  if (value && typeof value === 'object') {
    return Object.entries(value as Raw)
      .filter(([, p]) => !!p && typeof p === 'object')
      .map(([interval, p]) => ({
        interval: interval as Interval,
        amount_minor: num((p as Raw).amount_minor),
        currency: String((p as Raw).currency ?? 'USD'),
      }))
  }
  return []
}

/** One plan from `GET billing/plans`: limits at the top level or under `limits`. */
export function normalizePlan(raw: unknown): Plan {
  const plan = (raw ?? {}) as Raw
  const limits = { ...((plan.limits as Raw | undefined) ?? {}), ...plan }
  return {
    code: plan.code as Plan['code'],
    name: String(plan.name ?? plan.code ?? ''),
    prices: pricesOf(plan.prices),
    monthly_credits: num(limits.monthly_credits),
    max_concurrent_jobs: num(limits.max_concurrent_jobs),
    max_images_per_job: num(limits.max_images_per_job),
    max_width: num(limits.max_width),
    max_height: num(limits.max_height),
    allowed_models: Array.isArray(limits.allowed_models) ? (limits.allowed_models as string[]) : [],
  }
}
