import type { FetchBaseQueryError } from '@reduxjs/toolkit/query'
import type { SerializedError } from '@reduxjs/toolkit'
import { en, type MessageKey } from '../i18n/en'

type Vars = Record<string, string | number>
type Translate = (key: MessageKey, vars?: Vars) => string

/** One field of a 422: where, a stable `code`, and what was allowed (`params`). */
export interface ProblemField {
  field: string
  /** English, for developers; people see the text looked up by `code`. */
  message: string
  code?: string
  params?: Vars
}

/** RFC 9457 problem details as the Pingvas services send them. */
export interface Problem {
  type?: string
  title?: string
  status?: number
  detail?: string
  /** Stable: `problem.<code>` in web/src/i18n is its text. */
  code?: string
  errors?: ProblemField[]
  [member: string]: unknown
}

export type ApiError = FetchBaseQueryError | SerializedError | undefined

export function httpStatus(error: ApiError): number | undefined {
  if (!error || !('status' in error)) return undefined
  if (typeof error.status === 'number') return error.status
  if (error.status === 'PARSING_ERROR') return error.originalStatus
  return undefined
}

export function problemOf(error: ApiError): Problem | null {
  if (!error || !('status' in error) || !('data' in error)) return null
  const data = error.data
  if (data && typeof data === 'object') return data as Problem
  return null
}

/** The problem's stable code: `code`, or the last part of `type` (older answers). */
export function codeOf(problem: { code?: unknown; type?: unknown } | null | undefined): string | undefined {
  if (typeof problem?.code === 'string' && problem.code) return problem.code
  const last = typeof problem?.type === 'string' ? problem.type.split('/').pop() : undefined
  // not a status number, not about:blank
  return last && /^[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*$/.test(last) ? last : undefined
}

/** The kit's names of status-only problems (pingvas_kit.problems.STATUS_CODES), for an
 * answer without a code (a proxy's page, an older service). */
const STATUS_CODES: Record<number, string> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  410: 'gone',
  413: 'too-large',
  422: 'validation-failed',
  429: 'rate-limited',
  500: 'internal-error',
  502: 'bad-gateway',
  503: 'unavailable',
  504: 'gateway-timeout',
}

function messageKey(key: string): MessageKey | undefined {
  return key in en ? (key as MessageKey) : undefined
}

/** The problem's members a text can quote ({credits_available}, ...). */
function varsOf(problem: Problem): Vars {
  const vars: Vars = {}
  for (const [name, value] of Object.entries(problem)) {
    if (typeof value === 'number' || typeof value === 'string') vars[name] = value
  }
  return vars
}

/** `problem.<code>` in the reader's language, or null when the code has no text. */
export function problemText(problem: Problem | null, t: Translate, status?: number): string | null {
  const code = codeOf(problem) ?? (status ? STATUS_CODES[status] : undefined)
  const key = code ? messageKey(`problem.${code}`) : undefined
  return key ? t(key, problem ? varsOf(problem) : {}) : null
}

/** One field's error in the reader's language: `problem.field.<code>` with its params, else
 * the field-less text of the same code, else a generic "not valid" (never the English). */
export function fieldText(item: ProblemField, t: Translate): string {
  const code = item.code ?? 'invalid'
  const key = messageKey(`problem.field.${code}`) ?? messageKey(`problem.${code}`) ?? 'problem.field.invalid'
  return t(key, item.params ?? {})
}

/** `body.email` and `email` both name the form field `email`. */
export function fieldName(field: string): string {
  return field.replace(/^body\./, '')
}

export interface ErrorMessages {
  network: string
  rateLimited: string
  generic: string
  /** For `email-not-verified` (inviting, making API keys, generating before verifying). */
  emailNotVerified?: string
  /** For a 401 `session_revoked`: the session was ended (password reset, removed from the team, team deleted). */
  sessionRevoked?: string
  /** Looks each code's text up (`problem.<code>`, `problem.field.<code>`); without it the
   * server's English `detail` and `message` are shown. */
  t?: Translate
}

export interface FormErrors {
  /** Messages keyed by form field, for the fields the form has. */
  fields: Record<string, string>
  /** Everything else, for the banner; null when all of it sits next to a field. */
  banner: string | null
}

export function formErrors(error: ApiError, knownFields: readonly string[], messages: ErrorMessages): FormErrors {
  if (!error) return { fields: {}, banner: null }
  if ('status' in error && error.status === 'FETCH_ERROR') {
    return { fields: {}, banner: messages.network }
  }
  const { t } = messages
  const problem = problemOf(error)
  const fields: Record<string, string> = {}
  const leftover: string[] = []
  for (const item of problem?.errors ?? []) {
    const name = fieldName(item.field ?? '')
    const text = t ? fieldText(item, t) : item.message
    if (knownFields.includes(name)) {
      fields[name] = fields[name] ? `${fields[name]} ${text}` : text
    } else if (t) {
      // a code of its own says enough without the field; a generic one ("required") does not
      const own = item.code ? messageKey(`problem.${item.code}`) : undefined
      const whole = own ? t(own, item.params ?? {}) : (problemText(problem, t) ?? messages.generic)
      if (!leftover.includes(whole)) leftover.push(whole)
    } else {
      leftover.push(text)
    }
  }
  if (Object.keys(fields).length > 0 && leftover.length === 0) {
    return { fields, banner: null }
  }
  if (leftover.length > 0) {
    return { fields, banner: leftover.join(' ') }
  }
  const status = httpStatus(error)
  const code = codeOf(problem)
  if (messages.sessionRevoked && status === 401 && code === 'session_revoked') {
    return { fields, banner: messages.sessionRevoked }
  }
  if (messages.emailNotVerified && code === 'email-not-verified') {
    return { fields, banner: messages.emailNotVerified }
  }
  if (t) {
    // a precise code's text; a bare 429 names the wait, anything unknown the generic text
    const text = problemText(problem, t, status)
    if (text && !(status === 429 && (code ?? 'rate-limited') === 'rate-limited')) return { fields, banner: text }
    return { fields, banner: status === 429 ? messages.rateLimited : messages.generic }
  }
  if (status === 429) return { fields, banner: messages.rateLimited }
  return { fields, banner: problem?.detail || problem?.title || messages.generic }
}
