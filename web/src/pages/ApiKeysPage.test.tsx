import { screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it, vi } from 'vitest'
import { meFixture, mockApi, problem, renderApp } from '../test/utils'

const SECRET = 'pvk_ab12cd34_S3cr3tS3cr3tS3cr3tS3cr3tS3cr3tXY'
const LISTED = {
  id: 'k1',
  name: 'CI',
  prefix: 'ab12cd34',
  scopes: ['images:read', 'search:read'],
  created_at: '2025-01-02T03:04:05Z',
  last_used_at: null,
  revoked_at: null,
}

describe('API keys page', () => {
  it('shows a new key once, with a copy button', async () => {
    document.cookie = 'pv_csrf=tok; path=/'
    const { calls } = mockApi({
      'GET me': { body: meFixture('admin') },
      'GET api-keys': [{ body: [] }, { body: [LISTED] }],
      'POST api-keys': { status: 201, body: { ...LISTED, key: SECRET } },
    })
    const { store } = renderApp('/api-keys')
    const user = userEvent.setup()
    // After setup(), which installs its own clipboard stub.
    const writeText = vi.fn().mockResolvedValue(undefined)
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true })

    await user.type(await screen.findByLabelText('Key name'), 'CI')
    await user.click(screen.getByRole('checkbox', { name: /images:read/ }))
    await user.click(screen.getByRole('checkbox', { name: /search:read/ }))
    await user.click(screen.getByRole('button', { name: 'Create key' }))

    const dialog = await screen.findByRole('dialog', { name: 'Your new API key' })
    expect(within(dialog).getByLabelText('API key CI')).toHaveValue(SECRET)
    expect(within(dialog).getByText(/It will not be shown again/)).toBeInTheDocument()
    const post = calls.find((c) => c.method === 'POST')!
    expect(post.body).toEqual({ name: 'CI', scopes: ['images:read', 'search:read'] })
    expect(post.headers.get('X-CSRF-Token')).toBe('tok')

    await user.click(within(dialog).getByRole('button', { name: 'Copy' }))
    expect(writeText).toHaveBeenCalledWith(SECRET)
    expect(within(dialog).getByRole('button', { name: 'Copied' })).toBeInTheDocument()

    // The secret is kept nowhere else: not in the store, not in the list.
    expect(JSON.stringify(store.getState())).not.toContain(SECRET)
    await user.click(within(dialog).getByRole('button', { name: 'Done' }))
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument()
    expect(await screen.findByRole('listitem', { name: 'CI' })).toHaveTextContent('pvk_ab12cd34_…')
    expect(document.body.innerHTML).not.toContain(SECRET)
  })

  it('revokes a key after confirmation', async () => {
    const { callsTo } = mockApi({
      'GET me': { body: meFixture('admin') },
      'GET api-keys': [{ body: [LISTED] }, { body: [{ ...LISTED, revoked_at: '2025-02-01T00:00:00Z' }] }],
      'DELETE api-keys/k1': { status: 204 },
    })
    renderApp('/api-keys')
    const user = userEvent.setup()
    const row = await screen.findByRole('listitem', { name: 'CI' })
    await user.click(within(row).getByRole('button', { name: 'Revoke' }))

    const dialog = screen.getByRole('dialog', { name: 'Revoke API key' })
    expect(callsTo('DELETE api-keys/k1')).toHaveLength(0)
    await user.click(within(dialog).getByRole('button', { name: 'Revoke' }))

    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument())
    expect(callsTo('DELETE api-keys/k1')).toHaveLength(1)
    expect(await within(screen.getByRole('listitem', { name: 'CI' })).findByText('Revoked')).toBeInTheDocument()
  })

  it('shows scope errors from the API under the scopes', async () => {
    mockApi({
      'GET me': { body: meFixture('admin') },
      'GET api-keys': { body: [] },
      'POST api-keys': problem(422, 'Validation failed', {
        errors: [{ field: 'scopes', message: 'List should have at least 1 item after validation, not 0', code: 'too-few-items', params: { min_length: 1 } }],
      }),
    })
    renderApp('/api-keys')
    const user = userEvent.setup()
    await user.type(await screen.findByLabelText('Key name'), 'Empty')
    await user.click(screen.getByRole('button', { name: 'Create key' }))
    expect(await screen.findByText('Choose at least 1.')).toBeInTheDocument()
    expect(screen.getByRole('group', { name: 'Scopes' })).toHaveAccessibleDescription('Choose at least 1.')
    expect(screen.queryByText(/List should have/)).not.toBeInTheDocument()
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument()
  })

  it('links the API reference and shows curl and Python examples for this origin', async () => {
    mockApi({
      'GET me': { body: meFixture('admin') },
      'GET api-keys': [{ body: [] }, { body: [LISTED] }],
      'POST api-keys': { status: 201, body: { ...LISTED, key: SECRET } },
    })
    renderApp('/api-keys')
    const user = userEvent.setup()
    const origin = window.location.origin
    expect(await screen.findByRole('link', { name: 'API reference' })).toHaveAttribute('href', '/api/docs')
    const page = screen.getByTestId('api-snippets')
    const curl = within(page).getByTestId('snippet-curl').textContent!
    expect(curl).toContain('curl -H "Authorization: Bearer $PINGVAS_API_KEY"')
    expect(curl).toContain(`${origin}/api/v1/generations`)
    expect(curl).toContain(`-d '{"prompt":"a lighthouse at dawn","model":"sdxl-turbo"}'`)
    const python = within(page).getByTestId('snippet-python').textContent!
    expect(python).toContain('from pingvas_client import Pingvas')
    expect(python).toContain(`client = Pingvas(api_key=os.environ["PINGVAS_API_KEY"], base_url="${origin}")`)
    expect(python).toContain('job = client.generate(prompt="a lighthouse at dawn", model="sdxl-turbo")')
    expect(python).toContain('print(client.images.get(image_id).url)')

    const writeText = vi.fn().mockResolvedValue(undefined)
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true })
    await user.click(within(page).getByRole('button', { name: 'Copy the curl example' }))
    expect(writeText).toHaveBeenCalledWith(curl)

    // once created, the dialog's examples carry the new key (and only the dialog)
    await user.type(screen.getByLabelText('Key name'), 'CI')
    await user.click(screen.getByRole('checkbox', { name: /images:read/ }))
    await user.click(screen.getByRole('button', { name: 'Create key' }))
    const dialog = await screen.findByRole('dialog', { name: 'Your new API key' })
    expect(within(dialog).getByTestId('snippet-curl')).toHaveTextContent(`export PINGVAS_API_KEY='${SECRET}'`)
    expect(within(dialog).getByTestId('snippet-python')).toHaveTextContent(`Pingvas(api_key="${SECRET}", base_url="${origin}")`)
    expect(within(page).getByTestId('snippet-curl')).not.toHaveTextContent(SECRET)
    await user.click(within(dialog).getByRole('button', { name: 'Done' }))
    expect(document.body.innerHTML).not.toContain(SECRET)
  })

  it('offers the examples in Korean too', async () => {
    mockApi({ 'GET me': { body: meFixture('owner') }, 'GET api-keys': { body: [] } })
    renderApp('/api-keys', { locale: 'ko' })
    expect(await screen.findByRole('link', { name: 'API 레퍼런스' })).toHaveAttribute('href', '/api/docs')
    expect(screen.getByRole('heading', { name: 'API 사용하기' })).toBeInTheDocument()
    expect(screen.getByTestId('snippet-python')).toHaveTextContent('prompt="새벽의 등대"')
  })

  it('is not offered to members', async () => {
    mockApi({ 'GET me': { body: meFixture('member') } })
    renderApp('/api-keys')
    expect(await screen.findByText('Your role in this team does not allow this.')).toBeInTheDocument()
    expect(screen.queryByRole('link', { name: 'API keys' })).not.toBeInTheDocument()
  })
})
