import { render } from '@testing-library/react'
import { Provider } from 'react-redux'
import { MemoryRouter } from 'react-router-dom'
import { vi } from 'vitest'
import { App } from '../App'
import { makeStore } from '../app/store'
import { DEFAULT_POLICY } from '../features/session/password'
import type { Me, Role } from '../features/session/types'
import { I18nProvider, type Locale } from '../i18n/I18nProvider'

export interface RecordedRequest {
  method: string
  path: string
  headers: Headers
  credentials: RequestCredentials
  body: unknown
}

type Reply = { status?: number; body?: unknown; contentType?: string }
type Handler = (request: RecordedRequest) => Reply | undefined

/**
 * Stubs `fetch` with a table keyed by "METHOD path" (path after /api/v1/, query included).
 * A value may be a list: each call takes the next reply and the last one repeats.
 */
export function mockApi(routes: Record<string, Reply | Reply[] | Handler>) {
  const calls: RecordedRequest[] = []
  const used: Record<string, number> = {}
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init)
    const url = new URL(request.url)
    const path = url.pathname.replace(/^\/api\/v1\//, '') + url.search
    const text = await request.text()
    const recorded: RecordedRequest = {
      method: request.method,
      path,
      headers: request.headers,
      credentials: request.credentials,
      body: text ? JSON.parse(text) : undefined,
    }
    const key = `${request.method} ${path}`
    // The password rule is static and public: every test has it, unrecorded, unless it mocks it.
    if (key === 'GET auth/password-policy' && !(key in routes)) {
      return problemResponse({ body: DEFAULT_POLICY })
    }
    calls.push(recorded)
    const route = routes[key]
    let reply: Reply | undefined
    if (typeof route === 'function') {
      reply = route(recorded)
    } else if (Array.isArray(route)) {
      const index = Math.min(used[key] ?? 0, route.length - 1)
      used[key] = (used[key] ?? 0) + 1
      reply = route[index]
    } else {
      reply = route
    }
    if (!reply) {
      return problemResponse({ status: 404, body: { title: `No mock for ${key}`, status: 404 } })
    }
    return problemResponse(reply)
  })
  vi.stubGlobal('fetch', fetchMock)
  return { calls, fetchMock, callsTo: (key: string) => calls.filter((c) => `${c.method} ${c.path}` === key) }
}

function problemResponse({ status = 200, body, contentType }: Reply): Response {
  if (status === 204 || body === undefined) return new Response(null, { status })
  const type = contentType ?? (status >= 400 ? 'application/problem+json' : 'application/json')
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': type } })
}

export function problem(status: number, title: string, extra: Record<string, unknown> = {}): Reply {
  return { status, body: { type: 'about:blank', title, status, ...extra } }
}

export function meFixture(role: Role = 'owner', overrides: Partial<Me> = {}): Me {
  return {
    user: { id: 'u1', email: 'ada@example.com', name: 'Ada', locale: 'en', email_verified: true },
    memberships: [{ tenant_id: 't1', tenant_name: 'Acme', role }],
    tenant: { id: 't1', name: 'Acme', slug: 'acme' },
    role,
    platform_roles: [],
    ...overrides,
  }
}

/** `locale: null` lets the provider detect it as in a browser. */
export function renderApp(route: string, { locale = 'en' }: { locale?: Locale | null } = {}) {
  const store = makeStore()
  const utils = render(
    <Provider store={store}>
      <I18nProvider initialLocale={locale ?? undefined}>
        <MemoryRouter initialEntries={[route]}>
          <App />
        </MemoryRouter>
      </I18nProvider>
    </Provider>,
  )
  return { store, ...utils }
}
