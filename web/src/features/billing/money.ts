import type { Interval, Plan, Price } from './types'

/** `amount_minor` in the currency's minor unit, as the locale writes money. */
export function formatMoney(amountMinor: number, currency: string, locale: string): string {
  const tag = locale === 'ko' ? 'ko-KR' : 'en-US'
  let format: Intl.NumberFormat
  try {
    format = new Intl.NumberFormat(tag, { style: 'currency', currency })
  } catch {
    // An unknown currency code: plain number and the code.
    return `${(amountMinor / 100).toFixed(2)} ${currency}`
  }
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2
  return format.format(amountMinor / 10 ** digits)
}

export function priceFor(plan: Plan, interval: Interval): Price | undefined {
  return plan.prices.find((price) => price.interval === interval)
}

/** A plan is free when it has no price at all or only zero prices. */
export function isFreePlan(plan: Plan): boolean {
  return plan.code === 'free' || plan.prices.every((price) => price.amount_minor === 0)
}
