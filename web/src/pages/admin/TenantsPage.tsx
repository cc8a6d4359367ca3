import { useEffect, useMemo, useState, type FormEvent } from 'react'
import { useSearchParams } from 'react-router-dom'
import { useGetAdminTenantsInfiniteQuery } from '../../features/search/searchApi'
import { httpStatus } from '../../api/problem'
import { PageTitle } from '../../components/Layouts'
import { Badge, Button, Card, ErrorBanner, Loading, Notice, SelectField, Spinner, TextField } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import { useI18n } from '../../i18n/I18nProvider'
import type { MessageKey } from '../../i18n/en'
import { planName } from '../../features/billing/plans'
import { PLAN_CODES, SUBSCRIPTION_STATUSES } from '../../features/billing/types'
import { MAX_TENANT_QUERY } from '../../features/search/params'
import type { TenantFilter } from '../../features/search/types'

const TENANT_STATUSES = ['active', 'deleted'] as const

/**
 * The operators' directory of every tenant (search service, `GET admin/tenants`): a search
 * over name, slug and owner email, plan and status filters, newest first. The filters live in
 * the URL. Anyone else gets 403 from the API, and this page says the page is for operators.
 */
export function TenantsPage() {
  const { t, formatDate } = useI18n()
  const [params, setParams] = useSearchParams()
  const filter: TenantFilter = {
    q: params.get('q') ?? '',
    plan: params.get('plan') ?? '',
    status: params.get('status') ?? '',
  }
  const [text, setText] = useState(filter.q)
  useEffect(() => setText(filter.q), [filter.q])
  const tenants = useGetAdminTenantsInfiniteQuery(filter)
  const status = httpStatus(tenants.error)
  const message = useErrorMessage(tenants.error)
  const rows = useMemo(() => (tenants.currentData?.pages ?? []).flatMap((page) => page.items), [tenants.currentData])

  function update(changes: Partial<TenantFilter>) {
    const next = new URLSearchParams(params)
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value)
      else next.delete(key)
    }
    setParams(next, { replace: true })
  }

  function onSearch(event: FormEvent) {
    event.preventDefault()
    update({ q: text.trim() })
  }

  if (status === 403) {
    return (
      <>
        <PageTitle testId="tenants-title">{t('admin.tenants.operatorsOnlyTitle')}</PageTitle>
        <Notice tone="warning">
          <span data-testid="tenants-forbidden">{t('admin.tenants.operatorsOnly')}</span>
        </Notice>
      </>
    )
  }

  const subscription = (value: string | null) =>
    !value
      ? '—'
      : (SUBSCRIPTION_STATUSES as readonly string[]).includes(value)
        ? t(`billing.status.${value}` as MessageKey)
        : value

  return (
    <>
      <PageTitle testId="tenants-title" subtitle={t('admin.tenants.intro')}>
        {t('admin.tenants.title')}
      </PageTitle>

      <Card>
        <div
          role="group"
          aria-label={t('admin.tenants.filters')}
          className="grid gap-3 sm:grid-cols-[1fr_auto_auto] sm:items-end"
        >
          <form role="search" onSubmit={onSearch} className="flex items-end gap-2" data-testid="tenants-search">
            <div className="flex-1">
              <TextField
                label={t('admin.tenants.search')}
                type="search"
                name="q"
                maxLength={MAX_TENANT_QUERY}
                value={text}
                placeholder={t('admin.tenants.searchPlaceholder')}
                onChange={(event) => setText(event.target.value)}
              />
            </div>
            <Button type="submit">{t('search.submit')}</Button>
          </form>
          <SelectField label={t('admin.tenants.plan')} value={filter.plan} onChange={(event) => update({ plan: event.target.value })}>
            <option value="">{t('admin.tenants.allPlans')}</option>
            {PLAN_CODES.map((code) => (
              <option key={code} value={code}>
                {planName(code, undefined, t)}
              </option>
            ))}
          </SelectField>
          <SelectField
            label={t('admin.tenants.status')}
            value={filter.status}
            onChange={(event) => update({ status: event.target.value })}
          >
            <option value="">{t('admin.tenants.allStatuses')}</option>
            {TENANT_STATUSES.map((value) => (
              <option key={value} value={value}>
                {t(`admin.tenants.status.${value}`)}
              </option>
            ))}
          </SelectField>
        </div>
      </Card>

      <ErrorBanner message={message} />
      {tenants.isError && (
        <div>
          <Button variant="secondary" onClick={() => void tenants.refetch()}>
            {t('common.retry')}
          </Button>
        </div>
      )}
      {!tenants.currentData && tenants.isFetching && <Loading />}
      {tenants.currentData && rows.length === 0 && <p className="text-sm text-slate-600">{t('admin.tenants.empty')}</p>}
      {rows.length > 0 && (
        <div className="overflow-x-auto rounded-xl border border-slate-200 bg-white shadow-sm">
          <table className="min-w-full divide-y divide-slate-200 text-sm" data-testid="tenants-table">
            <thead className="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
              <tr>
                <th scope="col" className="px-4 py-3">{t('admin.tenants.name')}</th>
                <th scope="col" className="px-4 py-3">{t('admin.tenants.slug')}</th>
                <th scope="col" className="px-4 py-3">{t('admin.tenants.owner')}</th>
                <th scope="col" className="px-4 py-3">{t('admin.tenants.plan')}</th>
                <th scope="col" className="px-4 py-3">{t('admin.tenants.subscription')}</th>
                <th scope="col" className="px-4 py-3">{t('admin.tenants.status')}</th>
                <th scope="col" className="px-4 py-3">{t('admin.tenants.created')}</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {rows.map((row) => (
                <tr key={row.tenant_id} data-testid="tenant-row" data-tenant-id={row.tenant_id}>
                  <td className="px-4 py-3">
                    <span className="block font-medium text-slate-900">{row.name || '—'}</span>
                    <span className="block font-mono text-xs text-slate-400">{row.tenant_id}</span>
                  </td>
                  <td className="px-4 py-3 font-mono text-xs text-slate-600">{row.slug || '—'}</td>
                  <td className="px-4 py-3 text-slate-700">{row.owner_email || '—'}</td>
                  <td className="px-4 py-3 text-slate-700">{planName(row.plan, undefined, t)}</td>
                  <td className="px-4 py-3 text-slate-700">{subscription(row.subscription_status)}</td>
                  <td className="px-4 py-3">
                    {row.status === 'deleted' ? (
                      <span title={row.deleted_at ? t('admin.tenants.deletedAt', { date: formatDate(row.deleted_at) }) : undefined}>
                        <Badge tone="red">{t('admin.tenants.status.deleted')}</Badge>
                      </span>
                    ) : row.status === 'active' ? (
                      <Badge tone="green">{t('admin.tenants.status.active')}</Badge>
                    ) : (
                      <Badge>{row.status}</Badge>
                    )}
                  </td>
                  <td className="whitespace-nowrap px-4 py-3 text-slate-600">{formatDate(row.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="flex justify-center py-2">
        {tenants.isFetchingNextPage && <Spinner />}
        {tenants.hasNextPage && !tenants.isFetchingNextPage && (
          <Button variant="secondary" onClick={() => void tenants.fetchNextPage()}>
            {t('admin.tenants.more')}
          </Button>
        )}
      </div>
    </>
  )
}
