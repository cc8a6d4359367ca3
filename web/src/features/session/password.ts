/** The browser's half of the one password rule (tenants' domain/passwords.py): the length
 * limits come from GET auth/password-policy; the name and address check is the same as the
 * server's. Only the server knows the common-password list (`password-too-weak`). */
import type { components } from '../../api/schema'

export type PasswordPolicy = components['schemas']['PasswordPolicyOut']

export type PasswordProblem =
  | 'password-too-short'
  | 'password-too-long'
  | 'password-too-weak'
  | 'password-contains-personal'

/** What the server assumes until the policy has loaded (the same numbers). */
export const DEFAULT_POLICY: PasswordPolicy = {
  min_length: 10,
  max_length: 128,
  refuses_common: true,
  refuses_personal: true,
}

// Shorter than these, a whole name or local part, and a word of either, are not looked for.
const WHOLE_MIN = 3
const WORD_MIN = 4

function personalParts(email?: string, name?: string): string[] {
  const wholes: string[] = []
  const words: string[] = []
  if (email) {
    const local = email.split('@', 1)[0].normalize('NFKC').toLowerCase()
    wholes.push(local)
    words.push(...local.split(/[._+-]+/))
  }
  if (name) {
    const lowered = name.normalize('NFKC').toLowerCase()
    wholes.push(lowered.replace(/\s+/g, ''))
    words.push(...lowered.split(/[\s._-]+/))
  }
  return [...wholes.filter((w) => w.length >= WHOLE_MIN), ...words.filter((w) => w.length >= WORD_MIN)]
}

/** The first rule `password` breaks that the browser can tell, or null. Length counts code
 * points, as Python's len() does. */
export function passwordProblem(
  password: string,
  policy: PasswordPolicy,
  person: { email?: string; name?: string } = {},
): PasswordProblem | null {
  const length = [...password].length
  if (length < policy.min_length) return 'password-too-short'
  if (length > policy.max_length) return 'password-too-long'
  if (policy.refuses_personal) {
    const folded = password.normalize('NFKC').toLowerCase()
    if (personalParts(person.email, person.name).some((part) => folded.includes(part))) {
      return 'password-contains-personal'
    }
  }
  return null
}
