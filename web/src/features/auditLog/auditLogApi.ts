/** The tenant's audit log, a page per cursor, filtered on the server. */
import { api } from '../../api/api'
import type { AuditPage } from './types'

/** Who, which action (one or a family such as `invitation`), and a time range (ISO instants). */
export interface AuditFilter {
  actor_id: string
  action: string
  from: string | null
  to: string | null
}

export function auditLogPath(filter: AuditFilter, cursor: string | null): string {
  const params = new URLSearchParams()
  if (cursor) params.set('cursor', cursor)
  if (filter.actor_id) params.set('actor_id', filter.actor_id)
  if (filter.action) params.set('action', filter.action)
  if (filter.from) params.set('from', filter.from)
  if (filter.to) params.set('to', filter.to)
  const query = params.toString()
  return query ? `audit-log?${query}` : 'audit-log'
}

export const auditLogApi = api.injectEndpoints({
  endpoints: (build) => ({
    getAuditLog: build.query<AuditPage, { filter: AuditFilter; cursor: string | null }>({
      query: ({ filter, cursor }) => auditLogPath(filter, cursor),
      providesTags: ['AuditLog'],
    }),
  }),
})

export const { useGetAuditLogQuery } = auditLogApi
