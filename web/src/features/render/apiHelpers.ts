import type { FetchBaseQueryError, FetchBaseQueryMeta } from '@reduxjs/toolkit/query'
import type { ApiError } from '../../api/problem'
import type { ImageFilter } from './types'

/** A `YYYY-MM-DD` day in the browser's time zone, as the UTC instant it starts. */
export function startOfDay(day: string): string | null {
  const date = new Date(`${day}T00:00:00`)
  return Number.isNaN(date.getTime()) ? null : date.toISOString()
}

/** The instant after the last moment of a day (so `to` takes in the whole day). */
export function endOfDay(day: string): string | null {
  const date = new Date(`${day}T00:00:00`)
  if (Number.isNaN(date.getTime())) return null
  date.setDate(date.getDate() + 1)
  return date.toISOString()
}

export const IMAGES_PAGE_SIZE = 24

/** `images?cursor=&limit=&model=&from=&to=`, leaving out what is empty. */
export function imagesPath(filter: ImageFilter, cursor: string): string {
  const params = new URLSearchParams()
  if (cursor) params.set('cursor', cursor)
  params.set('limit', String(IMAGES_PAGE_SIZE))
  if (filter.model) params.set('model', filter.model)
  const from = filter.from ? startOfDay(filter.from) : null
  const to = filter.to ? endOfDay(filter.to) : null
  if (from) params.set('from', from)
  if (to) params.set('to', to)
  return `images?${params.toString()}`
}

/** Seconds from a `Retry-After` header: a number of seconds or an HTTP date. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | null {
  if (!value) return null
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed)
  const date = Date.parse(trimmed)
  if (Number.isNaN(date)) return null
  return Math.max(0, Math.ceil((date - now) / 1000))
}

type WithRetryAfter = FetchBaseQueryError & { retryAfter?: number | null }

/** RTK Query keeps no response headers on errors; copy `Retry-After` onto the error. */
export function withRetryAfter(error: FetchBaseQueryError, meta: unknown): FetchBaseQueryError {
  const response = (meta as FetchBaseQueryMeta | undefined)?.response
  const retryAfter = parseRetryAfter(response?.headers.get('Retry-After'))
  return retryAfter === null ? error : ({ ...error, retryAfter } as WithRetryAfter)
}

export function retryAfterOf(error: ApiError): number | null {
  const value = (error as WithRetryAfter | undefined)?.retryAfter
  return typeof value === 'number' ? value : null
}
