/** The tenant's audit log: the public API's shapes, generated from docs/api/openapi.json. */
import type { components } from '../../api/schema'

type S = components['schemas']

export type AuditEntry = S['AuditEntry']
export type AuditPage = S['AuditPage']
