import { useState, type FormEvent } from 'react'
import {
  useDeleteEndpointMutation,
  useGetEndpointsQuery,
  useRotateSecretMutation,
  useSendTestMutation,
  useUpdateEndpointMutation,
} from './webhooksApi'
import { DeliveryLog } from './DeliveryLog'
import { EventTypeChoices } from './EventTypeChoices'
import { useLocalizedError } from './errors'
import { SecretDialog } from './SecretDialog'
import type { WebhookEndpoint, WebhookEndpointWithSecret, WebhookHealth } from './types'
import { Badge, Button, Card, ConfirmDialog, Dialog, ErrorBanner, Loading, Notice, TextField } from '../../components/ui'
import { useErrorMessage, useFormErrors } from '../../components/useFormErrors'
import { useI18n } from '../../i18n/I18nProvider'

const TONES = { new: 'slate', healthy: 'green', failing: 'red', disabled: 'slate' } as const

export function HealthBadge({ health }: { health: WebhookHealth }) {
  const { t } = useI18n()
  return <Badge tone={TONES[health.status]}>{t(`webhooks.health.${health.status}`)}</Badge>
}

export function EndpointsCard() {
  const { t } = useI18n()
  const endpoints = useGetEndpointsQuery()
  const message = useErrorMessage(useLocalizedError(endpoints.error))
  const [editing, setEditing] = useState<WebhookEndpoint | null>(null)
  const [deleting, setDeleting] = useState<WebhookEndpoint | null>(null)
  const [rotating, setRotating] = useState<WebhookEndpoint | null>(null)
  const [rotated, setRotated] = useState<WebhookEndpointWithSecret | null>(null)

  return (
    <Card title={t('webhooks.list')}>
      {endpoints.isLoading && <Loading />}
      <ErrorBanner message={message} />
      {endpoints.data && endpoints.data.length === 0 && <p className="text-sm text-slate-500">{t('webhooks.none')}</p>}
      {endpoints.data && endpoints.data.length > 0 && (
        <ul className="divide-y divide-slate-100">
          {endpoints.data.map((endpoint) => (
            <EndpointRow
              key={endpoint.id}
              endpoint={endpoint}
              onEdit={() => setEditing(endpoint)}
              onDelete={() => setDeleting(endpoint)}
              onRotate={() => setRotating(endpoint)}
            />
          ))}
        </ul>
      )}
      {editing && <EditDialog endpoint={editing} onClose={() => setEditing(null)} />}
      {deleting && <DeleteDialog endpoint={deleting} onClose={() => setDeleting(null)} />}
      {rotating && (
        <RotateDialog
          endpoint={rotating}
          onClose={() => setRotating(null)}
          onRotated={(result) => {
            setRotating(null)
            setRotated(result)
          }}
        />
      )}
      {rotated && <RotatedDialog endpoint={rotated} onClose={() => setRotated(null)} />}
    </Card>
  )
}

function EndpointRow({
  endpoint,
  onEdit,
  onDelete,
  onRotate,
}: {
  endpoint: WebhookEndpoint
  onEdit: () => void
  onDelete: () => void
  onRotate: () => void
}) {
  const { t, formatDate } = useI18n()
  const [showLog, setShowLog] = useState(false)
  const [sendTest, test] = useSendTestMutation()
  const testError = useErrorMessage(useLocalizedError(test.error))
  const { health } = endpoint
  const rate = health.success_rate_24h

  return (
    <li
      className="space-y-3 py-4"
      aria-label={endpoint.url}
      data-testid="webhook-row"
      data-url={endpoint.url}
      data-health={health.status}
    >
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="min-w-0 space-y-1 text-sm">
          <div className="flex flex-wrap items-center gap-2">
            <code className="break-all font-mono text-sm text-slate-900">{endpoint.url}</code>
            <span data-testid="webhook-health">
              <HealthBadge health={health} />
            </span>
          </div>
          {endpoint.description && <p className="text-slate-600">{endpoint.description}</p>}
          <div className="flex flex-wrap gap-1">
            {endpoint.event_types.map((type) => (
              <Badge key={type}>{type}</Badge>
            ))}
          </div>
          {!endpoint.enabled && endpoint.disabled_reason && (
            <p className="text-amber-800">{t(`webhooks.disabledReason.${endpoint.disabled_reason}`)}</p>
          )}
          <p className="text-xs text-slate-500" data-testid="webhook-health-detail">
            {health.last_success_at
              ? t('webhooks.lastSuccess', { date: formatDate(health.last_success_at) })
              : t('webhooks.noSuccess')}
            {' · '}
            {t('webhooks.consecutiveFailures', { count: health.consecutive_failures })}
            {' · '}
            {rate === null
              ? t('webhooks.noDeliveries24h')
              : t('webhooks.successRate24h', { rate: Math.round(rate * 100), count: health.deliveries_24h })}
          </p>
          {endpoint.previous_secret_expires_at && (
            <p className="text-xs text-slate-500">
              {t('webhooks.previousSecretUntil', { date: formatDate(endpoint.previous_secret_expires_at) })}
            </p>
          )}
        </div>
        <div className="flex flex-wrap gap-2">
          <Button
            variant="secondary"
            busy={test.isLoading}
            data-testid="webhook-test"
            onClick={async () => {
              const result = await sendTest(endpoint.id)
              if ('data' in result) setShowLog(true)
            }}
          >
            {t('webhooks.sendTest')}
          </Button>
          <Button variant="secondary" data-testid="webhook-log-toggle" aria-expanded={showLog} onClick={() => setShowLog(!showLog)}>
            {showLog ? t('webhooks.hideLog') : t('webhooks.showLog')}
          </Button>
          <Button variant="secondary" data-testid="webhook-edit" onClick={onEdit}>
            {t('webhooks.edit')}
          </Button>
          <Button variant="secondary" data-testid="webhook-rotate" onClick={onRotate}>
            {t('webhooks.rotate')}
          </Button>
          <Button variant="ghost" data-testid="webhook-delete" onClick={onDelete}>
            {t('webhooks.delete')}
          </Button>
        </div>
      </div>
      {test.isSuccess && <Notice tone="success">{t('webhooks.testSent')}</Notice>}
      <ErrorBanner message={testError} />
      {showLog && <DeliveryLog endpointId={endpoint.id} />}
    </li>
  )
}

function EditDialog({ endpoint, onClose }: { endpoint: WebhookEndpoint; onClose: () => void }) {
  const { t } = useI18n()
  const [eventTypes, setEventTypes] = useState<string[]>(endpoint.event_types)
  const [description, setDescription] = useState(endpoint.description)
  const [enabled, setEnabled] = useState(endpoint.enabled)
  const [update, { isLoading, error }] = useUpdateEndpointMutation()
  const errors = useFormErrors(useLocalizedError(error), ['event_types', 'description', 'enabled'])

  async function submit(event?: FormEvent) {
    event?.preventDefault()
    const result = await update({ id: endpoint.id, event_types: [...eventTypes].sort(), description, enabled })
    if (!('error' in result)) onClose()
  }

  return (
    <Dialog
      title={t('webhooks.editTitle')}
      onClose={onClose}
      footer={
        <>
          <Button variant="secondary" onClick={onClose}>
            {t('common.cancel')}
          </Button>
          <Button busy={isLoading} onClick={() => submit()} data-testid="webhook-edit-save">
            {t('webhooks.save')}
          </Button>
        </>
      }
    >
      <form onSubmit={submit} className="space-y-4" data-testid="edit-webhook-form">
        <p className="break-all font-mono text-xs">{endpoint.url}</p>
        <ErrorBanner message={errors.banner} />
        <EventTypeChoices idPrefix="edit" value={eventTypes} onChange={setEventTypes} error={errors.fields.event_types} />
        <TextField
          label={t('webhooks.description')}
          name="description"
          value={description}
          onChange={(event) => setDescription(event.target.value)}
          error={errors.fields.description}
        />
        <label className="flex items-center gap-2 text-sm">
          <input
            type="checkbox"
            name="enabled"
            checked={enabled}
            onChange={(event) => setEnabled(event.target.checked)}
            className="h-4 w-4 rounded border-slate-300 text-indigo-600 focus:ring-indigo-500"
          />
          {t('webhooks.enabled')}
        </label>
      </form>
    </Dialog>
  )
}

function DeleteDialog({ endpoint, onClose }: { endpoint: WebhookEndpoint; onClose: () => void }) {
  const { t } = useI18n()
  const [remove, { isLoading, error }] = useDeleteEndpointMutation()
  const message = useErrorMessage(useLocalizedError(error))
  return (
    <ConfirmDialog
      title={t('webhooks.deleteTitle')}
      body={t('webhooks.deleteBody', { url: endpoint.url })}
      confirmLabel={t('webhooks.delete')}
      busy={isLoading}
      error={message}
      onCancel={onClose}
      onConfirm={async () => {
        const result = await remove(endpoint.id)
        if (!('error' in result)) onClose()
      }}
    />
  )
}

function RotateDialog({
  endpoint,
  onClose,
  onRotated,
}: {
  endpoint: WebhookEndpoint
  onClose: () => void
  onRotated: (endpoint: WebhookEndpointWithSecret) => void
}) {
  const { t } = useI18n()
  const [rotate, { isLoading, error }] = useRotateSecretMutation()
  const message = useErrorMessage(useLocalizedError(error))
  return (
    <ConfirmDialog
      title={t('webhooks.rotateTitle')}
      body={t('webhooks.rotateBody', { url: endpoint.url })}
      confirmLabel={t('webhooks.rotate')}
      busy={isLoading}
      error={message}
      onCancel={onClose}
      onConfirm={async () => {
        const request = rotate(endpoint.id)
        const result = await request
        if ('data' in result && result.data) {
          onRotated(result.data)
          request.reset()
        }
      }}
    />
  )
}

function RotatedDialog({ endpoint, onClose }: { endpoint: WebhookEndpointWithSecret; onClose: () => void }) {
  const { t, formatDate } = useI18n()
  return (
    <SecretDialog
      title={t('webhooks.rotatedTitle')}
      secret={endpoint.secret}
      note={
        endpoint.previous_secret_expires_at
          ? t('webhooks.oldSecretUntil', { date: formatDate(endpoint.previous_secret_expires_at) })
          : undefined
      }
      onClose={onClose}
    />
  )
}
