import { useState } from 'react'
import { useChangeRoleMutation, useGetMembersQuery, useRemoveMemberMutation } from './teamApi'
import { httpStatus } from '../../api/problem'
import { hasRole, type Role } from '../session/types'
import { assignableRoles } from './roles'
import { type Member } from './types'
import { Badge, Button, Card, ConfirmDialog, ErrorBanner, Loading } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import { useMe } from '../../components/useMe'
import { useI18n } from '../../i18n/I18nProvider'

export function MembersCard({ canManage }: { canManage: boolean }) {
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
        // fixed columns: on a phone the name column takes what is left and long addresses wrap,
        // instead of the table widening the page
        <div className="-mx-5 sm:mx-0">
          <table className="w-full table-fixed divide-y divide-slate-200 text-sm" data-testid="member-table">
            <thead>
              <tr className="text-left text-slate-500">
                <th scope="col" className="px-5 py-2 font-medium sm:px-3">{t('field.name')}</th>
                <th scope="col" className="w-28 px-2 py-2 font-medium sm:w-36 sm:px-3">{t('field.role')}</th>
                <th scope="col" className="hidden w-32 px-3 py-2 font-medium md:table-cell">{t('team.joined')}</th>
                {canManage && <th scope="col" className="w-24 px-1 py-2 sm:w-28 sm:px-3"><span className="sr-only">{t('common.actions')}</span></th>}
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {members.data.map((member) => {
                const isSelf = member.user_id === me.user.id
                const editable = canManage && !isSelf && hasRole(me.role, member.role)
                return (
                  <tr key={member.user_id} data-testid="member-row" data-email={member.email}>
                    <td className="px-5 py-3 sm:px-3">
                      <div className="break-words font-medium text-slate-900">
                        {member.name} {isSelf && <Badge>{t('team.you')}</Badge>}
                      </div>
                      <div className="break-all text-slate-500">{member.email}</div>
                    </td>
                    <td className="px-2 py-3 sm:px-3">
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
                            className="w-full max-w-full rounded-md border border-slate-300 bg-white px-2 py-1 text-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200"
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
                      <td className="px-1 py-3 text-right sm:px-3">
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
