import { useState } from 'react'
import { apiSnippets } from './snippets'
import { Button } from '../../components/ui'
import { useI18n } from '../../i18n/I18nProvider'

function CodeBlock({ label, code, testId }: { label: string; code: string; testId: string }) {
  const { t } = useI18n()
  const [copied, setCopied] = useState<boolean | null>(null)
  return (
    <div className="space-y-1">
      <div className="flex items-center justify-between gap-2">
        <h3 className="text-sm font-medium text-slate-700">{label}</h3>
        <Button
          variant="ghost"
          aria-label={t('keys.snippetCopy', { label })}
          onClick={async () => {
            try {
              await navigator.clipboard.writeText(code)
              setCopied(true)
            } catch {
              setCopied(false)
            }
          }}
        >
          {copied ? t('common.copied') : t('common.copy')}
        </Button>
      </div>
      <pre
        data-testid={testId}
        className="overflow-x-auto rounded-md bg-slate-900 p-3 font-mono text-xs leading-relaxed text-slate-100"
      >
        <code>{code}</code>
      </pre>
      {copied === false && <p className="text-xs text-slate-500">{t('keys.copyFailed')}</p>}
    </div>
  )
}

/** curl and Python examples for this page's origin; with `apiKey`, they carry that key. */
export function ApiSnippets({ apiKey }: { apiKey?: string }) {
  const { t } = useI18n()
  const snippets = apiSnippets(window.location.origin, t('keys.snippetPrompt'), apiKey)
  return (
    <div className="space-y-3" data-testid="api-snippets">
      <CodeBlock label="curl" code={snippets.curl} testId="snippet-curl" />
      <CodeBlock label="Python" code={snippets.python} testId="snippet-python" />
    </div>
  )
}
