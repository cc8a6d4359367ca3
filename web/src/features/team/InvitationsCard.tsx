import { useState } from 'react'
import { useGetInvitationsQuery, useResendInvitationMutation, useRevokeInvitationMutation } from './teamApi'
import { type Invitation } from './types'
import { Badge, Button, Card, ConfirmDialog, ErrorBanner, Loading, Notice } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import { useI18n } from '../../i18n/I18nProvider'

/** Open invitations, each with a new link by mail (resend) or its link ended (revoke). */
export function InvitationsCard() {
  const { t, formatDate } = useI18n()
  const invitations = useGetInvitationsQuery()
  const message = useErrorMessage(invitations.error)
  const [resend, resendState] = useResendInvitationMutation()
  const resendError = useErrorMessage(resendState.error)
  const [resentTo, setResentTo] = useState('')
  const [revoking, setRevoking] = useState<Invitation | null>(null)
  return (
    <Card title={t('team.pending')}>
      {invitations.isLoading && <Loading />}
      <ErrorBanner message={message} />
      <ErrorBanner message={resendError} />
      {resentTo && resendState.isSuccess && (
        <div data-testid="invitation-resent">
          <Notice tone="success">{t('team.invitationResent', { email: resentTo })}</Notice>
        </div>
      )}
      {invitations.data && invitations.data.length === 0 && (
        <p className="text-sm text-slate-500">{t('team.noPending')}</p>
      )}
      {invitations.data && invitations.data.length > 0 && (
        <ul className="divide-y divide-slate-100 text-sm">
          {invitations.data.map((invitation) => (
            <li key={invitation.id ?? invitation.email} data-testid="invitation-row" data-email={invitation.email} className="flex flex-wrap items-center justify-between gap-2 py-3">
              <span className="min-w-0 break-all font-medium text-slate-900">{invitation.email}</span>
              <span className="flex flex-wrap items-center gap-3 text-slate-500">
                <Badge>{t(`role.${invitation.role}`)}</Badge>
                {invitation.expired ? (
                  <Badge tone="red">{t('team.invitationExpired')}</Badge>
                ) : (
                  invitation.expires_at && t('team.expires', { date: formatDate(invitation.expires_at) })
                )}
                {invitation.id && (
                  <>
                    <Button
                      variant="secondary"
                      data-testid="invitation-resend"
                      busy={resendState.isLoading && resendState.originalArgs === invitation.id}
                      onClick={async () => {
                        const result = await resend(invitation.id!)
                        if (!('error' in result)) setResentTo(invitation.email)
                      }}
                    >
                      {t('team.resendInvitation')}
                    </Button>
                    <Button variant="ghost" data-testid="invitation-revoke" onClick={() => setRevoking(invitation)}>
                      {t('team.revokeInvitation')}
                    </Button>
                  </>
                )}
              </span>
            </li>
          ))}
        </ul>
      )}
      {revoking && <RevokeInvitationDialog invitation={revoking} onClose={() => setRevoking(null)} />}
    </Card>
  )
}

function RevokeInvitationDialog({ invitation, onClose }: { invitation: Invitation; onClose: () => void }) {
  const { t } = useI18n()
  const [revoke, { isLoading, error }] = useRevokeInvitationMutation()
  const message = useErrorMessage(error)
  return (
    <ConfirmDialog
      title={t('team.revokeTitle')}
      body={t('team.revokeBody', { email: invitation.email })}
      confirmLabel={t('team.revokeInvitation')}
      busy={isLoading}
      error={message}
      onCancel={onClose}
      onConfirm={async () => {
        const result = await revoke(invitation.id!)
        if (!('error' in result)) onClose()
      }}
    />
  )
}
