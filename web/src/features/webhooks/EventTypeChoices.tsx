import { useGetEventTypesQuery } from './webhooksApi'
import { Loading } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import { useI18n } from '../../i18n/I18nProvider'
import { ErrorBanner } from '../../components/ui'

/** The event types as checkboxes, from GET webhooks/event-types. */
export function EventTypeChoices({
  value,
  onChange,
  error,
  idPrefix,
}: {
  value: string[]
  onChange: (next: string[]) => void
  error?: string
  idPrefix: string
}) {
  const { t } = useI18n()
  const types = useGetEventTypesQuery()
  const message = useErrorMessage(types.error)
  const errorId = `${idPrefix}-event-types-error`
  return (
    <fieldset aria-describedby={error ? errorId : undefined}>
      <legend className="text-sm font-medium text-slate-700">{t('webhooks.eventTypes')}</legend>
      {types.isLoading && <Loading />}
      <ErrorBanner message={message} />
      <div className="mt-2 grid gap-2 sm:grid-cols-2">
        {(types.data ?? []).map((type) => (
          <label key={type.type} className="flex items-start gap-2 rounded-md border border-slate-200 p-2 text-sm hover:bg-slate-50">
            <input
              type="checkbox"
              name="event_types"
              value={type.type}
              checked={value.includes(type.type)}
              onChange={(event) =>
                onChange(event.target.checked ? [...value, type.type] : value.filter((v) => v !== type.type))
              }
              aria-invalid={error ? true : undefined}
              className="mt-0.5 h-4 w-4 rounded border-slate-300 text-indigo-600 focus:ring-indigo-500"
            />
            <span>
              <code className="font-mono text-xs text-slate-900">{type.type}</code>
              <span className="block text-slate-500">{type.description}</span>
            </span>
          </label>
        ))}
      </div>
      {error && (
        <p id={errorId} className="mt-1 text-sm text-red-600">
          {error}
        </p>
      )}
    </fieldset>
  )
}
