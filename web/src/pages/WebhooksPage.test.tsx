import { screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it, vi } from 'vitest'
import { meFixture, mockApi, problem, renderApp } from '../test/utils'

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const NEW_SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD'
const URL = 'https://partner.example.com/hooks'
const EVENT_TYPES = {
  items: [
    { type: 'generation.completed', description: 'A generation finished.' },
    { type: 'generation.failed', description: 'A generation failed.' },
    { type: 'image.deleted', description: 'An image was deleted.' },
  ],
}
const HEALTHY = {
  status: 'healthy',
  last_attempt_at: '2026-12-06T01:00:00Z',
  last_success_at: '2026-12-06T01:00:00Z',
  consecutive_failures: 0,
  deliveries_24h: 4,
  success_rate_24h: 0.75,
}
const ENDPOINT = {
  id: 'ep1',
  url: URL,
  event_types: ['generation.completed'],
  description: 'Partner',
  enabled: true,
  disabled_reason: null,
  created_at: '2026-12-05T00:00:00Z',
  updated_at: '2026-12-05T00:00:00Z',
  previous_secret_expires_at: null,
  health: HEALTHY,
}
const PING = {
  id: 'msg_1',
  endpoint_id: 'ep1',
  event_type: 'ping',
  status: 'pending',
  attempt_count: 0,
  next_attempt_at: null,
  created_at: '2026-12-06T02:00:00Z',
  delivered_at: null,
  last_status_code: null,
  payload: { type: 'ping', timestamp: '2026-12-06T02:00:00Z', data: {} },
}
const DELIVERED = { ...PING, status: 'delivered', attempt_count: 1, last_status_code: 200, delivered_at: '2026-12-06T02:00:01Z' }
const ATTEMPT = {
  number: 1,
  attempted_at: '2026-12-06T02:00:01Z',
  status_code: 200,
  latency_ms: 42,
  error: null,
  response_body: '{"received": true}',
}
const page = (...items: unknown[]) => ({ body: { items, next_cursor: null } })

function admin(routes: Parameters<typeof mockApi>[0]) {
  return mockApi({ 'GET me': { body: meFixture('admin') }, 'GET webhooks/event-types': { body: EVENT_TYPES }, ...routes })
}

describe('Webhooks page', () => {
  it('creates an endpoint and shows its secret once, with a copy button', async () => {
    document.cookie = 'pv_csrf=tok; path=/'
    const { callsTo } = admin({
      'GET webhooks/endpoints': [{ body: { items: [] } }, { body: { items: [{ ...ENDPOINT, health: { ...HEALTHY, status: 'new' } }] } }],
      'POST webhooks/endpoints': { status: 201, body: { ...ENDPOINT, secret: SECRET } },
    })
    const { store } = renderApp('/webhooks')
    const user = userEvent.setup()
    const writeText = vi.fn().mockResolvedValue(undefined)
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true })

    expect(await screen.findByRole('link', { name: 'Webhooks' })).toHaveAttribute('href', '/webhooks')
    expect(await screen.findByText('No endpoints yet.')).toBeInTheDocument()
    await user.type(screen.getByLabelText('Endpoint URL'), URL)
    await user.click(await screen.findByRole('checkbox', { name: /image\.deleted/ }))
    await user.click(screen.getByRole('checkbox', { name: /generation\.completed/ }))
    await user.type(screen.getByLabelText('Description (optional)'), 'Partner')
    await user.click(screen.getByRole('button', { name: 'Add endpoint' }))

    const dialog = await screen.findByRole('dialog', { name: 'Your endpoint’s signing secret' })
    expect(within(dialog).getByLabelText('Signing secret')).toHaveValue(SECRET)
    expect(within(dialog).getByText(/It will not be shown again/)).toBeInTheDocument()
    const [post] = callsTo('POST webhooks/endpoints')
    expect(post.body).toEqual({ url: URL, event_types: ['generation.completed', 'image.deleted'], description: 'Partner' })
    expect(post.headers.get('X-CSRF-Token')).toBe('tok')
    await user.click(within(dialog).getByRole('button', { name: 'Copy' }))
    expect(writeText).toHaveBeenCalledWith(SECRET)

    expect(JSON.stringify(store.getState())).not.toContain(SECRET)
    await user.click(within(dialog).getByRole('button', { name: 'Done' }))
    const row = await screen.findByRole('listitem', { name: URL })
    expect(within(row).getByText('New')).toBeInTheDocument()
    expect(document.body.innerHTML).not.toContain(SECRET)
  })

  it('lists endpoints with their health', async () => {
    admin({
      'GET webhooks/endpoints': {
        body: {
          items: [
            ENDPOINT,
            {
              ...ENDPOINT,
              id: 'ep2',
              url: 'https://gone.example.com/x',
              enabled: false,
              disabled_reason: 'gone',
              health: { ...HEALTHY, status: 'disabled', last_success_at: null, consecutive_failures: 3, success_rate_24h: null, deliveries_24h: 0 },
            },
          ],
        },
      },
    })
    renderApp('/webhooks')
    const healthy = await screen.findByRole('listitem', { name: URL })
    expect(within(healthy).getByText('Healthy')).toBeInTheDocument()
    expect(within(healthy).getByTestId('webhook-health-detail')).toHaveTextContent(
      /Last success .+ · 0 failures in a row · 75% of 4 deliveries succeeded in 24 h/,
    )
    const gone = screen.getByRole('listitem', { name: 'https://gone.example.com/x' })
    expect(within(gone).getByText('Disabled')).toBeInTheDocument()
    expect(within(gone).getByText('Disabled: the endpoint answered 410 Gone.')).toBeInTheDocument()
    expect(within(gone).getByTestId('webhook-health-detail')).toHaveTextContent(
      'No successful delivery yet · 3 failures in a row · No deliveries in 24 h',
    )
  })

  it('explains a refused private address in the user’s language', async () => {
    const refused = problem(422, 'Unprocessable Content', {
      type: 'https://pingvas.dev/problems/webhook_url_forbidden',
      code: 'webhook_url_forbidden',
      detail: 'The host resolves to 10.0.0.1, a private address.',
      errors: [{ field: 'url', message: 'The host resolves to 10.0.0.1, a private address.', code: 'webhook_url_forbidden' }],
    })
    admin({ 'GET webhooks/endpoints': { body: { items: [] } }, 'POST webhooks/endpoints': refused })
    renderApp('/webhooks', { locale: 'ko' })
    const user = userEvent.setup()
    await user.type(await screen.findByLabelText('엔드포인트 URL'), 'http://10.0.0.1/hook')
    await user.click(await screen.findByRole('checkbox', { name: /generation\.failed/ }))
    await user.click(screen.getByRole('button', { name: '엔드포인트 추가' }))
    const message = await screen.findByText(/사설, 로컬 또는 내부 주소/)
    expect(screen.getByLabelText('엔드포인트 URL')).toHaveAccessibleDescription(message.textContent!)
    expect(screen.queryByText(/10\.0\.0\.1, a private address/)).not.toBeInTheDocument()
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument()
  })

  it('rotates the secret: the new one once, and until when the old one works', async () => {
    const { callsTo } = admin({
      'GET webhooks/endpoints': { body: { items: [ENDPOINT] } },
      'POST webhooks/endpoints/ep1/rotate-secret': {
        body: { ...ENDPOINT, previous_secret_expires_at: '2026-12-07T02:00:00Z', secret: NEW_SECRET },
      },
    })
    renderApp('/webhooks')
    const user = userEvent.setup()
    const row = await screen.findByRole('listitem', { name: URL })
    await user.click(within(row).getByRole('button', { name: 'Rotate secret' }))
    const confirm = screen.getByRole('dialog', { name: 'Rotate the signing secret' })
    expect(confirm).toHaveTextContent('The old one keeps working for 24 hours')
    expect(callsTo('POST webhooks/endpoints/ep1/rotate-secret')).toHaveLength(0)
    await user.click(within(confirm).getByRole('button', { name: 'Rotate secret' }))

    const dialog = await screen.findByRole('dialog', { name: 'Your new signing secret' })
    expect(within(dialog).getByLabelText('Signing secret')).toHaveValue(NEW_SECRET)
    expect(within(dialog).getByTestId('webhook-secret-note')).toHaveTextContent(/The old secret keeps working until .*2026/)
    await user.click(within(dialog).getByRole('button', { name: 'Done' }))
    expect(document.body.innerHTML).not.toContain(NEW_SECRET)
  })

  it('sends a test event, follows it until delivered, shows its attempts and redelivers', async () => {
    const { callsTo } = admin({
      'GET webhooks/endpoints': { body: { items: [ENDPOINT] } },
      'POST webhooks/endpoints/ep1/test': { status: 202, body: PING },
      // pending at first: the log asks again until it settles
      'GET webhooks/endpoints/ep1/deliveries': [page(PING), page(DELIVERED)],
      'GET webhooks/deliveries/msg_1': { body: { ...DELIVERED, attempts: [ATTEMPT] } },
      'POST webhooks/deliveries/msg_1/redeliver': { status: 202, body: { ...DELIVERED, status: 'pending' } },
    })
    renderApp('/webhooks')
    const user = userEvent.setup()
    const row = await screen.findByRole('listitem', { name: URL })
    await user.click(within(row).getByRole('button', { name: 'Send test event' }))
    expect(await within(row).findByText('A ping event is on its way.')).toBeInTheDocument()
    expect(callsTo('POST webhooks/endpoints/ep1/test')).toHaveLength(1)

    const log = await within(row).findByTestId('delivery-log')
    const pending = await within(log).findByRole('row', { name: /ping/ })
    expect(pending).toHaveAttribute('data-status', 'pending')
    const delivered = await waitFor(
      () => {
        const r = within(log).getByRole('row', { name: /ping/ })
        expect(r).toHaveAttribute('data-status', 'delivered')
        return r
      },
      { timeout: 5000 },
    )
    expect(within(delivered).getByText('Delivered')).toBeInTheDocument()
    expect(within(delivered).getByTestId('delivery-status-code')).toHaveTextContent('200')
    expect(callsTo('GET webhooks/endpoints/ep1/deliveries').length).toBeGreaterThanOrEqual(2)

    await user.click(delivered)
    const detail = await within(log).findByTestId('delivery-detail')
    const attempt = await within(detail).findByTestId('delivery-attempt')
    expect(attempt).toHaveTextContent('42 ms')
    expect(attempt).toHaveTextContent('{"received": true}')
    expect(within(attempt).getByTestId('attempt-status-code')).toHaveTextContent('200')

    await user.click(within(detail).getByRole('button', { name: 'Redeliver' }))
    expect(await within(detail).findByText('Queued again; it will be sent shortly.')).toBeInTheDocument()
    expect(callsTo('POST webhooks/deliveries/msg_1/redeliver')).toHaveLength(1)
  })

  it('edits an endpoint and deletes one after confirmation', async () => {
    const { callsTo } = admin({
      'GET webhooks/endpoints': [{ body: { items: [ENDPOINT] } }, { body: { items: [{ ...ENDPOINT, enabled: false }] } }, { body: { items: [] } }],
      'PATCH webhooks/endpoints/ep1': { body: { ...ENDPOINT, enabled: false } },
      'DELETE webhooks/endpoints/ep1': { status: 204 },
    })
    renderApp('/webhooks')
    const user = userEvent.setup()
    let row = await screen.findByRole('listitem', { name: URL })
    await user.click(within(row).getByRole('button', { name: 'Edit' }))
    const dialog = screen.getByRole('dialog', { name: 'Edit endpoint' })
    await user.click(await within(dialog).findByRole('checkbox', { name: /generation\.failed/ }))
    await user.click(within(dialog).getByRole('checkbox', { name: 'Enabled (sends events)' }))
    await user.clear(within(dialog).getByLabelText('Description (optional)'))
    await user.type(within(dialog).getByLabelText('Description (optional)'), 'Both')
    await user.click(within(dialog).getByRole('button', { name: 'Save' }))
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument())
    expect(callsTo('PATCH webhooks/endpoints/ep1')[0].body).toEqual({
      event_types: ['generation.completed', 'generation.failed'],
      description: 'Both',
      enabled: false,
    })

    row = await screen.findByRole('listitem', { name: URL })
    await user.click(within(row).getByRole('button', { name: 'Delete' }))
    const confirm = screen.getByRole('dialog', { name: 'Delete endpoint' })
    expect(confirm).toHaveTextContent(`Delete ${URL}?`)
    expect(callsTo('DELETE webhooks/endpoints/ep1')).toHaveLength(0)
    await user.click(within(confirm).getByRole('button', { name: 'Delete' }))
    expect(await screen.findByText('No endpoints yet.')).toBeInTheDocument()
    expect(callsTo('DELETE webhooks/endpoints/ep1')).toHaveLength(1)
  })

  it('is not offered to members', async () => {
    mockApi({ 'GET me': { body: meFixture('member') } })
    renderApp('/webhooks')
    expect(await screen.findByText('Your role in this team does not allow this.')).toBeInTheDocument()
    expect(screen.queryByRole('link', { name: 'Webhooks' })).not.toBeInTheDocument()
  })
})
