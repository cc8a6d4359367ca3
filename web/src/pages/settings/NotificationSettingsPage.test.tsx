import { screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { meFixture, mockApi, problem, renderApp } from '../../test/utils'

const PREFS = { job_completed: true, usage_notices: true, newsletter: false }

describe('notification settings', () => {
  it('is reached from the account page and shows the saved choices', async () => {
    mockApi({ 'GET me': { body: meFixture('member') }, 'GET notification-preferences': { body: PREFS } })
    renderApp('/account')
    const user = userEvent.setup()
    await user.click(await screen.findByRole('link', { name: 'Notification settings' }))

    expect(await screen.findByRole('heading', { name: 'Notifications', level: 1 })).toBeInTheDocument()
    expect(await screen.findByRole('switch', { name: 'Email me when a batch finishes' })).toBeChecked()
    expect(screen.getByRole('switch', { name: 'Tell me when the team runs out of credits' })).toBeChecked()
    expect(screen.getByRole('switch', { name: 'Product news and tips' })).not.toBeChecked()
    expect(screen.getByText(/Account and billing mail .* always arrives/)).toHaveTextContent(
      'email verification, password resets, invitations, payment problems',
    )
    // the account item of the navigation stays highlighted on its settings pages
    expect(screen.getByRole('link', { name: 'Account' })).toHaveClass('bg-indigo-50')
    expect(screen.getByRole('button', { name: 'Save changes' })).toBeDisabled()
  })

  it('saves the toggles and says so', async () => {
    const { callsTo } = mockApi({
      'GET me': { body: meFixture('member') },
      'GET notification-preferences': { body: PREFS },
      'PUT notification-preferences': (request) => ({ body: request.body }),
    })
    renderApp('/settings/notifications')
    const user = userEvent.setup()
    await user.click(await screen.findByRole('switch', { name: 'Email me when a batch finishes' }))
    await user.click(screen.getByRole('switch', { name: 'Product news and tips' }))
    expect(screen.queryByText('Saved.')).not.toBeInTheDocument()
    await user.click(screen.getByRole('button', { name: 'Save changes' }))

    expect(await screen.findByText('Saved.')).toBeInTheDocument()
    expect(callsTo('PUT notification-preferences').map((c) => c.body)).toEqual([
      { job_completed: false, usage_notices: true, newsletter: true },
    ])
    expect(screen.getByRole('switch', { name: 'Email me when a batch finishes' })).not.toBeChecked()
    expect(screen.getByRole('switch', { name: 'Product news and tips' })).toBeChecked()
    expect(screen.getByRole('button', { name: 'Save changes' })).toBeDisabled()
    // a new change hides "Saved." until it is saved too
    await user.click(screen.getByRole('switch', { name: 'Product news and tips' }))
    expect(screen.queryByText('Saved.')).not.toBeInTheDocument()
    expect(screen.getByRole('button', { name: 'Save changes' })).toBeEnabled()
  })

  it('shows a problem next to its toggle, and anything else in the banner', async () => {
    const { callsTo } = mockApi({
      'GET me': { body: meFixture('member') },
      'GET notification-preferences': { body: PREFS },
      'PUT notification-preferences': [
        problem(422, 'Validation failed', {
          errors: [{ field: 'body.newsletter', message: 'Input should be a valid boolean', code: 'not-a-boolean' }],
        }),
        problem(503, 'Service Unavailable', { code: 'unavailable', detail: 'Mail settings cannot be saved right now.' }),
        { status: 204 },
      ],
    })
    renderApp('/settings/notifications')
    const user = userEvent.setup()
    const newsletter = await screen.findByRole('switch', { name: 'Product news and tips' })
    await user.click(newsletter)
    await user.click(screen.getByRole('button', { name: 'Save changes' }))

    await waitFor(() => expect(newsletter).toHaveAccessibleDescription('Choose yes or no.'))
    expect(newsletter).toHaveAttribute('aria-invalid', 'true')
    expect(newsletter).toBeChecked() // the choice is kept, not reset
    expect(screen.queryByText('Saved.')).not.toBeInTheDocument()

    await user.click(screen.getByRole('button', { name: 'Save changes' }))
    const form = screen.getByTestId('notification-preferences')
    expect(await within(form).findByRole('alert')).toHaveTextContent('This is not available right now. Please try again later.')

    await user.click(screen.getByRole('button', { name: 'Save changes' }))
    expect(await screen.findByText('Saved.')).toBeInTheDocument()
    expect(within(form).queryByRole('alert')).not.toBeInTheDocument()
    expect(newsletter).toBeChecked()
    expect(callsTo('PUT notification-preferences')).toHaveLength(3)
  })

  it('shows a loading error with a way to try again', async () => {
    mockApi({
      'GET me': { body: meFixture('member') },
      'GET notification-preferences': [problem(500, 'Internal Server Error'), { body: PREFS }],
    })
    renderApp('/settings/notifications')
    const user = userEvent.setup()
    expect(await screen.findByRole('alert')).toHaveTextContent('Something went wrong on our side. Please try again.')
    await user.click(screen.getByRole('button', { name: 'Try again' }))
    expect(await screen.findByRole('switch', { name: 'Email me when a batch finishes' })).toBeChecked()
  })

  it('is in Korean too', async () => {
    mockApi({ 'GET me': { body: meFixture('member') }, 'GET notification-preferences': { body: PREFS } })
    renderApp('/settings/notifications', { locale: 'ko' })
    expect(await screen.findByRole('switch', { name: '배치가 끝나면 이메일 받기' })).toBeChecked()
    expect(screen.getByRole('switch', { name: '제품 소식과 팁' })).not.toBeChecked()
    expect(screen.getByText(/항상 발송됩니다/)).toBeInTheDocument()
  })
})
