import { useState } from 'react'
import { useGetApiKeysQuery, useRevokeApiKeyMutation } from './apiKeysApi'
import { type ApiKey } from './types'
import { Badge, Button, Card, ConfirmDialog, ErrorBanner, Loading } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import { useI18n } from '../../i18n/I18nProvider'

export function KeysCard() {
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
