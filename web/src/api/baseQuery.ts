import {
  fetchBaseQuery,
  type BaseQueryFn,
  type FetchArgs,
  type FetchBaseQueryError,
} from '@reduxjs/toolkit/query/react'
import { CSRF_COOKIE, CSRF_HEADER, isUnsafeMethod, readCookie } from './csrf'

export const API_PREFIX = '/api/v1/'

// Absolute so that Request() also resolves it outside a browser (tests run in jsdom).
function apiBaseUrl(): string {
  return new URL(API_PREFIX, window.location.origin).href
}

// Parse any JSON body (problem+json included, which the 'content-type' handler would
// treat as text); fall back to the raw text for proxies that answer with HTML.
async function jsonOrText(response: Response): Promise<unknown> {
  const text = await response.text()
  if (!text) return null
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

const rawBaseQuery = fetchBaseQuery({
  baseUrl: '/',
  credentials: 'include',
  responseHandler: jsonOrText,
})

/** Calls that are part of signing in; a 401 from them means "wrong credentials", not "expired". */
const NO_REFRESH = [
  'auth/login',
  'auth/signup',
  'auth/refresh',
  'auth/logout',
  'auth/verify-email',
  'auth/password-reset',
]

function withSessionHeaders(args: string | FetchArgs): FetchArgs {
  const request: FetchArgs = typeof args === 'string' ? { url: args } : { ...args }
  const headers = new Headers(request.headers as HeadersInit | undefined)
  headers.set('X-Pingvas-Client', 'web')
  if (isUnsafeMethod(request.method)) {
    // Read on every call: the gateway may rotate the cookie (log-in, refresh).
    const csrf = readCookie(CSRF_COOKIE)
    if (csrf) headers.set(CSRF_HEADER, csrf)
  }
  request.headers = headers
  request.url = apiBaseUrl() + request.url.replace(/^\/+/, '')
  return request
}

/** A 403 for an address not verified yet: the access token may be older than the verification
 * (followed in another browser or device), so a refreshed token may say "verified". */
function isEmailNotVerified(result: { error?: FetchBaseQueryError }): boolean {
  const error = result.error
  if (error?.status !== 403 || !error.data || typeof error.data !== 'object') return false
  const data = error.data as { type?: unknown; code?: unknown }
  return data.code === 'email-not-verified' || (typeof data.type === 'string' && data.type.endsWith('/email-not-verified'))
}

function pathOf(args: string | FetchArgs): string {
  return (typeof args === 'string' ? args : args.url).replace(/^\/+/, '')
}

// Concurrent 401s share one refresh: the refresh token rotates, so a second
// parallel refresh would present an already-used token and revoke the session.
let refreshing: Promise<boolean> | null = null

export const baseQuery: BaseQueryFn<string | FetchArgs, unknown, FetchBaseQueryError> = async (
  args,
  api,
  extraOptions,
) => {
  let result = await rawBaseQuery(withSessionHeaders(args), api, extraOptions)
  const path = pathOf(args)
  const expired = result.error?.status === 401 && !NO_REFRESH.some((p) => path.startsWith(p))
  if (!expired && !isEmailNotVerified(result)) {
    return result
  }
  if (!refreshing) {
    refreshing = (async () => {
      const refreshed = await rawBaseQuery(
        withSessionHeaders({ url: 'auth/refresh', method: 'POST', body: {} }),
        api,
        extraOptions,
      )
      return !refreshed.error
    })().finally(() => {
      refreshing = null
    })
  }
  if (await refreshing) {
    result = await rawBaseQuery(withSessionHeaders(args), api, extraOptions)
  }
  return result
}
