/** The team's members and invitations. */
import type { Role } from '../session/types'

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
