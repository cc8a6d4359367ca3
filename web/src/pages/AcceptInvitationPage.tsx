import { useState, type FormEvent } from 'react'
import { Link, useNavigate, useParams } from 'react-router-dom'
import { useGetMeQuery } from '../features/session/sessionApi'
import { useAcceptInvitationMutation, useGetInvitationQuery } from '../features/team/teamApi'
import { PublicLayout } from '../components/Layouts'
import { Button, ErrorBanner, Loading, Notice, TextField } from '../components/ui'
import { useErrorMessage, useFormErrors } from '../components/useFormErrors'
import { useI18n } from '../i18n/I18nProvider'
import { NewPasswordField } from '../features/session/NewPasswordField'
import { usePasswordCheck, usePasswordVars } from '../features/session/usePassword'

const FIELDS = ['name', 'password'] as const

export function AcceptInvitationPage() {
  const { t } = useI18n()
  const { token = '' } = useParams()
  const navigate = useNavigate()
  const invitation = useGetInvitationQuery(token, { skip: !token })
  const me = useGetMeQuery()
  const [accept, { isLoading, error }] = useAcceptInvitationMutation()
  const errors = useFormErrors(error, FIELDS, usePasswordVars())
  const checkPassword = usePasswordCheck()
  const [passwordError, setPasswordError] = useState<string | null>(null)
  const lookupError = useErrorMessage(invitation.error)
  const [name, setName] = useState('')
  const [password, setPassword] = useState('')

  async function submit(event: FormEvent) {
    event.preventDefault()
    if (!me.data) {
      const problem = checkPassword(password, { email: invitation.data?.email, name })
      setPasswordError(problem)
      if (problem) return
    }
    const body = me.data ? { token } : { token, name, password }
    const result = await accept(body)
    if (!('error' in result)) navigate('/', { replace: true })
  }

  if (invitation.isLoading || me.isLoading) {
    return (
      <PublicLayout title={t('invite.title')}>
        <Loading />
      </PublicLayout>
    )
  }
  if (!invitation.data) {
    return (
      <PublicLayout title={t('invite.title')}>
        <ErrorBanner message={lookupError ?? t('invite.notFound')} />
      </PublicLayout>
    )
  }

  const info = invitation.data
  const next = encodeURIComponent(`/invitations/${token}`)
  return (
    <PublicLayout title={t('invite.title')}>
      <div className="space-y-4">
        <p className="text-slate-700">
          {t('invite.summary', { team: info.tenant_name, role: t(`role.${info.role}`) })}
        </p>
        {info.expired ? (
          <ErrorBanner message={t('invite.expired')} />
        ) : (
          <form onSubmit={submit} className="space-y-4" data-testid="accept-invitation-form">
            <ErrorBanner message={errors.banner} />
            {me.data ? (
              <>
                <Notice>{t('invite.asUser', { email: me.data.user.email })}</Notice>
                {me.data.user.email.toLowerCase() !== info.email.toLowerCase() && (
                  <Notice tone="warning">{t('invite.otherEmail', { email: info.email })}</Notice>
                )}
              </>
            ) : (
              <>
                <TextField label={t('field.email')} name="email" type="email" value={info.email} readOnly />
                <TextField
                  label={t('field.name')}
                  name="name"
                  autoComplete="name"
                  required
                  value={name}
                  onChange={(event) => setName(event.target.value)}
                  error={errors.fields.name}
                />
                <NewPasswordField
                  label={t('field.password')}
                  value={password}
                  onChange={setPassword}
                  error={passwordError ?? errors.fields.password}
                />
              </>
            )}
            <Button type="submit" busy={isLoading} className="w-full">
              {t('invite.accept')}
            </Button>
            {!me.data && (
              <p className="text-center text-sm text-slate-600">
                {t('invite.haveAccount')}{' '}
                <Link to={`/login?next=${next}`} className="font-semibold text-indigo-600 hover:text-indigo-500">
                  {t('login.title')}
                </Link>
              </p>
            )}
          </form>
        )}
      </div>
    </PublicLayout>
  )
}
