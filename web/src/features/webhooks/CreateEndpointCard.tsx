import { useState, type FormEvent } from 'react'
import { useCreateEndpointMutation } from './webhooksApi'
import { EventTypeChoices } from './EventTypeChoices'
import { useLocalizedError } from './errors'
import type { WebhookEndpointWithSecret } from './types'
import { Button, Card, ErrorBanner, TextField } from '../../components/ui'
import { useFormErrors } from '../../components/useFormErrors'
import { useI18n } from '../../i18n/I18nProvider'

const FIELDS = ['url', 'event_types', 'description'] as const

export function CreateEndpointCard({ onCreated }: { onCreated: (endpoint: WebhookEndpointWithSecret) => void }) {
  const { t } = useI18n()
  const [url, setUrl] = useState('')
  const [eventTypes, setEventTypes] = useState<string[]>([])
  const [description, setDescription] = useState('')
  const [create, { isLoading, error }] = useCreateEndpointMutation()
  const errors = useFormErrors(useLocalizedError(error), FIELDS)

  async function submit(event: FormEvent) {
    event.preventDefault()
    const request = create({ url: url.trim(), event_types: [...eventTypes].sort(), description })
    const result = await request
    if ('data' in result && result.data) {
      onCreated(result.data)
      // The secret is shown once, from the dialog's state: not kept in the store.
      request.reset()
      setUrl('')
      setEventTypes([])
      setDescription('')
    }
  }

  return (
    <Card title={t('webhooks.create')}>
      <form onSubmit={submit} className="space-y-4" data-testid="create-webhook-form">
        <ErrorBanner message={errors.banner} />
        <TextField
          label={t('webhooks.url')}
          name="url"
          type="url"
          required
          autoComplete="off"
          placeholder="https://example.com/pingvas/webhooks"
          value={url}
          onChange={(event) => setUrl(event.target.value)}
          error={errors.fields.url}
        />
        <EventTypeChoices idPrefix="create" value={eventTypes} onChange={setEventTypes} error={errors.fields.event_types} />
        <TextField
          label={t('webhooks.description')}
          name="description"
          autoComplete="off"
          value={description}
          onChange={(event) => setDescription(event.target.value)}
          error={errors.fields.description}
        />
        <Button type="submit" busy={isLoading}>
          {t('webhooks.createSubmit')}
        </Button>
      </form>
    </Card>
  )
}
