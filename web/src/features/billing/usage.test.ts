import { describe, expect, it } from 'vitest'
import { formatMoney } from './money'
import { dailySeries, usageCsvHref, usagePath, usageWindow } from './usage'

describe('billing usage helpers', () => {
  it('asks for the last 30 UTC days, today included', () => {
    const range = usageWindow(new Date('2025-03-30T23:30:00Z'))
    expect(range).toEqual({ from: '2025-03-01', to: '2025-03-30', group_by: 'day' })
    expect(usagePath(range)).toBe('billing/usage?from=2025-03-01&to=2025-03-30&group_by=day')
    expect(usageCsvHref(range)).toBe('/api/v1/billing/usage?from=2025-03-01&to=2025-03-30&group_by=day&format=csv')
    // Across a month end and a leap day.
    expect(usageWindow(new Date('2024-03-10T00:00:00Z'))).toMatchObject({ from: '2024-02-10', to: '2024-03-10' })
  })

  it('fills every day, adds up a day given twice and leaves out days outside the window', () => {
    const days = dailySeries(
      [
        { key: '2025-03-02', credits: 5, jobs: 1 },
        { key: '2025-03-02T00:00:00Z', credits: 7, jobs: 2 },
        { key: '2025-03-04', credits: 3, jobs: 1 },
        { key: '2025-02-28', credits: 99, jobs: 9 },
      ],
      '2025-03-01',
      '2025-03-04',
    )
    expect(days).toEqual([
      { day: '2025-03-01', credits: 0, jobs: 0 },
      { day: '2025-03-02', credits: 12, jobs: 3 },
      { day: '2025-03-03', credits: 0, jobs: 0 },
      { day: '2025-03-04', credits: 3, jobs: 1 },
    ])
  })

  it('formats minor units per currency', () => {
    expect(formatMoney(2900, 'USD', 'en')).toBe('$29.00')
    expect(formatMoney(29000, 'KRW', 'ko')).toBe('₩29,000')
  })
})

describe('plan shapes', () => {
  it('reads prices as a list or keyed by interval, limits at the top or under `limits`', async () => {
    const { normalizePlan } = await import('./normalize')
    const listed = normalizePlan({
      code: 'pro',
      name: 'Pro',
      prices: [{ interval: 'month', amount_minor: 2900, currency: 'USD' }],
      monthly_credits: 2000,
      max_concurrent_jobs: 4,
      max_images_per_job: 8,
      max_width: 2048,
      max_height: 2048,
      allowed_models: ['sd-1.5'],
    })
    const keyed = normalizePlan({
      code: 'pro',
      name: 'Pro',
      monthly_credits: 2000,
      rollover: false,
      prices: { month: { amount_minor: 2900, currency: 'USD', variant_id: '1' } },
      limits: { max_concurrent_jobs: 4, max_images_per_job: 8, max_width: 2048, max_height: 2048, allowed_models: ['sd-1.5'], priority_weight: 4 },
    })
    expect(keyed).toEqual(listed)
    expect(normalizePlan({ code: 'free', name: 'Free', prices: {}, monthly_credits: 50, limits: {} }).prices).toEqual([])
  })
})
