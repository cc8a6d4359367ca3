import { useId } from 'react'
import { useNavigate } from 'react-router-dom'
import { useSwitchTenantMutation } from '../features/session/sessionApi'
import type { TeamMe } from '../features/session/types'
import { useI18n } from '../i18n/I18nProvider'
import { useErrorMessage } from './useFormErrors'

/** Shows the current team; with several memberships, switching re-issues the session for the chosen one. */
export function TenantSwitcher({ me }: { me: TeamMe }) {
  const { t } = useI18n()
  const id = useId()
  const navigate = useNavigate()
  const [switchTenant, { isLoading, error }] = useSwitchTenantMutation()
  const message = useErrorMessage(error)

  if (me.memberships.length <= 1) {
    return (
      <span className="max-w-[12rem] truncate text-sm font-medium text-slate-700" title={me.tenant.name}>
        {me.tenant.name}
      </span>
    )
  }
  return (
    <div className="flex flex-col">
      <label htmlFor={id} className="sr-only">
        {t('tenant.switch')}
      </label>
      <select
        id={id}
        value={me.tenant.id}
        disabled={isLoading}
        aria-invalid={message ? true : undefined}
        aria-describedby={message ? `${id}-error` : undefined}
        onChange={async (event) => {
          const result = await switchTenant({ tenant_id: event.target.value })
          if (!('error' in result)) navigate('/')
        }}
        className="max-w-[14rem] rounded-md border border-slate-300 bg-white px-2 py-1 text-sm font-medium text-slate-800 focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200"
      >
        {me.memberships.map((membership) => (
          <option key={membership.tenant_id} value={membership.tenant_id}>
            {membership.tenant_name} · {t(`role.${membership.role}`)}
          </option>
        ))}
      </select>
      {message && (
        <span id={`${id}-error`} role="alert" className="text-xs text-red-600">
          {message}
        </span>
      )}
    </div>
  )
}
