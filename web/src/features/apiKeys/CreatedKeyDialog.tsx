import { useState } from 'react'
import { ApiSnippets } from './ApiSnippets'
import { type CreatedApiKey } from './types'
import { Button, Dialog } from '../../components/ui'
import { useI18n } from '../../i18n/I18nProvider'

export function CreatedKeyDialog({ apiKey, onClose }: { apiKey: CreatedApiKey; onClose: () => void }) {
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
      <p className="text-slate-600">{t('keys.tryIt')}</p>
      <ApiSnippets apiKey={apiKey.key} />
    </Dialog>
  )
}
