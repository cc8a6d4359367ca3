/** Account page: a new password with the current one. Every other session ends; this one
 * goes on with the new cookies the answer brings. */
import { useState, type FormEvent } from 'react'
import { Button, ErrorBanner, Notice, TextField } from '../../components/ui'
import { useFormErrors } from '../../components/useFormErrors'
import { useI18n } from '../../i18n/I18nProvider'
import { NewPasswordField } from './NewPasswordField'
import { useChangePasswordMutation } from './sessionApi'
import { usePasswordCheck, usePasswordVars } from './usePassword'

// The server names the new password's field `password` (the rule's field), the old one
// `current_password`.
const FIELDS = ['current_password', 'password'] as const

export function ChangePasswordForm({ email, name }: { email: string; name: string }) {
  const { t } = useI18n()
  const [current, setCurrent] = useState('')
  const [next, setNext] = useState('')
  const [passwordError, setPasswordError] = useState<string | null>(null)
  const [change, { isLoading, isSuccess, error, reset }] = useChangePasswordMutation()
  const errors = useFormErrors(error, FIELDS, usePasswordVars())
  const checkPassword = usePasswordCheck()

  async function submit(event: FormEvent) {
    event.preventDefault()
    const problem = checkPassword(next, { email, name })
    setPasswordError(problem)
    if (problem) return
    const result = await change({ current_password: current, new_password: next })
    if (!('error' in result)) {
      setCurrent('')
      setNext('')
    }
  }

  return (
    <form onSubmit={submit} className="space-y-4" data-testid="change-password-form">
      <p className="text-sm text-slate-600">{t('account.passwordHelp')}</p>
      {isSuccess && (
        <div data-testid="change-password-done">
          <Notice tone="success">{t('account.passwordChanged')}</Notice>
        </div>
      )}
      <ErrorBanner message={errors.banner} />
      <TextField
        label={t('account.currentPassword')}
        name="current_password"
        type="password"
        autoComplete="current-password"
        required
        value={current}
        onChange={(event) => {
          setCurrent(event.target.value)
          if (isSuccess) reset()
        }}
        error={errors.fields.current_password}
      />
      <NewPasswordField
        label={t('field.newPassword')}
        name="new_password"
        value={next}
        onChange={setNext}
        error={passwordError ?? errors.fields.password}
      />
      <Button type="submit" busy={isLoading}>
        {t('account.changePassword')}
      </Button>
    </form>
  )
}
