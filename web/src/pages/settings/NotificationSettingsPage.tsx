import { Link } from 'react-router-dom'
import { useGetNotificationPreferencesQuery } from '../../features/mail/mailApi'
import { PageTitle } from '../../components/Layouts'
import { Button, Card, ErrorBanner, Loading } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import { useI18n } from '../../i18n/I18nProvider'
import { PreferencesForm } from '../../features/mail/PreferencesForm'

/** /settings/notifications: which optional mail the person gets (docs/mail.md). */
export function NotificationSettingsPage() {
  const { t } = useI18n()
  const saved = useGetNotificationPreferencesQuery()
  const loadError = useErrorMessage(saved.error)

  return (
    <>
      <div className="space-y-2">
        <Link to="/account" className="text-sm font-medium text-indigo-600 hover:text-indigo-500">
          ← {t('notifications.backToAccount')}
        </Link>
        <PageTitle subtitle={t('notifications.subtitle')}>{t('notifications.title')}</PageTitle>
      </div>
      <Card title={t('notifications.email')}>
        {saved.isLoading && <Loading />}
        {!saved.data && saved.error && (
          <div className="space-y-3">
            <ErrorBanner message={loadError} />
            <Button variant="secondary" onClick={() => saved.refetch()}>
              {t('common.retry')}
            </Button>
          </div>
        )}
        {saved.data && <PreferencesForm saved={saved.data} />}
      </Card>
    </>
  )
}
