import { ChangePasswordForm } from '../features/session/ChangePasswordForm'
import { ResendVerificationButton } from '../features/session/ResendVerification'
import { useState } from 'react'
import { useDispatch } from 'react-redux'
import { Link, useNavigate } from 'react-router-dom'
import { api } from '../api/api'
import { useLogOutMutation } from '../features/session/sessionApi'
import { hasRole } from '../features/session/types'
import { LanguagePicker } from '../components/LanguagePicker'
import { PageTitle } from '../components/Layouts'
import { Badge, Button, Card, ErrorBanner } from '../components/ui'
import { useErrorMessage } from '../components/useFormErrors'
import { useMe } from '../components/useMe'
import { useI18n } from '../i18n/I18nProvider'
import { DeleteTeamDialog } from '../features/team/DeleteTeamDialog'
import { MailLanguageCard } from '../features/account/MailLanguageCard'

export function AccountPage() {
  const { t } = useI18n()
  const me = useMe()
  const dispatch = useDispatch()
  const navigate = useNavigate()
  const [logOut, logOutState] = useLogOutMutation()
  const logOutError = useErrorMessage(logOutState.error)
  const [deleting, setDeleting] = useState(false)

  async function handleLogOut() {
    const result = await logOut()
    if (!('error' in result)) {
      navigate('/login', { replace: true })
      dispatch(api.util.resetApiState())
    }
  }

  return (
    <>
      <PageTitle>{t('account.title')}</PageTitle>
      <Card title={t('account.profile')}>
        <dl className="grid gap-4 text-sm sm:grid-cols-2">
          <div>
            <dt className="text-slate-500">{t('field.name')}</dt>
            <dd className="mt-1 font-medium text-slate-900">{me.user.name}</dd>
          </div>
          <div>
            <dt className="text-slate-500">{t('field.email')}</dt>
            <dd className="mt-1 flex flex-wrap items-center gap-2 font-medium text-slate-900">
              <span className="break-all">{me.user.email}</span>
              {me.user.email_verified ? (
                <Badge tone="green">{t('account.verified')}</Badge>
              ) : (
                <Badge tone="red">{t('account.unverified')}</Badge>
              )}
              {!me.user.email_verified && <ResendVerificationButton />}
            </dd>
          </div>
          <div>
            <dt className="text-slate-500">{t('account.currentTeam')}</dt>
            <dd className="mt-1 font-medium text-slate-900">
              {me.tenant.name} <Badge tone="indigo">{t(`role.${me.role}`)}</Badge>
            </dd>
          </div>
          <div>
            <dt className="text-slate-500">{t('account.teams')}</dt>
            <dd className="mt-1 text-slate-900">
              <ul className="space-y-1">
                {me.memberships.map((membership) => (
                  <li key={membership.tenant_id}>
                    {membership.tenant_name} · {t(`role.${membership.role}`)}
                  </li>
                ))}
              </ul>
            </dd>
          </div>
        </dl>
      </Card>
      <Card title={t('account.password')}>
        <ChangePasswordForm email={me.user.email} name={me.user.name} />
      </Card>
      <Card title={t('account.notifications')}>
        <p className="mb-3 text-sm text-slate-600">{t('account.notificationsHelp')}</p>
        <Link
          to="/settings/notifications"
          className="font-semibold text-indigo-600 hover:text-indigo-500"
          data-testid="account-notifications-link"
        >
          {t('account.notificationsLink')}
        </Link>
      </Card>
      <Card title={t('language.label')}>
        <p className="mb-3 text-sm text-slate-600">{t('account.languageHelp')}</p>
        <LanguagePicker />
      </Card>
      <MailLanguageCard saved={me.user.locale} />
      <Card title={t('account.session')}>
        <div className="space-y-3">
          <ErrorBanner message={logOutError} />
          <Button variant="secondary" busy={logOutState.isLoading} onClick={handleLogOut}>
            {t('account.logOut')}
          </Button>
        </div>
      </Card>
      {hasRole(me.role, 'owner') && (
        <Card title={t('account.dangerZone')}>
          <p className="mb-3 text-sm text-slate-600">{t('account.deleteTeamHelp', { team: me.tenant.name })}</p>
          <Button variant="danger" onClick={() => setDeleting(true)}>
            {t('account.deleteTeam')}
          </Button>
        </Card>
      )}
      {deleting && <DeleteTeamDialog teamName={me.tenant.name} onClose={() => setDeleting(false)} />}
    </>
  )
}
