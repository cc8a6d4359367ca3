/** The served password rule (GET auth/password-policy) as hooks: its numbers, and the
 * browser's check as a message in the user's language. */
import { useI18n } from '../../i18n/I18nProvider'
import { DEFAULT_POLICY, passwordProblem, type PasswordPolicy, type PasswordProblem } from './password'
import { useGetPasswordPolicyQuery } from './sessionApi'

export function usePasswordPolicy(): PasswordPolicy {
  const { data } = useGetPasswordPolicyQuery()
  return data ?? DEFAULT_POLICY
}

/** The rule's numbers, for the texts of its codes ({min}, {max}). */
export function usePasswordVars(): Record<string, number> {
  const policy = usePasswordPolicy()
  return { min: policy.min_length, max: policy.max_length }
}

/** The browser's check, as a message in the user's language (null: nothing to say). */
export function usePasswordCheck(): (password: string, person?: { email?: string; name?: string }) => string | null {
  const { t } = useI18n()
  const policy = usePasswordPolicy()
  return (password, person) => {
    const problem: PasswordProblem | null = passwordProblem(password, policy, person)
    return problem ? t(`problem.${problem}`, { min: policy.min_length, max: policy.max_length }) : null
  }
}
