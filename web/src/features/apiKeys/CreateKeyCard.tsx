import { codeOf, problemOf } from '../../api/problem'
import { ResendVerificationButton } from '../session/ResendVerification'
import { useState, type FormEvent } from 'react'
import { useCreateApiKeyMutation } from './apiKeysApi'
import { SCOPES, type CreatedApiKey, type Scope } from './types'
import { Button, Card, ErrorBanner, TextField } from '../../components/ui'
import { useFormErrors } from '../../components/useFormErrors'
import { useI18n } from '../../i18n/I18nProvider'

const FIELDS = ['name', 'scopes'] as const

export function CreateKeyCard({ onCreated }: { onCreated: (key: CreatedApiKey) => void }) {
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
        {codeOf(problemOf(error)) === 'email-not-verified' && <ResendVerificationButton />}
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
