import { screen } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { meFixture, mockApi, problem, renderApp } from '../test/utils'

describe('the public home page', () => {
  it('tells a signed-out visitor what Pingvas is, with examples and the ways in, in Korean', async () => {
    mockApi({
      'GET me': problem(401, 'Unauthorized'),
      'POST auth/refresh': problem(401, 'Unauthorized'),
      'GET billing/plans': {
        body: {
          items: [
            { code: 'free', name: 'Free', monthly_credits: 50, prices: {}, limits: {} },
            {
              code: 'pro',
              name: 'Pro',
              monthly_credits: 2000,
              prices: { month: { amount_minor: 2900, currency: 'USD', variant_id: '1' } },
              limits: {},
            },
          ],
        },
      },
    })
    renderApp('/', { locale: 'ko' })
    expect(await screen.findByRole('heading', { name: '몇 마디 말로 이미지를, 팀과 함께' })).toBeInTheDocument()
    expect(screen.getByRole('img', { name: '첫눈 내리는 한옥 마당' })).toHaveAttribute('src', '/examples/hanok-snow.webp')
    expect(screen.getByTestId('landing-signup')).toHaveAttribute('href', '/signup')
    expect(screen.getByTestId('landing-login')).toHaveAttribute('href', '/login')
    const plans = await screen.findByTestId('landing-plans')
    expect(plans).toHaveTextContent('Pro')
    expect(plans).toHaveTextContent('2,000')
    expect(document.title).toBe('Pingvas: 말로 그리는 팀 이미지 작업실')
  })

  it('gives each page its own title', async () => {
    mockApi({ 'GET me': { body: meFixture() } })
    renderApp('/account')
    expect(await screen.findByRole('heading', { name: 'Account' })).toBeInTheDocument()
    expect(document.title).toBe('Account · Pingvas')
  })
})
