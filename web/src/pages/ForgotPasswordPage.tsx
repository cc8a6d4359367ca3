import { useState, type FormEvent } from 'react'
import { Link } from 'react-router-dom'
import { useRequestPasswordResetMutation } from '../features/session/sessionApi'
import { PublicLayout } from '../components/Layouts'
import { Button, ErrorBanner, Notice, TextField } from '../components/ui'
import { useFormErrors } from '../components/useFormErrors'
import { useI18n } from '../i18n/I18nProvider'

const FIELDS = ['email'] as const

export function ForgotPasswordPage() {
  const { t } = useI18n()
  const [email, setEmail] = useState('')
  const [request, { isLoading, isSuccess, error }] = useRequestPasswordResetMutation()
  const errors = useFormErrors(error, FIELDS)

  async function submit(event: FormEvent) {
    event.preventDefault()
    await request({ email })
  }

  return (
    <PublicLayout title={t('forgot.title')}>
      {isSuccess ? (
        <div className="space-y-4">
          <Notice tone="success">{t('forgot.sent')}</Notice>
          <Link to="/login" className="inline-block font-semibold text-indigo-600 hover:text-indigo-500">
            {t('common.backToLogin')}
          </Link>
        </div>
      ) : (
        <form onSubmit={submit} className="space-y-4">
          <p className="text-sm text-slate-600">{t('forgot.intro')}</p>
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
            {t('forgot.submit')}
          </Button>
          <p className="text-center text-sm">
            <Link to="/login" className="font-medium text-indigo-600 hover:text-indigo-500">
              {t('common.backToLogin')}
            </Link>
          </p>
        </form>
      )}
    </PublicLayout>
  )
}
