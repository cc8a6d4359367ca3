import { ROLES, hasRole, type Role } from '../session/types'

/** The roles a user may hand out: never above their own. */
export function assignableRoles(own: Role): Role[] {
  return ROLES.filter((role) => hasRole(own, role))
}
