import { useEffect, useState, type FormEvent } from 'react'
import { useUpdateNotificationPreferencesMutation } from './mailApi'
import { NOTIFICATION_KEYS, type NotificationKey, type NotificationPreferences } from './types'
import { Button, ErrorBanner, Notice } from '../../components/ui'
import { useFormErrors } from '../../components/useFormErrors'
import { useI18n } from '../../i18n/I18nProvider'

export function PreferencesForm({ saved }: { saved: NotificationPreferences }) {
  const { t } = useI18n()
  // Only what the person changed; the rest follows what is saved (and a refetch).
  const [edits, setEdits] = useState<Partial<NotificationPreferences>>({})
  const [justSaved, setJustSaved] = useState(false)
  const [update, { isLoading, error, reset }] = useUpdateNotificationPreferencesMutation()
  const errors = useFormErrors(error, NOTIFICATION_KEYS)
  const draft: NotificationPreferences = { ...saved, ...edits }
  // What is saved changed (this save reached the cache, or a refetch): show exactly that.
  useEffect(() => setEdits({}), [saved])
  const changed = NOTIFICATION_KEYS.some((key) => draft[key] !== saved[key])

  function toggle(key: NotificationKey, on: boolean) {
    setEdits((current) => ({ ...current, [key]: on }))
    setJustSaved(false)
  }

  async function submit(event: FormEvent) {
    event.preventDefault()
    setJustSaved(false)
    const result = await update(draft)
    if (!('error' in result)) {
      reset()
      setJustSaved(true)
    }
  }

  return (
    <form onSubmit={submit} noValidate className="space-y-5" data-testid="notification-preferences">
      <ErrorBanner message={errors.banner} />
      <ul className="divide-y divide-slate-100">
        {NOTIFICATION_KEYS.map((key) => (
          <li key={key} className="py-3 first:pt-0">
            <Toggle
              name={key}
              label={t(`notifications.${key}`)}
              help={t(`notifications.${key}Help`)}
              checked={draft[key]}
              error={errors.fields[key]}
              onChange={(on) => toggle(key, on)}
            />
          </li>
        ))}
      </ul>
      <Notice>{t('notifications.alwaysSent')}</Notice>
      <div className="flex flex-wrap items-center gap-3">
        <Button type="submit" busy={isLoading} disabled={!changed}>
          {t('notifications.save')}
        </Button>
        {justSaved && !changed && (
          <span role="status" className="text-sm font-medium text-emerald-700" data-testid="notifications-saved">
            {t('notifications.saved')}
          </span>
        )}
      </div>
    </form>
  )
}

/** A checkbox shown as a switch; its problem (422 `errors[].field`) sits right under it. */
function Toggle({
  name,
  label,
  help,
  checked,
  error,
  onChange,
}: {
  name: string
  label: string
  help: string
  checked: boolean
  error?: string
  onChange: (on: boolean) => void
}) {
  const id = `notification-${name}`
  return (
    <div className="flex items-start justify-between gap-4">
      <div>
        <label htmlFor={id} className="block text-sm font-medium text-slate-900">
          {label}
        </label>
        <p id={`${id}-help`} className="mt-0.5 text-sm text-slate-500">
          {help}
        </p>
        {error && (
          <p id={`${id}-error`} className="mt-1 text-sm text-red-600">
            {error}
          </p>
        )}
      </div>
      <span className="relative inline-flex shrink-0 items-center">
        <input
          id={id}
          name={name}
          type="checkbox"
          role="switch"
          checked={checked}
          onChange={(event) => onChange(event.target.checked)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `${id}-error` : `${id}-help`}
          className="peer h-6 w-11 cursor-pointer appearance-none rounded-full bg-slate-300 transition checked:bg-indigo-600 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600"
        />
        <span
          aria-hidden="true"
          className="pointer-events-none absolute left-0.5 h-5 w-5 rounded-full bg-white shadow transition peer-checked:translate-x-5"
        />
      </span>
    </div>
  )
}
