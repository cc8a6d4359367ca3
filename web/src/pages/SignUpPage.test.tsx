import { screen } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { mockApi, problem, renderApp } from '../test/utils'

async function fillAndSubmit() {
  const user = userEvent.setup()
  await user.type(screen.getByLabelText('Name'), 'Ada')
  await user.type(screen.getByLabelText('Email'), 'ada@example.com')
  await user.type(screen.getByLabelText('Password'), 'lantern over quiet water')
  await user.type(screen.getByLabelText('Team name'), 'Acme')
  await user.click(screen.getByRole('button', { name: 'Sign up' }))
}

describe('sign-up page', () => {
  it('shows problem+json field errors next to their fields', async () => {
    const { calls } = mockApi({
      'POST auth/signup': problem(422, 'Validation failed', {
        errors: [
          { field: 'password', message: 'String should have at least 8 characters', code: 'too-short', params: { min_length: 8 } },
          { field: 'team_name', message: 'String should have at most 100 characters', code: 'too-long', params: { max_length: 100 } },
        ],
      }),
    })
    renderApp('/signup')
    await fillAndSubmit()

    const password = screen.getByLabelText('Password')
    expect(await screen.findByText('Use at least 8 characters.')).toBeInTheDocument()
    expect(password).toHaveAttribute('aria-invalid', 'true')
    expect(password).toHaveAccessibleDescription('Use at least 8 characters.')
    expect(screen.getByLabelText('Team name')).toHaveAccessibleDescription('Use at most 100 characters.')
    expect(screen.queryByText(/String should/)).not.toBeInTheDocument()
    expect(screen.getByLabelText('Email')).not.toHaveAttribute('aria-invalid')
    // All of it sits next to fields, so no banner.
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()

    expect(calls[0].body).toEqual({
      name: 'Ada',
      email: 'ada@example.com',
      password: 'lantern over quiet water',
      team_name: 'Acme',
      locale: 'en',
    })
  })

  it('shows other problems in a banner', async () => {
    mockApi({ 'POST auth/signup': problem(400, 'Bad Request', { code: 'bad-request', detail: 'Sign-up is closed today.' }) })
    renderApp('/signup')
    await fillAndSubmit()
    // the code's text in the reader's language, not the server's English detail
    expect(await screen.findByRole('alert')).toHaveTextContent('This request cannot be done as sent.')
    expect(screen.queryByText('Sign-up is closed today.')).not.toBeInTheDocument()
  })

  it('after a 202 shows "check your inbox" with a link to log in, and assumes no session', async () => {
    const { calls } = mockApi({
      'POST auth/signup': {
        status: 202,
        body: { status: 'verification_sent', detail: 'Check your inbox for a link to confirm your address.' },
      },
    })
    renderApp('/signup')
    await fillAndSubmit()

    expect(await screen.findByRole('heading', { name: 'Check your inbox' })).toBeInTheDocument()
    expect(screen.getByText(/We sent a verification link to ada@example.com/)).toBeInTheDocument()
    // nothing on this screen needs a session: no `me`, no refresh
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST auth/signup'])
    expect(screen.queryByLabelText('Password')).not.toBeInTheDocument()

    const user = userEvent.setup()
    await user.click(screen.getByRole('link', { name: 'Go to log in' }))
    expect(await screen.findByRole('heading', { name: 'Log in' })).toBeInTheDocument()
    expect(screen.getByLabelText('Email')).toHaveValue('')
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST auth/signup'])
  })

  it('shows the same screen in Korean', async () => {
    mockApi({ 'POST auth/signup': { status: 202, body: { status: 'verification_sent' } } })
    renderApp('/signup', { locale: 'ko' })
    const user = userEvent.setup()
    await user.type(screen.getByLabelText('이름'), 'Ada')
    await user.type(screen.getByLabelText('이메일'), 'ada@example.com')
    await user.type(screen.getByLabelText('비밀번호'), 'lantern over quiet water')
    await user.type(screen.getByLabelText('팀 이름'), 'Acme')
    await user.click(screen.getByRole('button', { name: '가입하기' }))
    expect(await screen.findByRole('heading', { name: '받은편지함을 확인하세요' })).toBeInTheDocument()
    expect(screen.getByText(/ada@example.com\(으\)로 인증 링크를 보냈습니다/)).toBeInTheDocument()
    expect(screen.getByRole('link', { name: '로그인하러 가기' })).toHaveAttribute('href', '/login')
  })

  it('checks the served rule in the browser, and shows the refusal of the server by its code, in Korean', async () => {
    const { calls } = mockApi({
      'POST auth/signup': problem(422, 'Request is not valid', {
        type: 'https://pingvas.dev/problems/password-too-weak',
        code: 'password-too-weak',
        errors: [{ field: 'password', message: 'This password is too common.', code: 'password-too-weak' }],
      }),
    })
    renderApp('/signup', { locale: 'ko' })
    const user = userEvent.setup()
    expect(await screen.findByText(/10~128자로 입력하세요/)).toBeInTheDocument()
    await user.type(screen.getByLabelText('이름'), '김지우')
    await user.type(screen.getByLabelText('이메일'), 'jiwoo@example.com')
    await user.type(screen.getByLabelText('비밀번호'), 'short')
    await user.type(screen.getByLabelText('팀 이름'), 'Acme')
    await user.click(screen.getByRole('button', { name: '가입하기' }))
    expect(await screen.findByText('비밀번호가 너무 짧습니다. 10자 이상으로 입력하세요.')).toBeInTheDocument()
    expect(calls).toHaveLength(0)

    await user.clear(screen.getByLabelText('비밀번호'))
    await user.type(screen.getByLabelText('비밀번호'), '나는김지우입니다1234')
    await user.click(screen.getByRole('button', { name: '가입하기' }))
    expect(await screen.findByText('비밀번호에 이름이나 이메일 주소를 넣을 수 없습니다.')).toBeInTheDocument()
    expect(calls).toHaveLength(0)

    await user.clear(screen.getByLabelText('비밀번호'))
    await user.type(screen.getByLabelText('비밀번호'), 'password1234')
    await user.click(screen.getByRole('button', { name: '가입하기' }))
    expect(await screen.findByText('너무 흔해서 쉽게 추측할 수 있는 비밀번호입니다. 다른 비밀번호를 정해 주세요.')).toBeInTheDocument()
    expect(calls).toHaveLength(1)
  })
})
