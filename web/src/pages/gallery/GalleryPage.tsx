import { useEffect, useMemo, useRef, useState } from 'react'
import { Link, useSearchParams } from 'react-router-dom'
import { useGetImagesInfiniteQuery, useGetModelsQuery } from '../../features/render/renderApi'
import { useSearchImagesInfiniteQuery } from '../../features/search/searchApi'
import { PageTitle } from '../../components/Layouts'
import { Button, Card, ErrorBanner, Loading, SelectField, Spinner, TextField } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import { useI18n } from '../../i18n/I18nProvider'
import type { Image, ImageFilter } from '../../features/render/types'
import { Highlight } from '../../features/search/Highlight'
import { NoResults } from '../../features/search/NoResults'
import { searchQueryFrom } from '../../features/search/params'
import { SearchBox } from '../../features/search/SearchBox'
import type { SearchHit } from '../../features/search/types'
import { Lightbox } from '../../features/gallery/Lightbox'
import { Thumbnail } from '../../features/gallery/Thumbnail'

const FILTER_KEYS = ['model', 'from', 'to'] as const

/** Show each image once (a job that finished between two pages may put one on both). */
function unique<T extends Image>(pages: { items: T[] }[] | undefined): T[] {
  const seen = new Set<string>()
  return (pages ?? [])
    .flatMap((page) => page.items)
    .filter((image) => (seen.has(image.id) ? false : (seen.add(image.id), true)))
}

/**
 * The team's images, newest first (render's list), or, with `?q=`, what the search service
 * finds for it. The query, the filters, the sort and the open image all live in the URL.
 */
export function GalleryPage() {
  const { t } = useI18n()
  const [params, setParams] = useSearchParams()
  const filter: ImageFilter = {
    model: params.get('model') ?? '',
    from: params.get('from') ?? '',
    to: params.get('to') ?? '',
  }
  const filtered = FILTER_KEYS.some((key) => filter[key])
  const query = searchQueryFrom(params)
  const searching = query.q !== ''
  const openId = params.get('image')
  const models = useGetModelsQuery()
  const images = useGetImagesInfiniteQuery(filter, { skip: searching })
  const search = useSearchImagesInfiniteQuery(query, { skip: !searching })
  const message = useErrorMessage(searching ? search.error : images.error)
  const sentinel = useRef<HTMLDivElement>(null)

  // What is typed; it follows the URL (back, forward, a link) and is searched on submit.
  const [text, setText] = useState(query.q)
  useEffect(() => setText(query.q), [query.q])

  // The results of this very query (not the previous one's while it loads).
  const results = searching ? search.currentData : undefined
  const items: Image[] = useMemo(
    () => (searching ? unique<SearchHit>(results?.pages) : unique(images.data?.pages)),
    [searching, results, images.data],
  )
  const hits = useMemo(() => new Map(unique<SearchHit>(results?.pages).map((hit) => [hit.id, hit])), [results])
  const total = results?.pages[0]?.total ?? 0

  const { hasNextPage, isFetchingNextPage, isFetching, fetchNextPage } = searching ? search : images
  // Infinite scroll: load the next page when the end of the grid comes into view.
  useEffect(() => {
    const node = sentinel.current
    if (!node || !hasNextPage || typeof IntersectionObserver === 'undefined') return
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting) && !isFetching) void fetchNextPage()
      },
      { rootMargin: '400px 0px' },
    )
    observer.observe(node)
    return () => observer.disconnect()
  }, [hasNextPage, isFetching, fetchNextPage])

  function searchWith(changes: Record<string, string | null>): string {
    const next = new URLSearchParams(params)
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value)
      else next.delete(key)
    }
    const text = next.toString()
    return text ? `?${text}` : ''
  }

  function setFilter(key: (typeof FILTER_KEYS)[number] | 'sort', value: string) {
    setParams(searchWith({ [key]: value, image: null }), { replace: true })
  }

  function clearFilters() {
    setParams(searchWith({ model: null, from: null, to: null, image: null }), { replace: true })
  }

  /** A new entry in the history for each search, so that Back returns to the previous one. */
  function runSearch(q: string) {
    if (q === query.q) {
      if (searching) void search.refetch()
      return
    }
    setParams(searchWith({ q: q || null, sort: q ? params.get('sort') : null, image: null }))
  }

  const openIndex = openId ? items.findIndex((image) => image.id === openId) : -1

  return (
    <>
      <PageTitle testId="gallery-title" subtitle={t('gallery.intro')}>
        {t('gallery.title')}
      </PageTitle>

      <Card>
        <div className="space-y-4">
          <SearchBox
            value={text}
            onValueChange={(value) => {
              setText(value)
              // Emptying the field goes back to the whole gallery.
              if (value === '' && searching) runSearch('')
            }}
            onSearch={runSearch}
            onClear={() => {
              setText('')
              runSearch('')
            }}
          />
          <div
            role="group"
            aria-label={t('gallery.filters')}
            className={`grid gap-3 sm:items-end ${searching ? 'sm:grid-cols-[1fr_auto_auto_auto_auto]' : 'sm:grid-cols-[1fr_auto_auto_auto]'}`}
          >
            <SelectField label={t('generate.model')} value={filter.model} onChange={(event) => setFilter('model', event.target.value)}>
              <option value="">{t('gallery.allModels')}</option>
              {(models.data ?? []).map((m) => (
                <option key={m.key} value={m.key}>
                  {m.name}
                </option>
              ))}
              {filter.model && !models.data?.some((m) => m.key === filter.model) && (
                <option value={filter.model}>{filter.model}</option>
              )}
            </SelectField>
            <TextField
              label={t('gallery.from')}
              type="date"
              value={filter.from}
              max={filter.to || undefined}
              onChange={(event) => setFilter('from', event.target.value)}
            />
            <TextField
              label={t('gallery.to')}
              type="date"
              value={filter.to}
              min={filter.from || undefined}
              onChange={(event) => setFilter('to', event.target.value)}
            />
            {searching && (
              <SelectField
                label={t('search.sort')}
                value={query.sort}
                onChange={(event) => setFilter('sort', event.target.value === 'newest' ? 'newest' : '')}
              >
                <option value="relevance">{t('search.sortRelevance')}</option>
                <option value="newest">{t('search.sortNewest')}</option>
              </SelectField>
            )}
            <Button variant="ghost" disabled={!filtered} onClick={clearFilters}>
              {t('gallery.clearFilters')}
            </Button>
          </div>
        </div>
      </Card>

      <ErrorBanner message={message} />
      {searching && search.isError && !results && (
        <div>
          <Button variant="secondary" onClick={() => void search.refetch()}>
            {t('common.retry')}
          </Button>
        </div>
      )}
      {(searching ? !results && search.isFetching : images.isLoading) && <Loading />}
      {searching && results && (
        <p role="status" className="text-sm text-slate-600" data-testid="search-count">
          {total === 1 ? t('search.countOne', { q: query.q }) : t('search.count', { count: total, q: query.q })}
        </p>
      )}
      {searching && results && items.length === 0 && (
        <NoResults q={query.q} filtered={filtered} onClearFilters={clearFilters} />
      )}
      {!searching && images.data && items.length === 0 && (
        <div className="flex min-h-40 flex-col items-center justify-center gap-3 rounded-xl border-2 border-dashed border-slate-200 p-8 text-center">
          <p className="text-slate-600">{filtered ? t('gallery.emptyFiltered') : t('gallery.empty')}</p>
          {!filtered && (
            <Link to="/generate" className="text-sm font-semibold text-indigo-700 hover:underline">
              {t('gallery.generateFirst')}
            </Link>
          )}
        </div>
      )}
      {items.length > 0 && (
        <ul className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-4" data-testid="gallery-grid">
          {items.map((image) => {
            const hit = hits.get(image.id)
            return (
              <li key={image.id} data-testid={hit ? 'search-result' : undefined}>
                <Thumbnail image={image} search={searchWith({ image: image.id })} />
                {hit && (
                  <p className="mt-1.5 line-clamp-2 text-xs text-slate-600" data-testid="search-result-prompt">
                    <Highlight segments={hit.highlight} text={hit.prompt} />
                  </p>
                )}
              </li>
            )
          })}
        </ul>
      )}
      <div ref={sentinel} className="flex justify-center py-2">
        {isFetchingNextPage && <Spinner />}
        {hasNextPage && !isFetchingNextPage && (
          <Button variant="secondary" onClick={() => void fetchNextPage()}>
            {t('gallery.more')}
          </Button>
        )}
      </div>

      {openId && (
        <Lightbox
          key={openId}
          id={openId}
          initial={openIndex >= 0 ? items[openIndex] : undefined}
          models={models.data}
          previousId={openIndex > 0 ? items[openIndex - 1].id : null}
          nextId={openIndex >= 0 && openIndex < items.length - 1 ? items[openIndex + 1].id : null}
          onNavigate={(id) => setParams(searchWith({ image: id }), { replace: true })}
          onClose={() => setParams(searchWith({ image: null }), { replace: true })}
        />
      )}
    </>
  )
}
