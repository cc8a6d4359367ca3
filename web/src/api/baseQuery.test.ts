import { describe, expect, it } from 'vitest'
import { makeStore } from '../app/store'
import { meFixture, mockApi, problem } from '../test/utils'
import { apiKeysApi } from '../features/apiKeys/apiKeysApi'
import { sessionApi } from '../features/session/sessionApi'
import { teamApi } from '../features/team/teamApi'

function setCsrfCookie(value: string) {
  document.cookie = `pv_csrf=${value}; path=/`
}

describe('base query', () => {
  it('sends the web client header and cookies, and no CSRF header on GET', async () => {
    setCsrfCookie('csrf-1')
    const { calls } = mockApi({ 'GET me': { body: meFixture() } })
    const store = makeStore()
    const result = await store.dispatch(sessionApi.endpoints.getMe.initiate())
    expect(result.data?.user.email).toBe('ada@example.com')
    expect(calls).toHaveLength(1)
    expect(calls[0].headers.get('X-Pingvas-Client')).toBe('web')
    expect(calls[0].credentials).toBe('include')
    expect(calls[0].headers.has('X-CSRF-Token')).toBe(false)
  })

  it('sends the pv_csrf cookie as X-CSRF-Token on unsafe methods', async () => {
    setCsrfCookie('csrf-2')
    const { calls } = mockApi({
      'POST invitations': { status: 201, body: { email: 'bo@example.com', role: 'member' } },
      'DELETE api-keys/k1': { status: 204 },
      'PATCH members/u2': { body: {} },
    })
    const store = makeStore()
    await store.dispatch(teamApi.endpoints.invite.initiate({ email: 'bo@example.com', role: 'member' }))
    await store.dispatch(apiKeysApi.endpoints.revokeApiKey.initiate('k1'))
    await store.dispatch(teamApi.endpoints.changeRole.initiate({ user_id: 'u2', role: 'admin' }))
    expect(calls.map((c) => `${c.method} ${c.headers.get('X-CSRF-Token')}`)).toEqual([
      'POST csrf-2',
      'DELETE csrf-2',
      'PATCH csrf-2',
    ])
    expect(calls[2].body).toEqual({ role: 'admin' })
  })

  it('on 401 refreshes once and retries the request', async () => {
    setCsrfCookie('csrf-3')
    const { calls } = mockApi({
      'GET me': [problem(401, 'Unauthorized'), { body: meFixture() }],
      'POST auth/refresh': { body: {} },
    })
    const store = makeStore()
    const result = await store.dispatch(sessionApi.endpoints.getMe.initiate())
    expect(result.data?.tenant?.name).toBe('Acme')
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(['GET me', 'POST auth/refresh', 'GET me'])
    expect(calls[1].headers.get('X-CSRF-Token')).toBe('csrf-3')
    expect(calls[1].headers.get('X-Pingvas-Client')).toBe('web')
  })

  it('gives up after one failed refresh', async () => {
    const { calls } = mockApi({
      'GET me': problem(401, 'Unauthorized'),
      'POST auth/refresh': problem(401, 'Unauthorized'),
    })
    const store = makeStore()
    const result = await store.dispatch(sessionApi.endpoints.getMe.initiate())
    expect(result.error).toMatchObject({ status: 401 })
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(['GET me', 'POST auth/refresh'])
  })

  it('retries only once even when the retry is refused again', async () => {
    const { calls } = mockApi({
      'GET members': problem(401, 'Unauthorized'),
      'POST auth/refresh': { body: {} },
    })
    const store = makeStore()
    const result = await store.dispatch(teamApi.endpoints.getMembers.initiate())
    expect(result.error).toMatchObject({ status: 401 })
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(['GET members', 'POST auth/refresh', 'GET members'])
  })

  it('does not refresh when log-in itself is refused', async () => {
    const { calls } = mockApi({ 'POST auth/login': problem(401, 'Invalid email or password') })
    const store = makeStore()
    const result = await store.dispatch(sessionApi.endpoints.logIn.initiate({ email: 'a@b.c', password: 'x' }))
    expect(result.error).toMatchObject({ status: 401 })
    expect(calls).toHaveLength(1)
  })

  it('shares one refresh between concurrent 401s', async () => {
    const { callsTo } = mockApi({
      'GET me': [problem(401, 'Unauthorized'), { body: meFixture() }],
      'GET api-keys': [problem(401, 'Unauthorized'), { body: [] }],
      'POST auth/refresh': { body: {} },
    })
    const store = makeStore()
    const [me, keys] = await Promise.all([
      store.dispatch(sessionApi.endpoints.getMe.initiate()),
      store.dispatch(apiKeysApi.endpoints.getApiKeys.initiate()),
    ])
    expect(me.data).toBeDefined()
    expect(keys.data).toEqual([])
    expect(callsTo('POST auth/refresh')).toHaveLength(1)
  })

  it('on 403 email-not-verified refreshes once and retries: the address was verified elsewhere', async () => {
    setCsrfCookie('csrf-4')
    const notVerified = problem(403, 'Forbidden', { type: 'https://pingvas.dev/problems/email-not-verified' })
    const { calls } = mockApi({
      'POST invitations': [notVerified, { status: 201, body: { email: 'bo@example.com', role: 'member' } }],
      'POST auth/refresh': { body: {} },
    })
    const store = makeStore()
    const result = await store.dispatch(teamApi.endpoints.invite.initiate({ email: 'bo@example.com', role: 'member' }))
    expect(result.error).toBeUndefined()
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'POST invitations',
      'POST auth/refresh',
      'POST invitations',
    ])
  })

  it('does not refresh on other 403s', async () => {
    const { calls } = mockApi({ 'POST invitations': problem(403, 'Forbidden', { code: 'forbidden' }) })
    const store = makeStore()
    const result = await store.dispatch(teamApi.endpoints.invite.initiate({ email: 'bo@example.com', role: 'member' }))
    expect(result.error).toMatchObject({ status: 403 })
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST invitations'])
  })
})
