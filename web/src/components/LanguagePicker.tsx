import { useId } from 'react'
import { LOCALES, isLocale, useI18n } from '../i18n/I18nProvider'

/** Language names are written in their own language so anyone can find theirs. */
const NATIVE_NAMES = { en: 'English', ko: '한국어' } as const

export function LanguagePicker({ className = '' }: { className?: string }) {
  const { locale, setLocale, t } = useI18n()
  const id = useId()
  return (
    <div className={`flex items-center gap-2 ${className}`}>
      <label htmlFor={id} className="sr-only">
        {t('language.label')}
      </label>
      <select
        id={id}
        value={locale}
        onChange={(event) => {
          if (isLocale(event.target.value)) setLocale(event.target.value)
        }}
        className="rounded-md border border-slate-300 bg-white px-2 py-1 text-sm text-slate-700 focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200"
      >
        {LOCALES.map((code) => (
          <option key={code} value={code} lang={code}>
            {NATIVE_NAMES[code]}
          </option>
        ))}
      </select>
    </div>
  )
}
