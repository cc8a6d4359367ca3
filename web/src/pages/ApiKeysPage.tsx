import { useState } from 'react'
import { type CreatedApiKey } from '../features/apiKeys/types'
import { PageTitle } from '../components/Layouts'
import { useI18n } from '../i18n/I18nProvider'
import { CreateKeyCard } from '../features/apiKeys/CreateKeyCard'
import { CreatedKeyDialog } from '../features/apiKeys/CreatedKeyDialog'
import { KeysCard } from '../features/apiKeys/KeysCard'
import { ApiReferenceCard } from '../features/apiKeys/ApiReferenceCard'

export function ApiKeysPage() {
  const { t } = useI18n()
  // The whole key lives only here, only until the dialog closes.
  const [created, setCreated] = useState<CreatedApiKey | null>(null)
  return (
    <>
      <PageTitle subtitle={t('keys.intro')}>{t('keys.title')}</PageTitle>
      <CreateKeyCard onCreated={setCreated} />
      <KeysCard />
      <ApiReferenceCard />
      {created && <CreatedKeyDialog apiKey={created} onClose={() => setCreated(null)} />}
    </>
  )
}
