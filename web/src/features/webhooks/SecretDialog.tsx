import { useState, type ReactNode } from 'react'
import { Button, Dialog } from '../../components/ui'
import { useI18n } from '../../i18n/I18nProvider'

/** A signing secret, shown this once (as the API keys' created-key dialog shows a key). */
export function SecretDialog({
  title,
  secret,
  note,
  onClose,
}: {
  title: string
  secret: string
  note?: ReactNode
  onClose: () => void
}) {
  const { t } = useI18n()
  const [copied, setCopied] = useState<boolean | null>(null)

  async function copy() {
    try {
      await navigator.clipboard.writeText(secret)
      setCopied(true)
    } catch {
      setCopied(false)
    }
  }

  return (
    <Dialog
      title={title}
      onClose={onClose}
      footer={
        <Button onClick={onClose} data-testid="webhook-secret-done">
          {t('keys.done')}
        </Button>
      }
    >
      <p className="font-medium text-amber-800">{t('webhooks.secretShowOnce')}</p>
      {note && <p data-testid="webhook-secret-note">{note}</p>}
      <div className="flex flex-col gap-2 sm:flex-row">
        <label htmlFor="webhook-secret" className="sr-only">
          {t('webhooks.secretLabel')}
        </label>
        <input
          id="webhook-secret"
          data-testid="webhook-secret"
          readOnly
          value={secret}
          onFocus={(event) => event.target.select()}
          className="min-w-0 flex-1 rounded-md border border-slate-300 bg-slate-50 px-3 py-2 font-mono text-xs text-slate-900"
        />
        <Button variant="secondary" onClick={copy}>
          {copied ? t('common.copied') : t('common.copy')}
        </Button>
      </div>
      <p aria-live="polite" className="text-xs text-slate-500">
        {copied === true && t('webhooks.secretCopied')}
        {copied === false && t('webhooks.secretCopyFailed')}
      </p>
    </Dialog>
  )
}
