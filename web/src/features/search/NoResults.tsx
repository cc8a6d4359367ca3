import { useId } from 'react'
import { Link } from 'react-router-dom'
import { Button } from '../../components/ui'
import { useI18n } from '../../i18n/I18nProvider'

/** The link to the generate page with this prompt filled in. */
export function generateLink(prompt: string): string {
  return `/generate?${new URLSearchParams({ prompt }).toString()}`
}

/** What to do when a search found nothing: tips, clearing the filters, or making the image. */
export function NoResults({
  q,
  filtered,
  onClearFilters,
}: {
  q: string
  /** A model or date filter is on (it may be what hides the image). */
  filtered: boolean
  onClearFilters: () => void
}) {
  const { t } = useI18n()
  const titleId = useId()
  return (
    <section
      aria-labelledby={titleId}
      data-testid="search-no-results"
      className="rounded-xl border-2 border-dashed border-slate-200 p-6 sm:p-8"
    >
      <h2 id={titleId} className="text-lg font-semibold text-slate-900">
        {t('search.noResultsTitle', { q })}
      </h2>
      <p className="mt-2 text-sm text-slate-600">{t('search.noResultsIntro')}</p>
      <ul className="mt-2 list-disc space-y-1 pl-5 text-sm text-slate-700">
        <li>{t('search.tipSpelling')}</li>
        <li>{t('search.tipFewerWords')}</li>
        <li>{t('search.tipLanguage')}</li>
        {filtered && (
          <li>
            <span>{t('search.tipFilters')}</span>{' '}
            <Button variant="secondary" className="ml-1 mt-1" onClick={onClearFilters}>
              {t('gallery.clearFilters')}
            </Button>
          </li>
        )}
      </ul>
      <p className="mt-4 border-t border-slate-100 pt-4 text-sm">
        <Link to={generateLink(q)} className="font-semibold text-indigo-700 hover:underline" data-testid="search-generate-link">
          {t('search.generateThis', { q })}
        </Link>
      </p>
    </section>
  )
}
