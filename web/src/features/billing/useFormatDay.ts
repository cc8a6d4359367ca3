import { useMemo } from 'react'
import { useI18n } from '../../i18n/I18nProvider'

/** A date without the time of day (period ends, grants), in the page's language. */
export function useFormatDay(): (iso: string | null | undefined) => string {
  const { locale } = useI18n()
  return useMemo(() => {
    const format = new Intl.DateTimeFormat(locale === 'ko' ? 'ko-KR' : 'en-US', { dateStyle: 'medium' })
    return (iso) => {
      if (!iso) return '—'
      const date = new Date(iso)
      return Number.isNaN(date.getTime()) ? iso : format.format(date)
    }
  }, [locale])
}
