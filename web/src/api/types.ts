export type Role = 'owner' | 'admin' | 'member'
export const ROLES: readonly Role[] = ['owner', 'admin', 'member']

const RANK: Record<Role, number> = { member: 0, admin: 1, owner: 2 }

/** owner > admin > member: a higher role can do everything a lower one can. */
export function hasRole(role: Role | undefined, atLeast: Role): boolean {
  return role !== undefined && RANK[role] >= RANK[atLeast]
}

export interface User {
  id: string
  email: string
  name: string
  locale: string
  email_verified: boolean
}

export interface TenantRef {
  id: string
  name: string
}

export interface Membership {
  tenant_id: string
  tenant_name: string
  role: Role
}

export interface Me {
  user: User
  memberships: Membership[]
  tenant: TenantRef
  role: Role
  /** Platform-wide roles, beside the tenant role: `operator` sees every tenant. */
  platform_roles?: string[]
}

export function isOperator(me: Me | undefined): boolean {
  return Array.isArray(me?.platform_roles) && me.platform_roles.includes('operator')
}

/** What auth calls answer once the gateway has moved the tokens into cookies. */
export interface SessionResponse {
  user?: User
  tenant?: TenantRef
  role?: Role
}

export interface SignUpRequest {
  email: string
  password: string
  name: string
  team_name: string
  locale: string
}

/**
 * What `POST auth/signup` answers (202), for a new and an already registered address alike,
 * so that sign-up does not tell who has an account. It carries no tokens: no session starts.
 */
export interface SignUpAccepted {
  status: 'verification_sent'
  detail?: string
}

export interface Member {
  user_id: string
  email: string
  name: string
  role: Role
  joined_at: string
}

export interface Invitation {
  id?: string
  email: string
  role: Role
  created_at?: string
  expires_at?: string
}

export interface InvitationInfo {
  tenant_name: string
  role: Role
  email: string
  expired: boolean
}

export const SCOPES = [
  'generations:read',
  'generations:write',
  'images:read',
  'images:write',
  'search:read',
] as const
export type Scope = (typeof SCOPES)[number]

export interface ApiKey {
  id: string
  name: string
  prefix: string
  scopes: Scope[]
  created_at: string
  last_used_at: string | null
  revoked_at: string | null
}

export interface CreatedApiKey extends ApiKey {
  /** The whole key; the API shows it this once. */
  key: string
}

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
