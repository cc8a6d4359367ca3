/** "Send the verification mail again": one click when signed in, by address from the page a
 * used or expired link leads to. */
import { useState, type FormEvent } from 'react'
import { Button, ErrorBanner, Notice, TextField } from '../../components/ui'
import { useErrorMessage, useFormErrors } from '../../components/useFormErrors'
import { useI18n } from '../../i18n/I18nProvider'
import { useRequestVerificationMutation, useResendVerificationMutation } from './sessionApi'

export function ResendVerificationButton() {
  const { t } = useI18n()
  const [resend, { isLoading, isSuccess, error }] = useResendVerificationMutation()
  const message = useErrorMessage(error)
  return (
    <div className="mt-2 flex flex-wrap items-center gap-3">
      <Button variant="secondary" busy={isLoading} onClick={() => void resend()} data-testid="resend-verification">
        {t('verify.resend')}
      </Button>
      {isSuccess && !error && (
        <span role="status" className="text-sm text-green-700" data-testid="resend-verification-done">
          {t('verify.resent')}
        </span>
      )}
      {error && <ErrorBanner message={message} />}
    </div>
  )
}

const FIELDS = ['email'] as const

export function RequestVerificationForm() {
  const { t } = useI18n()
  const [email, setEmail] = useState('')
  const [request, { isLoading, isSuccess, error }] = useRequestVerificationMutation()
  const errors = useFormErrors(error, FIELDS)

  async function submit(event: FormEvent) {
    event.preventDefault()
    await request({ email })
  }

  if (isSuccess) {
    return (
      <div data-testid="request-verification-done">
        <Notice tone="success">{t('verify.requested', { email })}</Notice>
      </div>
    )
  }
  return (
    <form onSubmit={submit} className="space-y-3" data-testid="request-verification-form">
      <p className="text-sm text-slate-600">{t('verify.requestIntro')}</p>
      <ErrorBanner message={errors.banner} />
      <TextField
        label={t('field.email')}
        name="email"
        type="email"
        autoComplete="email"
        required
        value={email}
        onChange={(event) => setEmail(event.target.value)}
        error={errors.fields.email}
      />
      <Button type="submit" busy={isLoading} className="w-full">
        {t('verify.resend')}
      </Button>
    </form>
  )
}
