import { useState, type FormEvent } from 'react'
import { useChangeRoleMutation, useGetInvitationsQuery, useGetMembersQuery, useInviteMutation, useRemoveMemberMutation } from '../features/team/teamApi'
import { httpStatus } from '../api/problem'
import { ROLES, hasRole, type Member, type Role } from '../api/types'
import { PageTitle } from '../components/Layouts'
import { Badge, Button, Card, ConfirmDialog, ErrorBanner, Loading, Notice, SelectField, TextField } from '../components/ui'
import { useErrorMessage, useFormErrors } from '../components/useFormErrors'
import { useMe } from '../components/useMe'
import { useI18n } from '../i18n/I18nProvider'

/** The roles a user may hand out: never above their own. */
function assignableRoles(own: Role): Role[] {
  return ROLES.filter((role) => hasRole(own, role))
}

export function TeamPage() {
  const { t } = useI18n()
  const me = useMe()
  const isAdmin = hasRole(me.role, 'admin')
  return (
    <>
      <PageTitle testId="team-title" subtitle={me.tenant.name}>{t('team.title')}</PageTitle>
      <MembersCard canManage={isAdmin} />
      {isAdmin ? (
        <>
          <InviteCard />
          <InvitationsCard />
        </>
      ) : (
        <Notice>{t('team.adminsOnly')}</Notice>
      )}
    </>
  )
}

function MembersCard({ canManage }: { canManage: boolean }) {
  const { t, formatDate } = useI18n()
  const me = useMe()
  const members = useGetMembersQuery()
  const listError = useErrorMessage(members.error)
  const [changeRole, changeState] = useChangeRoleMutation()
  const changeError = useErrorMessage(changeState.error)
  const [removing, setRemoving] = useState<Member | null>(null)
  const roles = assignableRoles(me.role)

  return (
    <Card title={t('team.members')}>
      {members.isLoading && <Loading />}
      {members.error && (
        <ErrorBanner message={httpStatus(members.error) === 403 ? t('error.forbidden') : listError} />
      )}
      <ErrorBanner message={changeError} />
      {members.data && (
        <div className="-mx-5 overflow-x-auto sm:mx-0">
          <table className="min-w-full divide-y divide-slate-200 text-sm">
            <thead>
              <tr className="text-left text-slate-500">
                <th scope="col" className="px-5 py-2 font-medium sm:px-3">{t('field.name')}</th>
                <th scope="col" className="px-3 py-2 font-medium">{t('field.role')}</th>
                <th scope="col" className="hidden px-3 py-2 font-medium md:table-cell">{t('team.joined')}</th>
                {canManage && <th scope="col" className="px-3 py-2"><span className="sr-only">{t('common.actions')}</span></th>}
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {members.data.map((member) => {
                const isSelf = member.user_id === me.user.id
                const editable = canManage && !isSelf && hasRole(me.role, member.role)
                return (
                  <tr key={member.user_id} data-testid="member-row" data-email={member.email}>
                    <td className="px-5 py-3 sm:px-3">
                      <div className="font-medium text-slate-900">
                        {member.name} {isSelf && <Badge>{t('team.you')}</Badge>}
                      </div>
                      <div className="break-all text-slate-500">{member.email}</div>
                    </td>
                    <td className="px-3 py-3">
                      {editable ? (
                        <>
                          <label htmlFor={`role-${member.user_id}`} className="sr-only">
                            {t('team.roleOf', { name: member.name || member.email })}
                          </label>
                          <select
                            id={`role-${member.user_id}`}
                            value={member.role}
                            disabled={changeState.isLoading}
                            onChange={(event) =>
                              changeRole({ user_id: member.user_id, role: event.target.value as Role })
                            }
                            className="rounded-md border border-slate-300 bg-white px-2 py-1 text-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200"
                          >
                            {roles.map((role) => (
                              <option key={role} value={role}>
                                {t(`role.${role}`)}
                              </option>
                            ))}
                          </select>
                        </>
                      ) : (
                        <Badge tone={member.role === 'owner' ? 'indigo' : 'slate'}>{t(`role.${member.role}`)}</Badge>
                      )}
                    </td>
                    <td className="hidden px-3 py-3 text-slate-500 md:table-cell">{formatDate(member.joined_at)}</td>
                    {canManage && (
                      <td className="px-3 py-3 text-right">
                        {editable && (
                          <Button variant="ghost" onClick={() => setRemoving(member)}>
                            {t('team.remove')}
                          </Button>
                        )}
                      </td>
                    )}
                  </tr>
                )
              })}
            </tbody>
          </table>
        </div>
      )}
      {removing && <RemoveMemberDialog member={removing} onClose={() => setRemoving(null)} />}
    </Card>
  )
}

function RemoveMemberDialog({ member, onClose }: { member: Member; onClose: () => void }) {
  const { t } = useI18n()
  const [remove, { isLoading, error }] = useRemoveMemberMutation()
  const message = useErrorMessage(error)
  return (
    <ConfirmDialog
      title={t('team.removeTitle')}
      body={t('team.removeBody', { name: member.name || member.email })}
      confirmLabel={t('team.remove')}
      busy={isLoading}
      error={message}
      onCancel={onClose}
      onConfirm={async () => {
        const result = await remove(member.user_id)
        if (!('error' in result)) onClose()
      }}
    />
  )
}

const INVITE_FIELDS = ['email', 'role'] as const

function InviteCard() {
  const { t } = useI18n()
  const me = useMe()
  const [email, setEmail] = useState('')
  const [role, setRole] = useState<Role>('member')
  const [invite, { isLoading, error, isSuccess, reset }] = useInviteMutation()
  const errors = useFormErrors(error, INVITE_FIELDS)
  const [sentTo, setSentTo] = useState('')

  async function submit(event: FormEvent) {
    event.preventDefault()
    const result = await invite({ email, role })
    if (!('error' in result)) {
      setSentTo(email)
      setEmail('')
    }
  }

  return (
    <Card title={t('team.invite')}>
      <form onSubmit={submit} className="space-y-4" data-testid="invite-form">
        <ErrorBanner message={errors.banner} />
        {isSuccess && sentTo && (
          <div data-testid="invite-sent">
            <Notice tone="success">{t('team.invited', { email: sentTo })}</Notice>
          </div>
        )}
        <div className="grid gap-4 sm:grid-cols-[1fr_12rem_auto] sm:items-start">
          <TextField
            label={t('field.email')}
            name="email"
            type="email"
            required
            autoComplete="off"
            value={email}
            onChange={(event) => {
              setEmail(event.target.value)
              if (isSuccess) reset()
            }}
            error={errors.fields.email}
          />
          <SelectField
            label={t('field.role')}
            name="role"
            value={role}
            onChange={(event) => setRole(event.target.value as Role)}
            error={errors.fields.role}
          >
            {assignableRoles(me.role).map((option) => (
              <option key={option} value={option}>
                {t(`role.${option}`)}
              </option>
            ))}
          </SelectField>
          <Button type="submit" busy={isLoading} className="sm:mt-6">
            {t('team.sendInvite')}
          </Button>
        </div>
      </form>
    </Card>
  )
}

function InvitationsCard() {
  const { t, formatDate } = useI18n()
  const invitations = useGetInvitationsQuery()
  const message = useErrorMessage(invitations.error)
  return (
    <Card title={t('team.pending')}>
      {invitations.isLoading && <Loading />}
      <ErrorBanner message={message} />
      {invitations.data && invitations.data.length === 0 && (
        <p className="text-sm text-slate-500">{t('team.noPending')}</p>
      )}
      {invitations.data && invitations.data.length > 0 && (
        <ul className="divide-y divide-slate-100 text-sm">
          {invitations.data.map((invitation) => (
            <li key={invitation.id ?? invitation.email} data-testid="invitation-row" data-email={invitation.email} className="flex flex-wrap items-center justify-between gap-2 py-3">
              <span className="break-all font-medium text-slate-900">{invitation.email}</span>
              <span className="flex items-center gap-3 text-slate-500">
                <Badge>{t(`role.${invitation.role}`)}</Badge>
                {invitation.expires_at && t('team.expires', { date: formatDate(invitation.expires_at) })}
              </span>
            </li>
          ))}
        </ul>
      )}
    </Card>
  )
}
