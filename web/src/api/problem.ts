import type { FetchBaseQueryError } from '@reduxjs/toolkit/query'
import type { SerializedError } from '@reduxjs/toolkit'

/** RFC 9457 problem details as the Pingvas services send them. */
export interface Problem {
  type?: string
  title?: string
  status?: number
  detail?: string
  /** The stable code (also the last part of `type`). */
  code?: string
  errors?: { field: string; message: string; code?: string }[]
}

/** The problem's stable code: `code`, else the last part of `type`. */
export function problemCode(problem: Problem | null): string | undefined {
  if (problem?.code) return problem.code
  const type = problem?.type
  if (!type || type === 'about:blank') return undefined
  return type.split('/').pop() || undefined
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
  /** The text for a problem code in the user's language (`problem.<code>`), if there is one. */
  byCode?: (code: string) => string | undefined
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
  const problem = problemOf(error)
  const fields: Record<string, string> = {}
  const leftover: string[] = []
  for (const item of problem?.errors ?? []) {
    const name = fieldName(item.field ?? '')
    const message = (item.code && messages.byCode?.(item.code)) || item.message
    if (knownFields.includes(name)) {
      fields[name] = fields[name] ? `${fields[name]} ${message}` : message
    } else {
      leftover.push(message)
    }
  }
  if (Object.keys(fields).length > 0 && leftover.length === 0) {
    return { fields, banner: null }
  }
  if (leftover.length > 0) {
    return { fields, banner: leftover.join(' ') }
  }
  const status = httpStatus(error)
  if (status === 429) return { fields, banner: messages.rateLimited }
  if (messages.sessionRevoked && status === 401 && problem?.type?.endsWith('/session_revoked')) {
    return { fields, banner: messages.sessionRevoked }
  }
  if (messages.emailNotVerified && problem?.type?.endsWith('/email-not-verified')) {
    return { fields, banner: messages.emailNotVerified }
  }
  const code = problemCode(problem)
  const known = code ? messages.byCode?.(code) : undefined
  return { fields, banner: known || problem?.detail || problem?.title || messages.generic }
}
