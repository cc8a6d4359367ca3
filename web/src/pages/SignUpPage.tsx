import { useState, type FormEvent } from 'react'
import { Link } from 'react-router-dom'
import { useSignUpMutation } from '../features/session/sessionApi'
import { PublicLayout } from '../components/Layouts'
import { Button, ErrorBanner, Notice, TextField } from '../components/ui'
import { useFormErrors } from '../components/useFormErrors'
import { useI18n } from '../i18n/I18nProvider'
import { NewPasswordField } from '../features/session/NewPasswordField'
import { usePasswordCheck, usePasswordVars } from '../features/session/usePassword'

const FIELDS = ['email', 'password', 'name', 'team_name'] as const

export function SignUpPage() {
  const { t, locale } = useI18n()
  const [form, setForm] = useState({ email: '', password: '', name: '', team_name: '' })
  const [signUp, { isLoading, error, isSuccess }] = useSignUpMutation()
  const errors = useFormErrors(error, FIELDS, usePasswordVars())
  const checkPassword = usePasswordCheck()
  const [passwordError, setPasswordError] = useState<string | null>(null)

  const set = (key: keyof typeof form) => (event: { target: { value: string } }) =>
    setForm((current) => ({ ...current, [key]: event.target.value }))

  async function submit(event: FormEvent) {
    event.preventDefault()
    const problem = checkPassword(form.password, { email: form.email, name: form.name })
    setPasswordError(problem)
    if (problem) return
    const result = await signUp({ ...form, locale })
    // Nothing needs the password any more; do not keep it in memory.
    if (!('error' in result)) setForm((current) => ({ ...current, password: '' }))
  }

  // 202 {status: "verification_sent"}: the same answer for a new and a registered address,
  // and no session. The person confirms the address from the mail, then logs in.
  if (isSuccess) {
    return (
      <PublicLayout title={t('signup.doneTitle')}>
        <div className="space-y-4" data-testid="signup-done">
          <Notice tone="success">{t('signup.done', { email: form.email })}</Notice>
          <p className="text-sm text-slate-600">{t('signup.noMail')}</p>
          <div className="flex flex-wrap items-center gap-x-6 gap-y-2">
            <Link
              to="/login"
              data-testid="signup-login-link"
              className="inline-block font-semibold text-indigo-600 hover:text-indigo-500"
            >
              {t('signup.goToLogin')}
            </Link>
            <Link to="/forgot-password" className="inline-block text-sm font-medium text-indigo-600 hover:text-indigo-500">
              {t('login.forgot')}
            </Link>
          </div>
        </div>
      </PublicLayout>
    )
  }

  return (
    <PublicLayout title={t('signup.title')}>
      <form onSubmit={submit} className="space-y-4" data-testid="signup-form">
        <ErrorBanner message={errors.banner} />
        <TextField
          label={t('field.name')}
          name="name"
          autoComplete="name"
          required
          value={form.name}
          onChange={set('name')}
          error={errors.fields.name}
        />
        <TextField
          label={t('field.email')}
          name="email"
          type="email"
          autoComplete="email"
          required
          value={form.email}
          onChange={set('email')}
          error={errors.fields.email}
        />
        <NewPasswordField
          label={t('field.password')}
          value={form.password}
          onChange={(password) => setForm((current) => ({ ...current, password }))}
          error={passwordError ?? errors.fields.password}
        />
        <TextField
          label={t('field.teamName')}
          name="team_name"
          autoComplete="organization"
          required
          value={form.team_name}
          onChange={set('team_name')}
          error={errors.fields.team_name}
        />
        <Button type="submit" busy={isLoading} className="w-full">
          {t('signup.submit')}
        </Button>
        <p className="text-center text-sm text-slate-600">
          {t('signup.haveAccount')}{' '}
          <Link to="/login" className="font-semibold text-indigo-600 hover:text-indigo-500">
            {t('login.title')}
          </Link>
        </p>
      </form>
    </PublicLayout>
  )
}
