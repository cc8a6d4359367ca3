import { useState, type FormEvent } from 'react'
import { useCreateApiKeyMutation, useGetApiKeysQuery, useRevokeApiKeyMutation } from '../features/apiKeys/apiKeysApi'
import { SCOPES, type ApiKey, type CreatedApiKey, type Scope } from '../api/types'
import { PageTitle } from '../components/Layouts'
import { Badge, Button, Card, ConfirmDialog, Dialog, ErrorBanner, Loading, TextField } from '../components/ui'
import { useErrorMessage, useFormErrors } from '../components/useFormErrors'
import { useI18n } from '../i18n/I18nProvider'

export function ApiKeysPage() {
  const { t } = useI18n()
  // The whole key lives only here, only until the dialog closes.
  const [created, setCreated] = useState<CreatedApiKey | null>(null)
  return (
    <>
      <PageTitle subtitle={t('keys.intro')}>{t('keys.title')}</PageTitle>
      <CreateKeyCard onCreated={setCreated} />
      <KeysCard />
      {created && <CreatedKeyDialog apiKey={created} onClose={() => setCreated(null)} />}
    </>
  )
}

const FIELDS = ['name', 'scopes'] as const

function CreateKeyCard({ onCreated }: { onCreated: (key: CreatedApiKey) => void }) {
  const { t } = useI18n()
  const [name, setName] = useState('')
  const [scopes, setScopes] = useState<Scope[]>([])
  const [create, { isLoading, error }] = useCreateApiKeyMutation()
  const errors = useFormErrors(error, FIELDS)

  function toggle(scope: Scope, on: boolean) {
    setScopes((current) => (on ? [...current, scope] : current.filter((s) => s !== scope)))
  }

  async function submit(event: FormEvent) {
    event.preventDefault()
    const request = create({ name, scopes: SCOPES.filter((s) => scopes.includes(s)) })
    const result = await request
    if ('data' in result && result.data) {
      onCreated(result.data)
      // Drop the key from the store too: it is shown once, from the dialog's state.
      request.reset()
      setName('')
      setScopes([])
    }
  }

  return (
    <Card title={t('keys.create')}>
      <form onSubmit={submit} className="space-y-4" data-testid="create-key-form">
        <ErrorBanner message={errors.banner} />
        <TextField
          label={t('field.keyName')}
          name="name"
          required
          autoComplete="off"
          value={name}
          onChange={(event) => setName(event.target.value)}
          error={errors.fields.name}
        />
        <fieldset aria-describedby={errors.fields.scopes ? 'scopes-error' : undefined}>
          <legend className="text-sm font-medium text-slate-700">{t('field.scopes')}</legend>
          <div className="mt-2 grid gap-2 sm:grid-cols-2">
            {SCOPES.map((scope) => (
              <label key={scope} className="flex items-start gap-2 rounded-md border border-slate-200 p-2 text-sm hover:bg-slate-50">
                <input
                  type="checkbox"
                  name="scopes"
                  value={scope}
                  checked={scopes.includes(scope)}
                  onChange={(event) => toggle(scope, event.target.checked)}
                  aria-invalid={errors.fields.scopes ? true : undefined}
                  className="mt-0.5 h-4 w-4 rounded border-slate-300 text-indigo-600 focus:ring-indigo-500"
                />
                <span>
                  <code className="font-mono text-xs text-slate-900">{scope}</code>
                  <span className="block text-slate-500">{t(`scope.${scope}`)}</span>
                </span>
              </label>
            ))}
          </div>
          {errors.fields.scopes && (
            <p id="scopes-error" className="mt-1 text-sm text-red-600">
              {errors.fields.scopes}
            </p>
          )}
        </fieldset>
        <Button type="submit" busy={isLoading}>
          {t('keys.createSubmit')}
        </Button>
      </form>
    </Card>
  )
}

function CreatedKeyDialog({ apiKey, onClose }: { apiKey: CreatedApiKey; onClose: () => void }) {
  const { t } = useI18n()
  const [copied, setCopied] = useState<boolean | null>(null)

  async function copy() {
    try {
      await navigator.clipboard.writeText(apiKey.key)
      setCopied(true)
    } catch {
      setCopied(false)
    }
  }

  return (
    <Dialog
      title={t('keys.createdTitle')}
      onClose={onClose}
      footer={
        <Button onClick={onClose} data-testid="created-key-done">
          {t('keys.done')}
        </Button>
      }
    >
      <p className="font-medium text-amber-800">{t('keys.showOnce')}</p>
      <div className="flex flex-col gap-2 sm:flex-row">
        <label htmlFor="created-key" className="sr-only">
          {t('keys.keyLabel', { name: apiKey.name })}
        </label>
        <input
          id="created-key"
          data-testid="created-key"
          readOnly
          value={apiKey.key}
          onFocus={(event) => event.target.select()}
          className="min-w-0 flex-1 rounded-md border border-slate-300 bg-slate-50 px-3 py-2 font-mono text-xs text-slate-900"
        />
        <Button variant="secondary" onClick={copy}>
          {copied ? t('common.copied') : t('common.copy')}
        </Button>
      </div>
      <p aria-live="polite" className="text-xs text-slate-500">
        {copied === true && t('keys.copiedHelp')}
        {copied === false && t('keys.copyFailed')}
      </p>
    </Dialog>
  )
}

function KeysCard() {
  const { t, formatDate } = useI18n()
  const keys = useGetApiKeysQuery()
  const message = useErrorMessage(keys.error)
  const [revoking, setRevoking] = useState<ApiKey | null>(null)

  return (
    <Card title={t('keys.list')}>
      {keys.isLoading && <Loading />}
      <ErrorBanner message={message} />
      {keys.data && keys.data.length === 0 && <p className="text-sm text-slate-500">{t('keys.none')}</p>}
      {keys.data && keys.data.length > 0 && (
        <ul className="divide-y divide-slate-100">
          {keys.data.map((key) => (
            <li
              key={key.id}
              className="flex flex-wrap items-start justify-between gap-3 py-4"
              aria-label={key.name}
              data-testid="api-key-row"
              data-key-name={key.name}
              data-state={key.revoked_at ? 'revoked' : 'active'}
            >
              <div className="min-w-0 space-y-1 text-sm">
                <div className="flex flex-wrap items-center gap-2">
                  <span className="font-medium text-slate-900">{key.name}</span>
                  <span data-testid="api-key-state">
                    {key.revoked_at ? <Badge tone="red">{t('keys.revoked')}</Badge> : <Badge tone="green">{t('keys.active')}</Badge>}
                  </span>
                </div>
                <code className="block font-mono text-xs text-slate-600">pvk_{key.prefix.replace(/^pvk_/, '')}_…</code>
                <div className="flex flex-wrap gap-1">
                  {key.scopes.map((scope) => (
                    <Badge key={scope}>{scope}</Badge>
                  ))}
                </div>
                <p className="text-xs text-slate-500">
                  {t('keys.created', { date: formatDate(key.created_at) })} ·{' '}
                  {key.last_used_at ? t('keys.lastUsed', { date: formatDate(key.last_used_at) }) : t('keys.neverUsed')}
                  {key.revoked_at && <> · {t('keys.revokedAt', { date: formatDate(key.revoked_at) })}</>}
                </p>
              </div>
              {!key.revoked_at && (
                <Button variant="secondary" data-testid="api-key-revoke" onClick={() => setRevoking(key)}>
                  {t('keys.revoke')}
                </Button>
              )}
            </li>
          ))}
        </ul>
      )}
      {revoking && <RevokeDialog apiKey={revoking} onClose={() => setRevoking(null)} />}
    </Card>
  )
}

function RevokeDialog({ apiKey, onClose }: { apiKey: ApiKey; onClose: () => void }) {
  const { t } = useI18n()
  const [revoke, { isLoading, error }] = useRevokeApiKeyMutation()
  const message = useErrorMessage(error)
  return (
    <ConfirmDialog
      title={t('keys.revokeTitle')}
      body={t('keys.revokeBody', { name: apiKey.name })}
      confirmLabel={t('keys.revoke')}
      busy={isLoading}
      error={message}
      onCancel={onClose}
      onConfirm={async () => {
        const result = await revoke(apiKey.id)
        if (!('error' in result)) onClose()
      }}
    />
  )
}
