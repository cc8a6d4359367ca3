import { screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { meFixture, mockApi, problem, renderApp } from '../test/utils'

const MEMBERS = [
  { user_id: 'u1', email: 'ada@example.com', name: 'Ada', role: 'owner', joined_at: '2025-01-01T00:00:00Z' },
  { user_id: 'u2', email: 'bo@example.com', name: 'Bo', role: 'member', joined_at: '2025-01-05T00:00:00Z' },
]

describe('team page', () => {
  it('changes a role, removes a member after confirming, and invites', async () => {
    const { callsTo } = mockApi({
      'GET me': { body: meFixture('owner') },
      'GET members': { body: MEMBERS },
      'GET invitations': [{ body: [] }, { body: [{ id: 'i1', email: 'cy@example.com', role: 'admin' }] }],
      'PATCH members/u2': { body: {} },
      'DELETE members/u2': { status: 204 },
      'POST invitations': [
        problem(422, 'Validation failed', { errors: [{ field: 'email', message: 'value is not a valid email address', code: 'not-an-email' }] }),
        { status: 201, body: { id: 'i1', email: 'cy@example.com', role: 'admin' } },
      ],
    })
    renderApp('/team')
    const user = userEvent.setup()

    await user.selectOptions(await screen.findByRole('combobox', { name: 'Role of Bo' }), 'Admin')
    await waitFor(() => expect(callsTo('PATCH members/u2')).toHaveLength(1))
    expect(callsTo('PATCH members/u2')[0].body).toEqual({ role: 'admin' })
    // Nobody edits their own role here.
    expect(screen.queryByRole('combobox', { name: 'Role of Ada' })).not.toBeInTheDocument()

    await user.click(screen.getByRole('button', { name: 'Remove' }))
    const dialog = screen.getByRole('dialog', { name: 'Remove member' })
    await user.click(within(dialog).getByRole('button', { name: 'Remove' }))
    await waitFor(() => expect(callsTo('DELETE members/u2')).toHaveLength(1))

    const email = screen.getByRole('textbox', { name: 'Email' })
    await user.type(email, 'cy@example')
    await user.selectOptions(screen.getByRole('combobox', { name: 'Role' }), 'Admin')
    await user.click(screen.getByRole('button', { name: 'Send invitation' }))
    expect(await screen.findByText('Enter a valid email address.')).toBeInTheDocument()
    expect(email).toHaveAttribute('aria-invalid', 'true')

    await user.type(email, '.com')
    await user.click(screen.getByRole('button', { name: 'Send invitation' }))
    expect(await screen.findByText('Invitation sent to cy@example.com.')).toBeInTheDocument()
    expect(callsTo('POST invitations')[1].body).toEqual({ email: 'cy@example.com', role: 'admin' })
    expect(await screen.findByText('cy@example.com')).toBeInTheDocument()
  })

  it('offers to resend the verification mail when inviting waits for a verified address', async () => {
    const notVerified = problem(403, 'Forbidden', {
      type: 'https://pingvas.dev/problems/email-not-verified',
      code: 'email-not-verified',
    })
    const { callsTo } = mockApi({
      'GET me': { body: meFixture('owner') },
      'GET members': { body: MEMBERS },
      'GET invitations': { body: [] },
      'POST invitations': notVerified,
      'POST auth/refresh': { body: {} },
      'POST auth/verify-email/resend': { status: 202, body: { status: 'accepted' } },
    })
    renderApp('/team')
    const user = userEvent.setup()
    await user.type(await screen.findByRole('textbox', { name: 'Email' }), 'cy@example.com')
    await user.click(screen.getByRole('button', { name: 'Send invitation' }))
    await user.click(await screen.findByRole('button', { name: 'Send the verification mail again' }))
    expect(await screen.findByText('Sent. Check your inbox for the new link.')).toBeInTheDocument()
    expect(callsTo('POST auth/verify-email/resend')).toHaveLength(1)
  })

  it('shows members read-only to a member', async () => {
    mockApi({ 'GET me': { body: meFixture('member') }, 'GET members': { body: MEMBERS } })
    renderApp('/team')
    expect(await screen.findByText('bo@example.com')).toBeInTheDocument()
    expect(screen.queryByRole('combobox', { name: /Role of/ })).not.toBeInTheDocument()
    expect(screen.queryByRole('button', { name: 'Send invitation' })).not.toBeInTheDocument()
    expect(screen.getByText(/Only admins and owners/)).toBeInTheDocument()
  })

  it('resends and revokes a pending invitation', async () => {
    const PENDING = [
      { id: 'i1', email: 'cy@example.com', role: 'member', expires_at: '2026-12-14T00:00:00Z', expired: false },
      { id: 'i2', email: 'di@example.com', role: 'admin', expires_at: '2026-12-01T00:00:00Z', expired: true },
    ]
    const { callsTo } = mockApi({
      'GET me': { body: meFixture('owner') },
      'GET members': { body: MEMBERS },
      'GET invitations': [{ body: PENDING }, { body: PENDING }, { body: [PENDING[0]] }],
      'POST invitations/i2/resend': { body: { ...PENDING[1], expired: false } },
      'DELETE invitations/i2': { status: 204 },
    })
    renderApp('/team')
    const user = userEvent.setup()

    const row = (await screen.findAllByTestId('invitation-row')).find((r) => r.dataset.email === 'di@example.com')!
    expect(within(row).getByText('expired')).toBeInTheDocument()
    await user.click(within(row).getByRole('button', { name: 'Resend' }))
    expect(await screen.findByText('A new invitation link was sent to di@example.com.')).toBeInTheDocument()
    expect(callsTo('POST invitations/i2/resend')).toHaveLength(1)

    const again = (await screen.findAllByTestId('invitation-row')).find((r) => r.dataset.email === 'di@example.com')!
    await user.click(within(again).getByRole('button', { name: 'Revoke' }))
    const dialog = screen.getByRole('dialog', { name: 'Revoke invitation' })
    await user.click(within(dialog).getByRole('button', { name: 'Revoke' }))
    await waitFor(() => expect(callsTo('DELETE invitations/i2')).toHaveLength(1))
    await waitFor(() => expect(screen.queryByText('di@example.com')).not.toBeInTheDocument())
  })

  it('says remove, not export, for removing a member in Korean', async () => {
    mockApi({ 'GET me': { body: meFixture('owner') }, 'GET members': { body: MEMBERS }, 'GET invitations': { body: [] } })
    renderApp('/team', { locale: 'ko' })
    expect(await screen.findByRole('button', { name: '제거' })).toBeInTheDocument()
    expect(screen.queryByText('내보내기')).not.toBeInTheDocument()
  })

  it('lets an admin allow members to delete any image', async () => {
    const { callsTo } = mockApi({
      'GET me': { body: meFixture('admin') },
      'GET members': { body: MEMBERS },
      'GET invitations': { body: [] },
      'GET tenant/settings': [{ body: { member_image_deletion: 'own' } }, { body: { member_image_deletion: 'any' } }],
      'PATCH tenant/settings': { body: { member_image_deletion: 'any' } },
    })
    renderApp('/team')
    const user = userEvent.setup()
    const setting = await screen.findByRole('group', { name: 'Who may delete images' })
    expect(within(setting).getByRole('radio', { name: /only their own/ })).toBeChecked()
    await user.click(within(setting).getByRole('radio', { name: /any image of the team/ }))
    await waitFor(() => expect(callsTo('PATCH tenant/settings')).toHaveLength(1))
    expect(callsTo('PATCH tenant/settings')[0].body).toEqual({ member_image_deletion: 'any' })
    await waitFor(() => expect(within(setting).getByRole('radio', { name: /any image of the team/ })).toBeChecked())
  })
})
