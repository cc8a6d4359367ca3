import { ApiSnippets } from './ApiSnippets'
import { KEY_VARIABLE } from './snippets'
import { Card } from '../../components/ui'
import { useI18n } from '../../i18n/I18nProvider'

/** Where to read about the API, and how a call looks. */
export function ApiReferenceCard() {
  const { t } = useI18n()
  return (
    <Card title={t('keys.useTitle')}>
      <div className="space-y-4 text-sm text-slate-700">
        <p>
          {t('keys.useIntro', { variable: KEY_VARIABLE })}{' '}
          {/* Served by the gateway, not the SPA: a full page load. */}
          <a href="/api/docs" className="font-medium text-indigo-700 underline hover:text-indigo-600" data-testid="api-docs-link">
            {t('keys.apiReference')}
          </a>
        </p>
        <ApiSnippets />
        <p className="text-xs text-slate-500">{t('keys.pythonClientHint')}</p>
      </div>
    </Card>
  )
}
