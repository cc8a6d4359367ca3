/** The team's members and invitations, generated from docs/api/openapi.json (the document
 * types roles as strings; these are the values tenants answers). */
import type { components } from '../../api/schema'
import type { Role } from '../session/types'

type S = components['schemas']

export type Member = Omit<S['MemberOut'], 'role'> & { role: Role }
export type Invitation = Omit<S['InvitationOut'], 'role'> & { role: Role }
export type InvitationInfo = Omit<S['InvitationPreview'], 'role'> & { role: Role }
/** Whether a member may delete another member's images (`own`: only their own). */
export type TeamSettings = S['TeamSettings']
