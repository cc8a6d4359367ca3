/**
 * The one RTK Query slice, with no endpoints of its own: each feature adds its calls with
 * `api.injectEndpoints` in `src/features/<name>/<name>Api.ts`, next to the components that use
 * them. The tags are shared, so that a change in one feature (a role, a tenant switch, a new
 * image) refetches what it affects in another.
 */
import { createApi } from '@reduxjs/toolkit/query/react'
import { baseQuery } from './baseQuery'

export const TAGS = [
  'Me',
  'Members',
  'Invitations',
  'ApiKeys',
  'AuditLog',
  'Models',
  'Entitlements',
  'Generations',
  'Images',
  'Plans',
  'Billing',
  'NotificationPreferences',
  'Search',
  'AdminTenants',
  'TeamSettings',
] as const

export const api = createApi({
  reducerPath: 'api',
  baseQuery,
  tagTypes: TAGS,
  endpoints: () => ({}),
})

/** Lists may come bare or wrapped in `{items}`; accept both. */
export function listOf<T>(response: unknown): T[] {
  if (Array.isArray(response)) return response as T[]
  const items = (response as { items?: unknown } | null)?.items
  return Array.isArray(items) ? (items as T[]) : []
}
