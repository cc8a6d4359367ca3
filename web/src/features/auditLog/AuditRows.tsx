import { useGetAuditLogQuery } from './auditLogApi'
import { Button, ErrorBanner, Loading } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import { useI18n } from '../../i18n/I18nProvider'

function show(value: unknown): string {
  if (value === null || value === undefined || value === '') return '—'
  if (typeof value === 'string') return value
  if (typeof value === 'object') {
    const named = value as { email?: unknown; name?: unknown }
    if (typeof named.email === 'string') return named.email
    if (typeof named.name === 'string') return named.name
  }
  return JSON.stringify(value)
}

/** One page of entries; the next page is asked for only when the visitor wants it. */
export function AuditRows({ cursor, isLast, onMore }: { cursor: string | null; isLast: boolean; onMore: (next: string) => void }) {
  const { t, formatDate } = useI18n()
  const page = useGetAuditLogQuery(cursor)
  const message = useErrorMessage(page.error)
  if (page.isLoading) {
    return (
      <li>
        <Loading />
      </li>
    )
  }
  if (!page.data) {
    return (
      <li>
        <ErrorBanner message={message} />
      </li>
    )
  }
  return (
    <>
      {page.data.items.map((entry) => (
        <li key={entry.id} className="grid gap-1 py-3 text-sm sm:grid-cols-[12rem_1fr_auto] sm:gap-4">
          <span className="font-mono text-xs text-slate-900">{entry.action}</span>
          <span className="min-w-0 text-slate-700">
            {/* who: the actor's id and kind (user, api_key, ...) as tenants records them */}
            {show(entry.actor_id)}
            {entry.actor_kind && <span className="ml-1 text-xs text-slate-500">({entry.actor_kind})</span>}
            {entry.details != null && <span className="block truncate text-xs text-slate-500">{show(entry.details)}</span>}
          </span>
          <span className="text-xs text-slate-500">
            {formatDate(entry.created_at)}
            {entry.ip && <> · {entry.ip}</>}
          </span>
        </li>
      ))}
      {isLast && page.data.items.length === 0 && cursor === null && (
        <li className="py-3 text-sm text-slate-500">{t('audit.empty')}</li>
      )}
      {isLast && page.data.next_cursor && (
        <li className="pt-4">
          <Button variant="secondary" onClick={() => onMore(page.data!.next_cursor!)}>
            {t('audit.more')}
          </Button>
        </li>
      )}
    </>
  )
}
