/** A new password's field: the hint and the browser's check come from the served rule
 * (GET auth/password-policy), so they say what the server will say. */
import { TextField } from '../../components/ui'
import { useI18n } from '../../i18n/I18nProvider'
import { usePasswordPolicy } from './usePassword'

export function NewPasswordField({
  label,
  value,
  onChange,
  error,
  name = 'password',
}: {
  label: string
  value: string
  onChange: (value: string) => void
  error?: string
  name?: string
}) {
  const { t } = useI18n()
  const policy = usePasswordPolicy()
  return (
    <TextField
      label={label}
      name={name}
      type="password"
      autoComplete="new-password"
      required
      value={value}
      onChange={(event) => onChange(event.target.value)}
      error={error}
      hint={t('password.hint', { min: policy.min_length, max: policy.max_length })}
    />
  )
}
