import { useId } from 'react'
import { Card, ErrorBanner } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import { LOCALES, isLocale, useI18n, type Locale } from '../../i18n/I18nProvider'
import { useSavePreferencesMutation } from './preferencesApi'

const NATIVE_NAMES = { en: 'English', ko: '한국어' } as const

/** The language of the person's mail, saved on their account (not this browser's choice). */
export function MailLanguageCard({ saved }: { saved: string }) {
  const { t } = useI18n()
  const id = useId()
  const [save, state] = useSavePreferencesMutation()
  const error = useErrorMessage(state.error)
  const current: Locale = isLocale(state.originalArgs?.locale) && !state.isError ? state.originalArgs.locale : isLocale(saved) ? saved : 'en'
  return (
    <Card title={t('account.mailLanguage')}>
      <p className="mb-3 text-sm text-slate-600">{t('account.mailLanguageHelp')}</p>
      <div className="flex flex-wrap items-center gap-3">
        <label htmlFor={id} className="text-sm font-medium text-slate-700">
          {t('account.mailLanguageLabel')}
        </label>
        <select
          id={id}
          value={current}
          disabled={state.isLoading}
          onChange={(event) => {
            if (isLocale(event.target.value)) void save({ locale: event.target.value })
          }}
          className="rounded-md border border-slate-300 bg-white px-2 py-1 text-sm text-slate-700 focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200"
        >
          {LOCALES.map((code) => (
            <option key={code} value={code} lang={code}>
              {NATIVE_NAMES[code]}
            </option>
          ))}
        </select>
        {state.isSuccess && (
          <span role="status" className="text-sm text-green-700">
            {t('account.mailLanguageSaved')}
          </span>
        )}
      </div>
      <div className="mt-3">
        <ErrorBanner message={error} />
      </div>
    </Card>
  )
}
