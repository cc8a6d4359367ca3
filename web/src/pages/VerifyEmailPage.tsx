import { useEffect, useRef } from 'react'
import { Link, useSearchParams } from 'react-router-dom'
import { useVerifyEmailMutation } from '../features/session/sessionApi'
import { RequestVerificationForm } from '../features/session/ResendVerification'
import { PublicLayout } from '../components/Layouts'
import { ErrorBanner, Loading, Notice } from '../components/ui'
import { useErrorMessage } from '../components/useFormErrors'
import { useI18n } from '../i18n/I18nProvider'

export function VerifyEmailPage() {
  const { t } = useI18n()
  const [params] = useSearchParams()
  const token = params.get('token') ?? ''
  const [verify, { isUninitialized, isLoading, isSuccess, error, data }] = useVerifyEmailMutation()
  // The browser's session, when it had one, was renewed with the answer (cookies): go on in
  // the app; without one, log in.
  const signedIn = (data as { token_type?: string } | undefined)?.token_type === 'bearer'
  const message = useErrorMessage(error)
  // The token is single use: post it once even when effects run twice (StrictMode).
  const sent = useRef(false)

  useEffect(() => {
    if (token && !sent.current) {
      sent.current = true
      void verify({ token })
    }
  }, [token, verify])

  return (
    <PublicLayout title={t('verify.title')}>
      <div className="space-y-4">
        {!token && <ErrorBanner message={t('verify.missingToken')} />}
        {token && (isLoading || isUninitialized) && <Loading />}
        {isSuccess && (
          <div data-testid="verify-done">
            <Notice tone="success">{t('verify.done')}</Notice>
          </div>
        )}
        {error && <ErrorBanner message={message} />}
        {(error || !token) && <RequestVerificationForm />}
        {(isSuccess || error || !token) && (
          <Link to={signedIn ? '/' : '/login'} className="inline-block font-semibold text-indigo-600 hover:text-indigo-500">
            {t('verify.continue')}
          </Link>
        )}
      </div>
    </PublicLayout>
  )
}
