/** The identity API's shapes for sessions (docs/identity.md): the user, their teams and roles,
 * generated from docs/api/openapi.json. */
import type { components } from '../../api/schema'

type S = components['schemas']

export type Role = 'owner' | 'admin' | 'member'
export const ROLES: readonly Role[] = ['owner', 'admin', 'member']

const RANK: Record<Role, number> = { member: 0, admin: 1, owner: 2 }

/** owner > admin > member: a higher role can do everything a lower one can. */
export function hasRole(role: Role | undefined, atLeast: Role): boolean {
  return role !== undefined && RANK[role] >= RANK[atLeast]
}

export type User = S['UserOut']
export type TenantRef = S['tenants_TenantOut']

/** The document types roles as strings; these are the values tenants answers. */
export type Membership = Omit<S['MembershipOut'], 'role'> & { role: Role }

/** `tenant` and `role` are null for a person who acts in no team (e.g. after leaving it). */
export type Me = Omit<S['MeOut'], 'memberships' | 'role'> & {
  memberships: Membership[]
  role: Role | null
}

/** `Me` acting in a team: what every signed-in page works with (AppLayout checks it). */
export type TeamMe = Me & { tenant: TenantRef; role: Role }

export function inTeam(me: Me): me is TeamMe {
  return me.tenant !== null && me.role !== null
}

export function isOperator(me: Me | undefined): boolean {
  return Array.isArray(me?.platform_roles) && me.platform_roles.includes('operator')
}

/** What auth calls answer once the gateway has moved the tokens into cookies (the gateway's
 * own answer, not in the services' document). */
export interface SessionResponse {
  user?: User
  tenant?: TenantRef
  role?: Role
}

export type SignUpRequest = S['SignupIn']

/**
 * What `POST auth/signup` answers (202), for a new and an already registered address alike,
 * so that sign-up does not tell who has an account. It carries no tokens: no session starts.
 */
export type SignUpAccepted = S['SignupAccepted']
