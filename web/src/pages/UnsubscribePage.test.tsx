import { screen } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { mockApi, problem, renderApp } from '../test/utils'

const INFO = { category: 'newsletter', email_masked: 'a***@example.com', subscribed: true }

describe('unsubscribe link', () => {
  it('asks first, unsubscribes on the button without a log-in, and says what is unaffected', async () => {
    const { calls, callsTo } = mockApi({
      'GET mail/unsubscribe?token=tok%2Fgood': { body: INFO },
      'POST mail/unsubscribe?token=tok%2Fgood': { status: 204 },
    })
    renderApp('/unsubscribe?token=tok%2Fgood')
    const user = userEvent.setup()

    expect(await screen.findByText('Stop sending product news and tips to a***@example.com?')).toBeInTheDocument()
    expect(screen.getByText(/Only these emails stop/)).toHaveTextContent(
      'account and billing mail (verification, password resets, invitations, payment problems) keeps coming',
    )
    expect(callsTo('POST mail/unsubscribe?token=tok%2Fgood')).toHaveLength(0)

    await user.click(screen.getByRole('button', { name: 'Unsubscribe' }))
    expect(await screen.findByText("You won't get these emails any more.")).toBeInTheDocument()
    expect(callsTo('POST mail/unsubscribe?token=tok%2Fgood')).toHaveLength(1)
    expect(screen.queryByRole('button', { name: 'Unsubscribe' })).not.toBeInTheDocument()
    expect(screen.getByRole('link', { name: 'Notification settings' })).toHaveAttribute('href', '/settings/notifications')
    // a public page: it never asked who is logged in
    expect(calls.some((c) => c.path === 'me')).toBe(false)
  })

  it('explains a bad or unknown link and offers the settings instead', async () => {
    mockApi({
      'GET mail/unsubscribe?token=forged': problem(400, 'Bad Request', { detail: 'The link is not valid.' }),
      'GET mail/unsubscribe?token=gone': problem(404, 'Not Found'),
    })
    renderApp('/unsubscribe?token=forged')
    expect(await screen.findByRole('alert')).toHaveTextContent('This unsubscribe link is not valid')
    expect(screen.queryByRole('button', { name: 'Unsubscribe' })).not.toBeInTheDocument()
    expect(screen.getByRole('link', { name: 'Notification settings' })).toBeInTheDocument()
  })

  it('says so when the address is already unsubscribed', async () => {
    const { callsTo } = mockApi({
      'GET mail/unsubscribe?token=t2': { body: { ...INFO, category: 'job_completed', subscribed: false } },
    })
    renderApp('/unsubscribe?token=t2')
    expect(
      await screen.findByText('a***@example.com is already unsubscribed from emails when a batch finishes.'),
    ).toBeInTheDocument()
    expect(screen.queryByRole('button', { name: 'Unsubscribe' })).not.toBeInTheDocument()
    expect(callsTo('POST mail/unsubscribe?token=t2')).toHaveLength(0)
  })

  it('shows a failed unsubscribe and lets the person try again', async () => {
    mockApi({
      'GET mail/unsubscribe?token=t3': { body: { ...INFO, category: 'usage_notices' } },
      'POST mail/unsubscribe?token=t3': [problem(503, 'Service Unavailable', { code: 'unavailable', detail: 'Try again in a minute.' }), { body: {} }],
    })
    renderApp('/unsubscribe?token=t3', { locale: 'ko' })
    const user = userEvent.setup()
    expect(await screen.findByText('a***@example.com 주소로 크레딧 소진 알림 발송을 중단할까요?')).toBeInTheDocument()
    await user.click(screen.getByRole('button', { name: '수신 거부' }))
    // in Korean, not the server's English
    expect(await screen.findByRole('alert')).toHaveTextContent('지금은 사용할 수 없습니다. 나중에 다시 시도하세요.')
    await user.click(screen.getByRole('button', { name: '수신 거부' }))
    expect(await screen.findByText('이제 이 이메일을 더 이상 받지 않습니다.')).toBeInTheDocument()
  })

  it("also reads the mail service's own field names", async () => {
    const { callsTo } = mockApi({
      'GET mail/unsubscribe?token=long-enough': { body: { preference: 'usage_notices', email: null, subscribed: true } },
      'POST mail/unsubscribe?token=long-enough': { body: { preference: 'usage_notices', email: null, subscribed: false } },
    })
    renderApp('/unsubscribe?token=long-enough')
    const user = userEvent.setup()
    expect(await screen.findByText('Stop sending notices when your team runs out of credits?')).toBeInTheDocument()
    await user.click(screen.getByRole('button', { name: 'Unsubscribe' }))
    expect(await screen.findByText("You won't get these emails any more.")).toBeInTheDocument()
    expect(callsTo('POST mail/unsubscribe?token=long-enough')).toHaveLength(1)
  })

  it('treats a malformed token (422) as a bad link', async () => {
    mockApi({ 'GET mail/unsubscribe?token=x': problem(422, 'Unprocessable Entity') })
    renderApp('/unsubscribe?token=x')
    expect(await screen.findByRole('alert')).toHaveTextContent('This unsubscribe link is not valid')
  })

  it('needs a token', async () => {
    const { calls } = mockApi({})
    renderApp('/unsubscribe')
    expect(await screen.findByRole('alert')).toHaveTextContent('This link has no unsubscribe token.')
    expect(calls).toHaveLength(0)
  })

  it('sends a signed-out visitor from the settings link to log-in and back', async () => {
    mockApi({
      'GET mail/unsubscribe?token=t4': { body: INFO },
      'POST mail/unsubscribe?token=t4': { body: {} },
      'GET me': problem(401, 'Unauthorized'),
      'POST auth/refresh': problem(401, 'Unauthorized'),
    })
    renderApp('/unsubscribe?token=t4')
    const user = userEvent.setup()
    await user.click(await screen.findByRole('button', { name: 'Unsubscribe' }))
    await user.click(await screen.findByRole('link', { name: 'Notification settings' }))
    expect(await screen.findByRole('heading', { name: 'Log in' })).toBeInTheDocument()
  })
})
