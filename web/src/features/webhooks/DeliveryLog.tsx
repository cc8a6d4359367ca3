import { useEffect, useRef, useState } from 'react'
import { useDispatch } from 'react-redux'
import { api } from '../../api/api'
import { useGetDeliveriesQuery, useGetDeliveryQuery, useRedeliverMutation } from './webhooksApi'
import { useLocalizedError } from './errors'
import type { WebhookDelivery } from './types'
import { Badge, Button, ErrorBanner, Loading } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import { useI18n } from '../../i18n/I18nProvider'

/** How often the log refreshes while a delivery is still pending. */
export const PENDING_POLL_MS = 1500

const TONES = { pending: 'indigo', delivered: 'green', failed: 'red' } as const

function StatusBadge({ status }: { status: WebhookDelivery['status'] }) {
  const { t } = useI18n()
  return <Badge tone={TONES[status]}>{t(`webhooks.delivery.${status}`)}</Badge>
}

/** An endpoint's deliveries, newest first; refreshes while any is pending. */
export function DeliveryLog({ endpointId }: { endpointId: string }) {
  const { t, formatDate } = useI18n()
  const dispatch = useDispatch()
  const [cursor, setCursor] = useState<string | null>(null)
  const [pending, setPending] = useState(false)
  const [open, setOpen] = useState<string | null>(null)
  const page = useGetDeliveriesQuery({ endpointId, cursor }, { pollingInterval: pending ? PENDING_POLL_MS : 0 })
  const message = useErrorMessage(useLocalizedError(page.error))
  const items = page.data?.items
  const anyPending = (items ?? []).some((d) => d.status === 'pending')
  // Which deliveries have settled how: when that changes, so has the endpoint's health.
  const settled = (items ?? [])
    .filter((d) => d.status !== 'pending')
    .map((d) => `${d.id}:${d.status}:${d.attempt_count}`)
    .join(',')
  const lastSettled = useRef<string | null>(null)

  useEffect(() => {
    setPending(anyPending)
  }, [anyPending])

  useEffect(() => {
    if (!items || settled === lastSettled.current) return
    const first = lastSettled.current === null
    lastSettled.current = settled
    if (!first || settled) dispatch(api.util.invalidateTags(['Webhooks' as never]))
  }, [items, settled, dispatch])

  return (
    <div className="rounded-lg border border-slate-200 bg-slate-50 p-3" data-testid="delivery-log">
      <h3 className="mb-2 text-sm font-semibold text-slate-900">{t('webhooks.log')}</h3>
      {page.isLoading && <Loading />}
      <ErrorBanner message={message} />
      {items && items.length === 0 && <p className="text-sm text-slate-500">{t('webhooks.logEmpty')}</p>}
      {items && items.length > 0 && (
        <table className="w-full text-left text-xs">
          <thead className="text-slate-500">
            <tr>
              <th className="py-1 pr-2 font-medium">{t('webhooks.col.time')}</th>
              <th className="py-1 pr-2 font-medium">{t('webhooks.col.eventType')}</th>
              <th className="py-1 pr-2 font-medium">{t('webhooks.col.status')}</th>
              <th className="py-1 pr-2 font-medium">{t('webhooks.col.statusCode')}</th>
              <th className="py-1 pr-2 font-medium">{t('webhooks.col.attempts')}</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-200">
            {items.map((delivery) => (
              <DeliveryRow
                key={delivery.id}
                delivery={delivery}
                open={open === delivery.id}
                onToggle={() => setOpen(open === delivery.id ? null : delivery.id)}
                formatDate={formatDate}
              />
            ))}
          </tbody>
        </table>
      )}
      <div className="mt-2 flex gap-2">
        {cursor && (
          <Button variant="ghost" onClick={() => setCursor(null)}>
            {t('webhooks.logNewest')}
          </Button>
        )}
        {page.data?.next_cursor && (
          <Button variant="ghost" onClick={() => setCursor(page.data?.next_cursor ?? null)}>
            {t('webhooks.logOlder')}
          </Button>
        )}
      </div>
    </div>
  )
}

function DeliveryRow({
  delivery,
  open,
  onToggle,
  formatDate,
}: {
  delivery: WebhookDelivery
  open: boolean
  onToggle: () => void
  formatDate: (iso: string | null | undefined) => string
}) {
  const { t } = useI18n()
  return (
    <>
      <tr
        className="cursor-pointer hover:bg-white"
        data-testid="delivery-row"
        data-event-type={delivery.event_type}
        data-status={delivery.status}
        aria-expanded={open}
        tabIndex={0}
        onClick={onToggle}
        onKeyDown={(event) => {
          if (event.key === 'Enter' || event.key === ' ') {
            event.preventDefault()
            onToggle()
          }
        }}
      >
        <td className="py-1.5 pr-2">{formatDate(delivery.created_at)}</td>
        <td className="py-1.5 pr-2 font-mono">{delivery.event_type}</td>
        <td className="py-1.5 pr-2" data-testid="delivery-status">
          <StatusBadge status={delivery.status} />
        </td>
        <td className="py-1.5 pr-2" data-testid="delivery-status-code">
          {delivery.last_status_code ?? '—'}
        </td>
        <td className="py-1.5 pr-2">{delivery.attempt_count}</td>
      </tr>
      {open && (
        <tr>
          <td colSpan={5} className="pb-3">
            <DeliveryDetail delivery={delivery} />
          </td>
        </tr>
      )}
      {open && delivery.next_attempt_at && delivery.status === 'pending' && (
        <tr>
          <td colSpan={5} className="pb-2 text-slate-500">
            {t('webhooks.nextAttempt', { date: formatDate(delivery.next_attempt_at) })}
          </td>
        </tr>
      )}
    </>
  )
}

function DeliveryDetail({ delivery }: { delivery: WebhookDelivery }) {
  const { t, formatDate } = useI18n()
  const detail = useGetDeliveryQuery(delivery.id, {
    pollingInterval: delivery.status === 'pending' ? PENDING_POLL_MS : 0,
  })
  const [redeliver, again] = useRedeliverMutation()
  const message = useErrorMessage(useLocalizedError(detail.error ?? again.error))
  const attempts = detail.data?.attempts ?? []

  return (
    <div className="space-y-2 rounded-md border border-slate-200 bg-white p-3" data-testid="delivery-detail">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <code className="font-mono text-xs text-slate-600">{delivery.id}</code>
        <Button variant="secondary" busy={again.isLoading} data-testid="delivery-redeliver" onClick={() => redeliver(delivery.id)}>
          {t('webhooks.redeliver')}
        </Button>
      </div>
      {again.isSuccess && <p className="text-emerald-700">{t('webhooks.redelivered')}</p>}
      <ErrorBanner message={message} />
      {detail.isLoading && <Loading />}
      {detail.data && attempts.length === 0 && <p className="text-slate-500">{t('webhooks.noAttempts')}</p>}
      {attempts.length > 0 && (
        <table className="w-full text-left text-xs">
          <thead className="text-slate-500">
            <tr>
              <th className="py-1 pr-2 font-medium">#</th>
              <th className="py-1 pr-2 font-medium">{t('webhooks.col.time')}</th>
              <th className="py-1 pr-2 font-medium">{t('webhooks.col.statusCode')}</th>
              <th className="py-1 pr-2 font-medium">{t('webhooks.col.latency')}</th>
              <th className="py-1 pr-2 font-medium">{t('webhooks.col.error')}</th>
              <th className="py-1 pr-2 font-medium">{t('webhooks.col.response')}</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {attempts.map((attempt) => (
              <tr key={attempt.number} data-testid="delivery-attempt">
                <td className="py-1 pr-2">{attempt.number}</td>
                <td className="py-1 pr-2">{formatDate(attempt.attempted_at)}</td>
                <td className="py-1 pr-2" data-testid="attempt-status-code">
                  {attempt.status_code ?? '—'}
                </td>
                <td className="py-1 pr-2">{t('webhooks.latencyMs', { ms: attempt.latency_ms })}</td>
                <td className="py-1 pr-2 text-red-700">{attempt.error ?? ''}</td>
                <td className="py-1 pr-2">
                  <code className="block max-w-xs truncate font-mono" title={attempt.response_body}>
                    {attempt.response_body.slice(0, 200)}
                  </code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}
