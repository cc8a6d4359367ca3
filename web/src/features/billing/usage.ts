import { API_PREFIX } from '../../api/baseQuery'
import type { UsageItem, UsageQuery } from './types'

/** How many days the billing page charts. */
export const USAGE_DAYS = 30

const DAY_MS = 24 * 60 * 60 * 1000

function isoDay(time: number): string {
  return new Date(time).toISOString().slice(0, 10)
}

/** The last `days` UTC days, today included: `{from, to, group_by: 'day'}`. */
export function usageWindow(now: Date = new Date(), days: number = USAGE_DAYS): UsageQuery {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
  return { from: isoDay(today - (days - 1) * DAY_MS), to: isoDay(today), group_by: 'day' }
}

export function usageSearch(query: UsageQuery, format?: 'csv'): string {
  const params = new URLSearchParams({ from: query.from, to: query.to, group_by: query.group_by })
  if (format) params.set('format', format)
  return params.toString()
}

/** The path for RTK Query (relative to /api/v1/). */
export function usagePath(query: UsageQuery): string {
  return `billing/usage?${usageSearch(query)}`
}

/** A same-origin link the browser downloads with the session cookies. */
export function usageCsvHref(query: UsageQuery): string {
  return `${API_PREFIX}billing/usage?${usageSearch(query, 'csv')}`
}

export interface UsageDay {
  /** `YYYY-MM-DD` */
  day: string
  credits: number
  jobs: number
}

/**
 * One entry per day from `from` to `to` (both included), zero where nothing was used;
 * items for the same day are added up and items outside the window are left out.
 */
export function dailySeries(items: readonly UsageItem[], from: string, to: string): UsageDay[] {
  const byDay = new Map<string, UsageDay>()
  const start = Date.parse(`${from}T00:00:00Z`)
  const end = Date.parse(`${to}T00:00:00Z`)
  if (Number.isNaN(start) || Number.isNaN(end)) return []
  for (let time = start; time <= end; time += DAY_MS) {
    const day = isoDay(time)
    byDay.set(day, { day, credits: 0, jobs: 0 })
  }
  for (const item of items) {
    const entry = byDay.get(String(item.key).slice(0, 10))
    if (!entry) continue
    entry.credits += Number(item.credits) || 0
    entry.jobs += Number(item.jobs) || 0
  }
  return [...byDay.values()]
}
