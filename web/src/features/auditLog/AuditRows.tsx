import { useGetAuditLogQuery, type AuditFilter } from './auditLogApi'
import { describe } from './describe'
import { Button, ErrorBanner, Loading } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import { useI18n } from '../../i18n/I18nProvider'

/** One page of entries, each a sentence; the next page is asked for only when the visitor wants it. */
export function AuditRows({
  filter,
  filtered,
  cursor,
  isLast,
  onMore,
}: {
  filter: AuditFilter
  filtered: boolean
  cursor: string | null
  isLast: boolean
  onMore: (next: string) => void
}) {
  const { t, formatDate } = useI18n()
  const page = useGetAuditLogQuery({ filter, cursor })
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
        <li
          key={entry.id}
          data-testid="audit-entry"
          data-action={entry.action}
          className="grid gap-1 py-3 text-sm sm:grid-cols-[1fr_auto] sm:gap-4"
        >
          <span className="min-w-0 break-words text-slate-900">{describe(t, entry)}</span>
          <span className="text-xs text-slate-500">
            {formatDate(entry.created_at)}
            {entry.ip && <> · {entry.ip}</>}
          </span>
        </li>
      ))}
      {isLast && page.data.items.length === 0 && cursor === null && (
        <li className="py-3 text-sm text-slate-500">{filtered ? t('audit.emptyFiltered') : t('audit.empty')}</li>
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
