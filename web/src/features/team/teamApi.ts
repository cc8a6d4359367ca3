/** The team: members and their roles, invitations, and deleting the team. */
import { api, listOf, TAGS } from '../../api/api'
import type { Role, SessionResponse } from '../session/types'
import type { Invitation, InvitationInfo, Member, TeamSettings } from './types'

export const teamApi = api.injectEndpoints({
  endpoints: (build) => ({
    getMembers: build.query<Member[], void>({
      query: () => 'members',
      transformResponse: listOf<Member>,
      providesTags: ['Members'],
    }),
    changeRole: build.mutation<unknown, { user_id: string; role: Role }>({
      query: ({ user_id, role }) => ({
        url: `members/${encodeURIComponent(user_id)}`,
        method: 'PATCH',
        body: { role },
      }),
      invalidatesTags: ['Members', 'Me', 'AuditLog'],
    }),
    removeMember: build.mutation<unknown, string>({
      query: (userId) => ({ url: `members/${encodeURIComponent(userId)}`, method: 'DELETE' }),
      invalidatesTags: ['Members', 'AuditLog'],
    }),
    getInvitations: build.query<Invitation[], void>({
      query: () => 'invitations',
      transformResponse: listOf<Invitation>,
      providesTags: ['Invitations'],
    }),
    invite: build.mutation<Invitation, { email: string; role: Role }>({
      query: (body) => ({ url: 'invitations', method: 'POST', body }),
      invalidatesTags: ['Invitations', 'AuditLog'],
    }),
    resendInvitation: build.mutation<Invitation, string>({
      query: (id) => ({ url: `invitations/${encodeURIComponent(id)}/resend`, method: 'POST' }),
      invalidatesTags: ['Invitations', 'AuditLog'],
    }),
    revokeInvitation: build.mutation<unknown, string>({
      query: (id) => ({ url: `invitations/${encodeURIComponent(id)}`, method: 'DELETE' }),
      invalidatesTags: ['Invitations', 'AuditLog'],
    }),
    getInvitation: build.query<InvitationInfo, string>({
      query: (token) => `invitations/${encodeURIComponent(token)}`,
    }),
    acceptInvitation: build.mutation<SessionResponse, { token: string; name?: string; password?: string }>({
      query: ({ token, ...body }) => ({
        url: `invitations/${encodeURIComponent(token)}/accept`,
        method: 'POST',
        body,
      }),
      invalidatesTags: [...TAGS],
    }),
    getTeamSettings: build.query<TeamSettings, void>({
      query: () => 'tenant/settings',
      providesTags: ['TeamSettings'],
    }),
    changeTeamSettings: build.mutation<TeamSettings, TeamSettings>({
      query: (body) => ({ url: 'tenant/settings', method: 'PATCH', body }),
      invalidatesTags: ['TeamSettings', 'AuditLog'],
    }),
    deleteTenant: build.mutation<unknown, { confirm: string }>({
      query: (body) => ({ url: 'tenant', method: 'DELETE', body }),
    }),
  }),
})

export const {
  useGetMembersQuery,
  useChangeRoleMutation,
  useRemoveMemberMutation,
  useGetInvitationsQuery,
  useInviteMutation,
  useResendInvitationMutation,
  useRevokeInvitationMutation,
  useGetInvitationQuery,
  useAcceptInvitationMutation,
  useDeleteTenantMutation,
  useGetTeamSettingsQuery,
  useChangeTeamSettingsMutation,
} = teamApi
