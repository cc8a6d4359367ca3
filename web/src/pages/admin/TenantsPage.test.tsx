import { screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import type { TenantRow } from '../../features/search/types'
import { meFixture, mockApi, problem, renderApp } from '../../test/utils'

function tenant(id: string, overrides: Partial<TenantRow> = {}): TenantRow {
  return {
    tenant_id: id,
    name: `Team ${id}`,
    slug: `team-${id}`,
    owner_email: `owner-${id}@example.com`,
    plan: 'free',
    subscription_status: null,
    status: 'active',
    created_at: '2025-03-01T10:00:00Z',
    deleted_at: null,
    ...overrides,
  }
}

const ACME = tenant('acme', { name: 'Acme', plan: 'pro', subscription_status: 'past_due' })
const GONE = tenant('gone', { name: 'Gone Ltd', owner_email: null, status: 'deleted', deleted_at: '2025-03-05T10:00:00Z' })
// Known from a billing event before its tenant.created: no name, slug or date yet.
const BETA = tenant('beta', { name: null, slug: null, created_at: null, plan: 'team', subscription_status: 'active' })

const operator = () => meFixture('member', { platform_roles: ['operator'] })
const rows = () =>
  screen.queryAllByTestId('tenant-row').map((row) => within(row).getAllByRole('cell')[0].firstChild?.textContent)

describe('operators’ tenants page', () => {
  it('lists tenants for an operator, with search, filters and more pages', async () => {
    const { callsTo } = mockApi({
      'GET me': { body: operator() },
      'GET admin/tenants?limit=50': { body: { items: [ACME, GONE], next_cursor: 'p2' } },
      'GET admin/tenants?cursor=p2&limit=50': { body: { items: [BETA], next_cursor: null } },
      'GET admin/tenants?q=acme&limit=50': { body: { items: [ACME], next_cursor: null } },
      'GET admin/tenants?q=acme&plan=pro&limit=50': { body: { items: [ACME], next_cursor: null } },
      'GET admin/tenants?q=acme&plan=pro&status=deleted&limit=50': { body: { items: [], next_cursor: null } },
    })
    renderApp('/admin/tenants')
    const user = userEvent.setup()

    expect(await screen.findByRole('heading', { name: 'Tenants' })).toBeInTheDocument()
    await waitFor(() => expect(rows()).toEqual(['Acme', 'Gone Ltd']))
    const acme = within(screen.getAllByTestId('tenant-row')[0]).getAllByRole('cell').map((cell) => cell.textContent)
    expect(acme[0]).toBe('Acmeacme') // the name, then the tenant id
    expect(acme.slice(1, 6)).toEqual(['team-acme', 'owner-acme@example.com', 'Pro', 'Payment failed', 'Active'])
    expect(acme[6]).toMatch(/2025/)
    const gone = within(screen.getAllByTestId('tenant-row')[1]).getAllByRole('cell').map((cell) => cell.textContent)
    expect(gone.slice(2, 6)).toEqual(['—', 'Free', '—', 'Deleted'])
    const columns = screen.getAllByRole('columnheader').map((th) => th.textContent)
    expect(columns).toEqual(['Name', 'Slug', 'Owner email', 'Plan', 'Subscription', 'Status', 'Created'])

    await user.click(screen.getByRole('button', { name: 'Load more' }))
    await waitFor(() => expect(rows()).toEqual(['Acme', 'Gone Ltd', '—']))
    const beta = within(screen.getAllByTestId('tenant-row')[2]).getAllByRole('cell').map((cell) => cell.textContent)
    expect(beta).toEqual(['—beta', '—', 'owner-beta@example.com', 'Team', 'Active', 'Active', '—'])
    expect(screen.queryByRole('button', { name: 'Load more' })).not.toBeInTheDocument()

    const filters = screen.getByRole('group', { name: 'Tenant filters' })
    await user.type(within(filters).getByRole('searchbox', { name: 'Search' }), 'acme{Enter}')
    await waitFor(() => expect(rows()).toEqual(['Acme']))
    await user.selectOptions(within(filters).getByRole('combobox', { name: 'Plan' }), 'Pro')
    await waitFor(() => expect(callsTo('GET admin/tenants?q=acme&plan=pro&limit=50')).toHaveLength(1))
    await user.selectOptions(within(filters).getByRole('combobox', { name: 'Status' }), 'Deleted')
    expect(await screen.findByText('No tenants match.')).toBeInTheDocument()
    expect(rows()).toEqual([])
  })

  it('the navigation links to it for operators only', async () => {
    mockApi({
      'GET me': { body: operator() },
      'GET admin/tenants?limit=50': { body: { items: [ACME], next_cursor: null } },
    })
    const first = renderApp('/gallery')
    const nav = await screen.findByRole('navigation', { name: 'Main' })
    expect(within(nav).getByRole('link', { name: 'Tenants' })).toHaveAttribute('href', '/admin/tenants')
    first.unmount()

    mockApi({ 'GET me': { body: meFixture('owner') } })
    renderApp('/gallery')
    const ownerNav = await screen.findByRole('navigation', { name: 'Main' })
    expect(within(ownerNav).getByRole('link', { name: 'Audit log' })).toBeInTheDocument()
    expect(within(ownerNav).queryByRole('link', { name: 'Tenants' })).not.toBeInTheDocument()
  })

  it('tells anyone else that it is for operators (403)', async () => {
    const { callsTo } = mockApi({
      'GET me': { body: meFixture('owner', { platform_roles: [] }) },
      'GET admin/tenants?limit=50': problem(403, 'Forbidden', { detail: 'operators only' }),
    })
    renderApp('/admin/tenants')
    expect(await screen.findByRole('heading', { name: 'Operators only' })).toBeInTheDocument()
    expect(screen.getByTestId('tenants-forbidden')).toHaveTextContent('This page is only for Pingvas operators.')
    expect(screen.queryByTestId('tenants-table')).not.toBeInTheDocument()
    expect(callsTo('GET admin/tenants?limit=50')).toHaveLength(1)
  })
})
