/** The identity API's shapes for sessions (docs/identity.md): the user, their teams and roles. */

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
