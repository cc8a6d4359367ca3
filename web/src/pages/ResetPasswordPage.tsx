import { useState, type FormEvent } from 'react'
import { Link, useSearchParams } from 'react-router-dom'
import { useConfirmPasswordResetMutation } from '../features/session/sessionApi'
import { PublicLayout } from '../components/Layouts'
import { Button, ErrorBanner, Notice, TextField } from '../components/ui'
import { useFormErrors } from '../components/useFormErrors'
import { useI18n } from '../i18n/I18nProvider'
import { NewPasswordField } from '../features/session/NewPasswordField'
import { usePasswordCheck, usePasswordVars } from '../features/session/usePassword'

const FIELDS = ['password'] as const

export function ResetPasswordPage() {
  const { t } = useI18n()
  const [params] = useSearchParams()
  const token = params.get('token') ?? ''
  const [password, setPassword] = useState('')
  const [repeat, setRepeat] = useState('')
  const [mismatch, setMismatch] = useState(false)
  const [revokeKeys, setRevokeKeys] = useState(false)
  const [confirm, { isLoading, isSuccess, error }] = useConfirmPasswordResetMutation()
  const errors = useFormErrors(error, FIELDS, usePasswordVars())
  const checkPassword = usePasswordCheck()
  const [passwordError, setPasswordError] = useState<string | null>(null)

  async function submit(event: FormEvent) {
    event.preventDefault()
    const problem = checkPassword(password)
    setPasswordError(problem)
    if (problem) return
    if (password !== repeat) {
      setMismatch(true)
      return
    }
    setMismatch(false)
    await confirm(revokeKeys ? { token, password, revoke_api_keys: true } : { token, password })
  }

  if (!token) {
    return (
      <PublicLayout title={t('reset.title')}>
        <div className="space-y-4">
          <ErrorBanner message={t('reset.missingToken')} />
          <Link to="/forgot-password" className="font-semibold text-indigo-600 hover:text-indigo-500">
            {t('forgot.title')}
          </Link>
        </div>
      </PublicLayout>
    )
  }

  return (
    <PublicLayout title={t('reset.title')}>
      {isSuccess ? (
        <div className="space-y-4">
          <Notice tone="success">{t('reset.done')}</Notice>
          <Link to="/login" className="inline-block font-semibold text-indigo-600 hover:text-indigo-500">
            {t('login.title')}
          </Link>
        </div>
      ) : (
        <form onSubmit={submit} className="space-y-4">
          <ErrorBanner message={errors.banner} />
          <NewPasswordField
            label={t('field.newPassword')}
            value={password}
            onChange={setPassword}
            error={passwordError ?? errors.fields.password}
          />
          <TextField
            label={t('field.repeatPassword')}
            name="repeat"
            type="password"
            autoComplete="new-password"
            required
            value={repeat}
            onChange={(event) => setRepeat(event.target.value)}
            error={mismatch ? t('reset.mismatch') : undefined}
          />
          <label className="flex items-start gap-2 text-sm text-slate-700">
            <input
              type="checkbox"
              name="revokeApiKeys"
              checked={revokeKeys}
              onChange={(event) => setRevokeKeys(event.target.checked)}
              className="mt-0.5 h-4 w-4 rounded border-slate-300 text-indigo-600 focus:ring-indigo-500"
            />
            <span>{t('reset.revokeApiKeys')}</span>
          </label>
          <Button type="submit" busy={isLoading} className="w-full">
            {t('reset.submit')}
          </Button>
        </form>
      )}
    </PublicLayout>
  )
}
