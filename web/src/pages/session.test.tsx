import { screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { meFixture, mockApi, problem, renderApp } from '../test/utils'

describe('sessions and mail links', () => {
  it('sends a signed-out visitor to log-in and back where they were', async () => {
    let loggedIn = false
    const { callsTo } = mockApi({
      'GET me': () => (loggedIn ? { body: meFixture('owner') } : problem(401, 'Unauthorized')),
      'POST auth/refresh': problem(401, 'Unauthorized'),
      'POST auth/login': () => {
        loggedIn = true
        return { body: { user: meFixture().user } }
      },
      'GET members': { body: [] },
      'GET invitations': { body: [] },
    })
    renderApp('/team')
    const user = userEvent.setup()
    expect(await screen.findByRole('heading', { name: 'Log in' })).toBeInTheDocument()

    await user.type(screen.getByLabelText('Email'), 'ada@example.com')
    await user.type(screen.getByLabelText('Password'), 'correct horse')
    await user.click(screen.getByRole('button', { name: 'Log in' }))

    expect(await screen.findByRole('heading', { name: 'Team' })).toBeInTheDocument()
    expect(callsTo('POST auth/login')[0].body).toEqual({ email: 'ada@example.com', password: 'correct horse' })
  })

  it('shows a generic log-in error in the banner', async () => {
    mockApi({ 'POST auth/login': problem(401, 'Unauthorized', { code: 'wrong-credentials', detail: 'Wrong email or password.' }) })
    renderApp('/login')
    const user = userEvent.setup()
    await user.type(screen.getByLabelText('Email'), 'ada@example.com')
    await user.type(screen.getByLabelText('Password'), 'wrong')
    await user.click(screen.getByRole('button', { name: 'Log in' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('Wrong email or password.')
  })

  it('verifies the email from ?token= exactly once', async () => {
    const { callsTo } = mockApi({ 'POST auth/verify-email': { body: {} } })
    renderApp('/verify-email?token=abc123')
    expect(await screen.findByText('Your email address is verified.')).toBeInTheDocument()
    expect(callsTo('POST auth/verify-email').map((c) => c.body)).toEqual([{ token: 'abc123' }])
  })

  it('resets the password with the token from ?token=', async () => {
    const { callsTo } = mockApi({ 'POST auth/password-reset/confirm': { status: 204 } })
    renderApp('/reset-password?token=rst')
    const user = userEvent.setup()
    await user.type(screen.getByLabelText('New password'), 'new password 1')
    await user.type(screen.getByLabelText('Repeat the new password'), 'new password 2')
    await user.click(screen.getByRole('button', { name: 'Save new password' }))
    expect(screen.getByLabelText('Repeat the new password')).toHaveAccessibleDescription('The passwords do not match.')
    expect(callsTo('POST auth/password-reset/confirm')).toHaveLength(0)

    await user.clear(screen.getByLabelText('Repeat the new password'))
    await user.type(screen.getByLabelText('Repeat the new password'), 'new password 1')
    await user.click(screen.getByRole('button', { name: 'Save new password' }))
    expect(await screen.findByText(/Your password has been changed/)).toBeInTheDocument()
    expect(callsTo('POST auth/password-reset/confirm')[0].body).toEqual({ token: 'rst', password: 'new password 1' })
  })

  it('asks to revoke the owned teams\' API keys only when the box is ticked', async () => {
    const { callsTo } = mockApi({ 'POST auth/password-reset/confirm': { status: 204 } })
    renderApp('/reset-password?token=rst')
    const user = userEvent.setup()
    await user.type(screen.getByLabelText('New password'), 'new password 1')
    await user.type(screen.getByLabelText('Repeat the new password'), 'new password 1')
    await user.click(screen.getByLabelText(/Also revoke the API keys of the teams I own/))
    await user.click(screen.getByRole('button', { name: 'Save new password' }))
    expect(await screen.findByText(/Your password has been changed/)).toBeInTheDocument()
    expect(callsTo('POST auth/password-reset/confirm')[0].body).toEqual({
      token: 'rst',
      password: 'new password 1',
      revoke_api_keys: true,
    })
  })

  it('lets a new user accept an invitation with a name and password', async () => {
    let accepted = false
    const { callsTo } = mockApi({
      'GET invitations/inv1': { body: { tenant_name: 'Acme', role: 'admin', email: 'bo@example.com', expired: false } },
      'GET me': () => (accepted ? { body: meFixture('admin') } : problem(401, 'Unauthorized')),
      'POST auth/refresh': problem(401, 'Unauthorized'),
      'POST invitations/inv1/accept': () => {
        accepted = true
        return { body: { user: meFixture().user } }
      },
    })
    renderApp('/invitations/inv1')
    const user = userEvent.setup()
    expect(await screen.findByText('You are invited to join Acme as Admin.')).toBeInTheDocument()
    expect(screen.getByLabelText('Email')).toHaveValue('bo@example.com')
    await user.type(screen.getByLabelText('Name'), 'Bo')
    await user.type(screen.getByLabelText('Password'), 'a long password')
    await user.click(screen.getByRole('button', { name: 'Accept invitation' }))

    expect(await screen.findByRole('heading', { name: /Welcome/ })).toBeInTheDocument()
    expect(callsTo('POST invitations/inv1/accept')[0].body).toEqual({ name: 'Bo', password: 'a long password' })
  })

  it('switches tenant from the header', async () => {
    let tenant = 't1'
    const me = () => ({
      body: meFixture('owner', {
        memberships: [
          { tenant_id: 't1', tenant_name: 'Acme', role: 'owner' },
          { tenant_id: 't2', tenant_name: 'Globex', role: 'member' },
        ],
        tenant: tenant === 't1' ? { id: 't1', name: 'Acme', slug: 'acme' } : { id: 't2', name: 'Globex', slug: 'globex' },
        role: tenant === 't1' ? 'owner' : 'member',
      }),
    })
    const { callsTo } = mockApi({
      'GET me': me,
      'POST auth/switch-tenant': (request) => {
        tenant = (request.body as { tenant_id: string }).tenant_id
        return { body: {} }
      },
    })
    renderApp('/')
    const user = userEvent.setup()
    expect(await screen.findByText('Team: Acme')).toBeInTheDocument()
    expect(screen.getByRole('link', { name: 'API keys' })).toBeInTheDocument()

    await user.selectOptions(screen.getByRole('combobox', { name: 'Switch team' }), 'Globex · Member')
    expect(await screen.findByText('Team: Globex')).toBeInTheDocument()
    expect(callsTo('POST auth/switch-tenant')[0].body).toEqual({ tenant_id: 't2' })
    await waitFor(() => expect(screen.queryByRole('link', { name: 'API keys' })).not.toBeInTheDocument())
  })

  it('shows the credits left and logs out from the account menu in the header, on any page', async () => {
    const { callsTo } = mockApi({
      'GET me': { body: meFixture() },
      'GET entitlements': { body: { plan: 'free', credits_available: 42, credits_balance: 50 } },
      'POST auth/logout': { status: 204 },
    })
    renderApp('/team')
    const user = userEvent.setup()
    expect(await screen.findByTestId('header-credits')).toHaveTextContent('Credits left: 42')
    await user.click(screen.getByRole('button', { name: /Ada/ }))
    const menu = screen.getByRole('menu', { name: 'Your account' })
    expect(menu).toHaveTextContent('ada@example.com')
    await user.click(screen.getByRole('menuitem', { name: 'Log out' }))
    expect(await screen.findByRole('heading', { name: 'Log in' })).toBeInTheDocument()
    expect(callsTo('POST auth/logout')).toHaveLength(1)
  })
})

describe('a person in no team', () => {
  it('gets a notice instead of the app (GET me answers no tenant and no role)', async () => {
    mockApi({ 'GET me': { body: meFixture('owner', { memberships: [], tenant: null, role: null }) } })
    renderApp('/team')
    expect(await screen.findByRole('heading', { name: 'No team' })).toBeInTheDocument()
    expect(screen.getByTestId('no-team')).toHaveTextContent('You are not a member of any team now.')
    expect(screen.queryByRole('navigation')).not.toBeInTheDocument()
  })
})
