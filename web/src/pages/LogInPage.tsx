import { useState, type FormEvent } from 'react'
import { Link, useNavigate, useSearchParams } from 'react-router-dom'
import { useLogInMutation } from '../features/session/sessionApi'
import { PublicLayout } from '../components/Layouts'
import { Button, ErrorBanner, TextField } from '../components/ui'
import { useFormErrors } from '../components/useFormErrors'
import { useI18n } from '../i18n/I18nProvider'
import { safeNext } from './safeNext'

const FIELDS = ['email', 'password'] as const

export function LogInPage() {
  const { t } = useI18n()
  const navigate = useNavigate()
  const [params] = useSearchParams()
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [logIn, { isLoading, error }] = useLogInMutation()
  const errors = useFormErrors(error, FIELDS)

  async function submit(event: FormEvent) {
    event.preventDefault()
    const result = await logIn({ email, password })
    if (!('error' in result)) navigate(safeNext(params.get('next')), { replace: true })
  }

  return (
    <PublicLayout title={t('login.title')}>
      <form onSubmit={submit} className="space-y-4" data-testid="login-form">
        <ErrorBanner message={errors.banner} />
        <TextField
          label={t('field.email')}
          name="email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(event) => setEmail(event.target.value)}
          error={errors.fields.email}
        />
        <TextField
          label={t('field.password')}
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          error={errors.fields.password}
        />
        <div className="text-right text-sm">
          <Link to="/forgot-password" className="font-medium text-indigo-600 hover:text-indigo-500">
            {t('login.forgot')}
          </Link>
        </div>
        <Button type="submit" busy={isLoading} className="w-full">
          {t('login.submit')}
        </Button>
        <p className="text-center text-sm text-slate-600">
          {t('login.noAccount')}{' '}
          <Link to="/signup" className="font-semibold text-indigo-600 hover:text-indigo-500">
            {t('signup.title')}
          </Link>
        </p>
      </form>
    </PublicLayout>
  )
}
