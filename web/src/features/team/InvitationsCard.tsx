import { useGetInvitationsQuery } from './teamApi'
import { Badge, Card, ErrorBanner, Loading } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import { useI18n } from '../../i18n/I18nProvider'

export function InvitationsCard() {
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
