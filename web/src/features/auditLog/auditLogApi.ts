/** The tenant's audit log, a page per cursor. */
import { api } from '../../api/api'
import type { AuditPage } from './types'

export const auditLogApi = api.injectEndpoints({
  endpoints: (build) => ({
    getAuditLog: build.query<AuditPage, string | null>({
      query: (cursor) => (cursor ? `audit-log?cursor=${encodeURIComponent(cursor)}` : 'audit-log'),
      providesTags: ['AuditLog'],
    }),
  }),
})

export const { useGetAuditLogQuery } = auditLogApi
