/** The tenant's audit log. */
export interface AuditEntry {
  id: string
  action: string
  actor: unknown
  ip: string | null
  created_at: string
  details: unknown
}

export interface AuditPage {
  items: AuditEntry[]
  next_cursor: string | null
}
