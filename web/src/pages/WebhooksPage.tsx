import { useState } from 'react'
import { PageTitle } from '../components/Layouts'
import { useI18n } from '../i18n/I18nProvider'
import { CreateEndpointCard } from '../features/webhooks/CreateEndpointCard'
import { EndpointsCard } from '../features/webhooks/EndpointsCard'
import { SecretDialog } from '../features/webhooks/SecretDialog'
import type { WebhookEndpointWithSecret } from '../features/webhooks/types'

export function WebhooksPage() {
  const { t } = useI18n()
  // The signing secret lives only here, only until the dialog closes.
  const [created, setCreated] = useState<WebhookEndpointWithSecret | null>(null)
  return (
    <>
      <PageTitle subtitle={t('webhooks.intro')} testId="webhooks-title">
        {t('webhooks.title')}
      </PageTitle>
      <CreateEndpointCard onCreated={setCreated} />
      <EndpointsCard />
      {created && (
        <SecretDialog
          title={t('webhooks.createdTitle')}
          secret={created.secret}
          note={t('webhooks.createdNote', { url: created.url })}
          onClose={() => setCreated(null)}
        />
      )}
    </>
  )
}
