import { Link } from 'react-router-dom'
import { PublicLayout } from '../components/Layouts'
import { useI18n } from '../i18n/I18nProvider'

export function NotFoundPage() {
  const { t } = useI18n()
  return (
    <PublicLayout title={t('notFound.title')}>
      <p className="mb-4 text-slate-600">{t('notFound.body')}</p>
      <Link to="/" className="font-semibold text-indigo-600 hover:text-indigo-500">
        {t('notFound.home')}
      </Link>
    </PublicLayout>
  )
}
