import { Link, useSearchParams } from 'react-router-dom'
import { useGetUnsubscribeQuery, useUnsubscribeMutation } from '../features/mail/mailApi'
import { httpStatus } from '../api/problem'
import { PublicLayout } from '../components/Layouts'
import { Button, ErrorBanner, Loading, Notice } from '../components/ui'
import { useErrorMessage } from '../components/useFormErrors'
import { useI18n } from '../i18n/I18nProvider'
import type { MessageKey } from '../i18n/en'

const CATEGORIES: Record<string, MessageKey> = {
  job_completed: 'unsubscribe.category.job_completed',
  usage_notices: 'unsubscribe.category.usage_notices',
  newsletter: 'unsubscribe.category.newsletter',
}

/**
 * /unsubscribe?token=: the link in every non-transactional mail, no log-in needed. It asks
 * first (GET tells what the link turns off), and unsubscribes on the button (POST, idempotent).
 */
export function UnsubscribePage() {
  const { t } = useI18n()
  const [params] = useSearchParams()
  const token = params.get('token') ?? ''
  const info = useGetUnsubscribeQuery(token, { skip: !token })
  const [unsubscribe, done] = useUnsubscribeMutation()
  const loadError = useErrorMessage(info.error)
  const postError = useErrorMessage(done.error)
  const badLink = [400, 404, 422].includes(httpStatus(info.error) ?? 0)

  const what = info.data ? t(CATEGORIES[info.data.category] ?? 'unsubscribe.category.other') : ''
  const email = info.data?.email_masked
  const finished = done.isSuccess || info.data?.subscribed === false

  return (
    <PublicLayout title={t('unsubscribe.title')}>
      <div className="space-y-4" data-testid="unsubscribe">
        {!token && <ErrorBanner message={t('unsubscribe.missingToken')} />}
        {info.isLoading && <Loading />}
        {info.error && <ErrorBanner message={badLink ? t('unsubscribe.badLink') : loadError} />}
        {info.data && !finished && (
          <>
            <p className="font-medium text-slate-900">{email ? t('unsubscribe.question', { what, email }) : t('unsubscribe.questionNoEmail', { what })}</p>
            <p className="text-sm text-slate-600">{t('unsubscribe.unaffected')}</p>
            <ErrorBanner message={postError} />
            <Button busy={done.isLoading} onClick={() => unsubscribe(token)} data-testid="unsubscribe-confirm">
              {t('unsubscribe.submit')}
            </Button>
          </>
        )}
        {info.data && finished && (
          <>
            <div data-testid="unsubscribe-done">
              <Notice tone="success">
                {done.isSuccess
                  ? t('unsubscribe.done')
                  : email
                    ? t('unsubscribe.alreadyOff', { what, email })
                    : t('unsubscribe.alreadyOffNoEmail', { what })}
              </Notice>
            </div>
            <p className="text-sm text-slate-600">{t('unsubscribe.unaffected')}</p>
          </>
        )}
        {(finished || info.error || !token) && (
          <p className="text-sm text-slate-600">
            {t('unsubscribe.settingsHelp')}{' '}
            <Link to="/settings/notifications" className="font-semibold text-indigo-600 hover:text-indigo-500">
              {t('unsubscribe.settingsLink')}
            </Link>
          </p>
        )}
      </div>
    </PublicLayout>
  )
}
