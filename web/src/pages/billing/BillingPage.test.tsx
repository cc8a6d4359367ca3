import { screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Role } from '../../features/session/types'
import { redirectTo } from '../../features/billing/redirect'
import { PLANS, credits, paidSubscription, payment, subscription, usageItems } from '../../features/billing/testFixtures'
import type { Subscription } from '../../features/billing/types'
import { usagePath, usageWindow } from '../../features/billing/usage'
import { SD15, TINY } from '../../test/renderFixtures'
import { meFixture, mockApi, problem, renderApp } from '../../test/utils'

vi.mock('../../features/billing/redirect', () => ({ redirectTo: vi.fn() }))

// 2025-03-30: the chart covers 2025-03-01 … 2025-03-30.
const NOW = new Date('2025-03-30T12:00:00Z')
const USAGE = `GET ${usagePath(usageWindow(NOW))}`

type Routes = Parameters<typeof mockApi>[0]

function billingRoutes(role: Role, sub: Subscription | Subscription[] = subscription(), extra: Routes = {}) {
  return mockApi({
    'GET me': { body: meFixture(role) },
    'GET billing/plans': { body: { items: PLANS } },
    'GET billing/subscription': Array.isArray(sub) ? sub.map((body) => ({ body })) : { body: sub },
    'GET billing/credits': { body: credits() },
    [USAGE]: { body: { items: [], from: '2025-03-01', to: '2025-03-30', group_by: 'day' } },
    'GET billing/payments': { body: { items: [] } },
    ...extra,
  })
}

function planCard(name: string) {
  return screen.getByRole('listitem', { name })
}

describe('billing page', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(NOW)
  })
  afterEach(() => {
    vi.useRealTimers()
    vi.mocked(redirectTo).mockReset()
  })

  it('names each plan card\'s models as the Generate page does, test models included', async () => {
    billingRoutes('member', subscription(), {
      'GET models/catalog': {
        body: {
          items: [
            { ...SD15, key: 'sd-1.5', name: 'Stable Diffusion 1.5' },
            { ...SD15, key: 'sdxl-turbo', name: 'SDXL Turbo' },
            { ...SD15, key: 'sdxl-base-1.0', name: 'SDXL 1.0' },
            TINY,
          ],
        },
      },
    })
    renderApp('/billing')
    await screen.findByRole('listitem', { name: 'Free' })
    const free = await waitFor(() => {
      const list = within(planCard('Free')).getByTestId('billing-plan-models')
      expect(list).toHaveTextContent('SDXL Turbo')
      return list
    })
    const names = within(free)
      .getAllByRole('listitem')
      .map((item) => item.textContent)
    expect(names).toEqual(['Stable Diffusion 1.5', 'SDXL Turbo', TINY.name])
    // a key the catalog does not know reads as itself
    expect(within(planCard('Team')).getByTestId('billing-plan-models')).toHaveTextContent('flux-schnell')
  })

  it('is in the navigation for members and shows the plan and credits', async () => {
    const { callsTo } = billingRoutes('member')
    renderApp('/billing')
    expect(await screen.findByRole('heading', { name: 'Billing', level: 1 })).toBeInTheDocument()
    expect(screen.getByRole('link', { name: 'Billing' })).toHaveAttribute('href', '/billing')
    const current = await screen.findByTestId('billing-current-plan')
    expect(current).toHaveTextContent('Free')
    const creditsCard = await screen.findByTestId('billing-credits')
    expect(within(creditsCard).getByTestId('billing-credits-available')).toHaveTextContent('100')
    expect(creditsCard).toHaveTextContent('Reserved20')
    expect(creditsCard).toHaveTextContent('Next grant: 50 credits on Apr 1, 2025')
    expect(await screen.findByRole('listitem', { name: 'Free' })).toHaveAttribute('aria-current', 'true')
    // Owner-only: no buttons, no payments; admin-only: no usage.
    expect(screen.queryByRole('button', { name: /Upgrade/ })).not.toBeInTheDocument()
    expect(screen.getByText('Only the team owner can change the plan.')).toBeInTheDocument()
    expect(screen.queryByText('Past orders')).not.toBeInTheDocument()
    expect(callsTo('GET billing/payments')).toHaveLength(0)
    expect(callsTo(USAGE)).toHaveLength(0)
  })

  it('warns an owner whose last payment failed, with a button to update the card', async () => {
    billingRoutes(
      'owner',
      paidSubscription({ status: 'past_due', update_payment_method_url: 'https://ls.example/update-card' }),
    )
    renderApp('/billing')
    const alert = await screen.findByRole('alert', { name: 'Your last payment failed' })
    expect(alert).toHaveTextContent('We could not charge the payment method for your Pro plan.')
    expect(alert).toHaveTextContent('after the 3-day grace period, generation is limited to what the Free plan allows')
    await userEvent.click(within(alert).getByRole('button', { name: 'Update payment method' }))
    expect(redirectTo).toHaveBeenCalledWith('https://ls.example/update-card')
    expect(screen.getByTestId('billing-current-plan')).toHaveTextContent('Payment failed')
  })

  it('sends a past-due owner to the portal when there is no update link, and says when limits apply', async () => {
    const { callsTo } = billingRoutes('owner', paidSubscription({ status: 'unpaid', entitlements_reduced: true }), {
      'GET billing/portal': { body: { url: 'https://ls.example/portal' } },
    })
    renderApp('/billing')
    const alert = await screen.findByRole('alert', { name: 'Your subscription is unpaid' })
    expect(alert).toHaveTextContent('The grace period is over')
    expect(screen.getByTestId('billing-current-plan')).toHaveTextContent('Limited to Free')
    await userEvent.click(within(alert).getByRole('button', { name: 'Update payment method' }))
    await waitFor(() => expect(redirectTo).toHaveBeenCalledWith('https://ls.example/portal'))
    expect(callsTo('GET billing/portal')).toHaveLength(1)
  })

  it('tells a member of a past-due team to ask the owner, without owner buttons', async () => {
    billingRoutes('member', paidSubscription({ status: 'past_due', update_payment_method_url: 'https://ls.example/u' }))
    renderApp('/billing')
    const alert = await screen.findByRole('alert', { name: 'Your last payment failed' })
    expect(alert).toHaveTextContent('Ask the team owner to take care of this.')
    expect(within(alert).queryByRole('button')).not.toBeInTheDocument()
    await screen.findByRole('listitem', { name: 'Pro' })
    expect(screen.queryByRole('button', { name: 'Manage subscription' })).not.toBeInTheDocument()
    expect(screen.queryByRole('button', { name: /Upgrade|Change plan/ })).not.toBeInTheDocument()
  })

  it('upgrade calls checkout with the plan and interval, then goes to the checkout', async () => {
    const { callsTo } = billingRoutes('owner', subscription(), {
      'POST billing/checkout': { body: { url: 'https://pingvas.lemonsqueezy.com/checkout/abc' } },
    })
    renderApp('/billing')
    const user = userEvent.setup()
    await screen.findByRole('listitem', { name: 'Pro' })
    // No upgrade to the plan the team is on.
    expect(within(planCard('Free')).queryByRole('button')).not.toBeInTheDocument()
    await user.click(screen.getByRole('button', { name: 'Yearly' }))
    await user.click(within(planCard('Pro')).getByRole('button', { name: 'Upgrade to Pro' }))
    await waitFor(() => expect(redirectTo).toHaveBeenCalledWith('https://pingvas.lemonsqueezy.com/checkout/abc'))
    expect(callsTo('POST billing/checkout')[0].body).toEqual({ plan: 'pro', interval: 'year' })
  })

  it('says so when payments are not configured (503)', async () => {
    billingRoutes('owner', subscription(), {
      'POST billing/checkout': problem(503, 'Service Unavailable', {
        code: 'payments-not-configured',
        detail: 'payments are not configured here; try `pingvas-billing simulate-webhook`',
      }),
    })
    renderApp('/billing')
    const user = userEvent.setup()
    await screen.findByRole('listitem', { name: 'Starter' })
    await user.click(screen.getByRole('button', { name: 'Upgrade to Starter' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('Payments are not available here yet.')
    expect(redirectTo).not.toHaveBeenCalled()
    // The buttons work again.
    expect(screen.getByRole('button', { name: 'Upgrade to Pro' })).toBeEnabled()
  })

  it('the interval toggle changes the prices', async () => {
    billingRoutes('owner')
    renderApp('/billing')
    const user = userEvent.setup()
    await screen.findByRole('listitem', { name: 'Pro' })
    expect(screen.getByRole('button', { name: 'Monthly' })).toHaveAttribute('aria-pressed', 'true')
    expect(within(planCard('Pro')).getByTestId('billing-plan-price')).toHaveTextContent('$29.00 / month')
    expect(within(planCard('Team')).getByTestId('billing-plan-price')).toHaveTextContent('$79.00 / month')
    expect(within(planCard('Free')).getByTestId('billing-plan-price')).toHaveTextContent('Free')

    await user.click(screen.getByRole('button', { name: 'Yearly' }))
    expect(screen.getByRole('button', { name: 'Yearly' })).toHaveAttribute('aria-pressed', 'true')
    expect(within(planCard('Pro')).getByTestId('billing-plan-price')).toHaveTextContent('$290.00 / year')
    expect(within(planCard('Team')).getByTestId('billing-plan-price')).toHaveTextContent('$790.00 / year')
    expect(planCard('Pro')).toHaveTextContent('Save 17%')
    // The limits are there too.
    expect(planCard('Pro')).toHaveTextContent('Credits per month2,000')
    expect(planCard('Pro')).toHaveTextContent('Largest image2048×2048')
    expect(within(planCard('Pro')).getByText('flux-schnell')).toBeInTheDocument()
  })

  it('marks the current paid plan; "Manage subscription" opens the portal and plan changes go there', async () => {
    const { callsTo } = billingRoutes('owner', paidSubscription({ interval: 'year' }), {
      'GET billing/portal': { body: { url: 'https://ls.example/portal' } },
    })
    renderApp('/billing')
    const user = userEvent.setup()
    const pro = await screen.findByRole('listitem', { name: 'Pro' })
    expect(pro).toHaveAttribute('aria-current', 'true')
    expect(within(pro).getByText('Current plan')).toBeInTheDocument()
    expect(planCard('Team')).not.toHaveAttribute('aria-current')
    // The toggle starts on the subscription's interval.
    expect(screen.getByRole('button', { name: 'Yearly' })).toHaveAttribute('aria-pressed', 'true')
    // A second checkout would make a second subscription: no "Upgrade" for a paying team.
    expect(screen.queryByRole('button', { name: /Upgrade/ })).not.toBeInTheDocument()
    expect(screen.getByRole('button', { name: 'Change plan to Team' })).toBeInTheDocument()
    expect(screen.getByTestId('billing-current-plan')).toHaveTextContent('Renews on Apr 1, 2025')

    await user.click(screen.getByRole('button', { name: 'Manage subscription' }))
    await waitFor(() => expect(redirectTo).toHaveBeenCalledWith('https://ls.example/portal'))
    expect(callsTo('GET billing/portal')).toHaveLength(1)
  })

  it('charts one bar per day with the right totals and links the CSV', async () => {
    billingRoutes('admin', subscription(), {
      [USAGE]: {
        body: {
          items: [
            ...usageItems({ '2025-03-01': 10, '2025-03-15': 25, '2025-03-30': 7 }),
            { key: '2025-03-15', credits: 5, jobs: 1 },
          ],
          from: '2025-03-01',
          to: '2025-03-30',
          group_by: 'day',
        },
      },
    })
    renderApp('/billing')
    const chart = await screen.findByTestId('usage-chart')
    const bars = within(chart).getAllByTestId('usage-bar')
    expect(bars).toHaveLength(30)
    expect(bars[0]).toHaveAttribute('data-day', '2025-03-01')
    expect(bars[29]).toHaveAttribute('data-day', '2025-03-30')
    const byDay = Object.fromEntries(bars.map((bar) => [bar.getAttribute('data-day'), Number(bar.getAttribute('data-credits'))]))
    expect(byDay['2025-03-01']).toBe(10)
    expect(byDay['2025-03-15']).toBe(30)
    expect(byDay['2025-03-30']).toBe(7)
    expect(bars.reduce((sum, bar) => sum + Number(bar.getAttribute('data-credits')), 0)).toBe(47)
    // The tallest bar fills the chart; an empty day is a sliver.
    expect(Number(bars[14].getAttribute('height'))).toBeGreaterThan(Number(bars[0].getAttribute('height')))
    expect(bars[1]).toHaveAttribute('height', '1')
    expect(within(chart).getByRole('img', { name: '47 credits used by 6 jobs in the last 30 days' })).toBeInTheDocument()
    expect(within(chart).getByRole('row', { name: 'Mar 15 30 4' })).toBeInTheDocument()
    expect(screen.getByRole('link', { name: 'Download CSV' })).toHaveAttribute(
      'href',
      '/api/v1/billing/usage?from=2025-03-01&to=2025-03-30&group_by=day&format=csv',
    )
  })

  it('lists past orders with status badges and receipt links', async () => {
    billingRoutes('owner', paidSubscription(), {
      'GET billing/payments': {
        body: {
          items: [
            payment('p3', { status: 'failed', receipt_url: null, created_at: '2025-03-01T09:00:00Z' }),
            payment('p2', { status: 'refunded', created_at: '2025-02-01T09:00:00Z' }),
            payment('p1', { created_at: '2025-01-01T09:00:00Z' }),
          ],
        },
      },
    })
    renderApp('/billing')
    const rows = await screen.findAllByTestId('billing-payment')
    expect(rows).toHaveLength(3)
    expect(rows[0]).toHaveTextContent('Failed')
    expect(within(rows[0]).queryByRole('link')).not.toBeInTheDocument()
    expect(rows[1]).toHaveTextContent('Refunded')
    expect(rows[2]).toHaveTextContent('Pro$29.00Paid')
    const receipt = within(rows[2]).getByRole('link', { name: /View receipt/ })
    expect(receipt).toHaveAttribute('href', 'https://pingvas.lemonsqueezy.com/receipt/p1')
    expect(receipt).toHaveAttribute('target', '_blank')
  })

  it('a cancelled subscription says until when it lasts and how to resume', async () => {
    billingRoutes('owner', paidSubscription({ status: 'cancelled', ends_at: '2025-04-01T12:00:00Z' }), {
      'GET billing/portal': { body: { url: 'https://ls.example/portal' } },
    })
    renderApp('/billing')
    const notice = await screen.findByRole('status', { name: 'Your subscription is cancelled' })
    expect(notice).toHaveTextContent('You keep the Pro plan until Apr 1, 2025')
    expect(notice).toHaveTextContent('moves to the Free plan')
    await userEvent.click(within(notice).getByRole('button', { name: 'Resume subscription' }))
    await waitFor(() => expect(redirectTo).toHaveBeenCalledWith('https://ls.example/portal'))
  })

  it('an expired subscription is back on Free, with the upgrade buttons', async () => {
    billingRoutes('owner', paidSubscription({ status: 'expired' }))
    renderApp('/billing')
    expect(await screen.findByRole('status', { name: 'Your subscription has ended' })).toHaveTextContent(
      'The Pro subscription has expired and the team is back on the Free plan.',
    )
    expect(await screen.findByRole('listitem', { name: 'Free' })).toHaveAttribute('aria-current', 'true')
    expect(screen.getByTestId('billing-current-plan')).toHaveAttribute('data-plan', 'free')
    expect(screen.getByRole('button', { name: 'Upgrade to Pro' })).toBeInTheDocument()
    expect(screen.queryByRole('button', { name: 'Manage subscription' })).not.toBeInTheDocument()
  })

  it('a paused subscription says so', async () => {
    billingRoutes('owner', paidSubscription({ status: 'paused' }))
    renderApp('/billing')
    expect(await screen.findByRole('status', { name: 'Your subscription is paused' })).toHaveTextContent(
      'no new credits are granted until you resume it',
    )
  })

  it('after the checkout: thanks, then reloads until the new plan shows', async () => {
    const { callsTo } = billingRoutes('owner', [subscription(), subscription(), paidSubscription()])
    renderApp('/billing?checkout=done')
    expect(await screen.findByText('Thank you! Your plan will update in a moment.')).toBeInTheDocument()
    expect(await screen.findByText('Thank you! The team is now on the Pro plan.', {}, { timeout: 5000 })).toBeInTheDocument()
    expect(callsTo('GET billing/subscription')).toHaveLength(3)
    expect(callsTo('GET billing/credits').length).toBeGreaterThanOrEqual(3)
    expect(screen.getByRole('listitem', { name: 'Pro' })).toHaveAttribute('aria-current', 'true')
  }, 10000)

  it('is in Korean', async () => {
    billingRoutes('owner', paidSubscription({ status: 'past_due' }))
    renderApp('/billing', { locale: 'ko' })
    expect(await screen.findByRole('heading', { name: '결제', level: 1 })).toBeInTheDocument()
    const alert = await screen.findByRole('alert', { name: '최근 결제에 실패했습니다' })
    expect(within(alert).getByRole('button', { name: '결제 수단 변경' })).toBeInTheDocument()
    expect(await screen.findByRole('button', { name: '연간' })).toBeInTheDocument()
  })
})
