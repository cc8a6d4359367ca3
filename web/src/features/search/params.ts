import { endOfDay, startOfDay } from '../render/apiHelpers'
import type { SearchQuery, Sort, TenantFilter } from './types'

export const SEARCH_PAGE_SIZE = 24
export const SUGGEST_LIMIT = 8
export const TENANTS_PAGE_SIZE = 50
/** The search service refuses longer queries (docs/search.md). */
export const MAX_QUERY = 500
/** …and longer texts to complete, and longer tenant searches. */
export const MAX_SUGGEST_QUERY = 200
export const MAX_TENANT_QUERY = 200

/** The gallery's search as its URL says: `?q=&model=&from=&to=&sort=`. Relevance unless `sort=newest`. */
export function searchQueryFrom(params: URLSearchParams): SearchQuery {
  const sort: Sort = params.get('sort') === 'newest' ? 'newest' : 'relevance'
  return {
    q: (params.get('q') ?? '').trim(),
    model: params.get('model') ?? '',
    from: params.get('from') ?? '',
    to: params.get('to') ?? '',
    sort,
  }
}

/** `search/images?q=&model=&from=&to=&sort=&cursor=&limit=`, leaving out what is empty. */
export function searchPath(query: SearchQuery, cursor: string): string {
  const params = new URLSearchParams()
  params.set('q', query.q)
  if (query.model) params.set('model', query.model)
  const from = query.from ? startOfDay(query.from) : null
  const to = query.to ? endOfDay(query.to) : null
  if (from) params.set('from', from)
  if (to) params.set('to', to)
  params.set('sort', query.sort)
  if (cursor) params.set('cursor', cursor)
  params.set('limit', String(SEARCH_PAGE_SIZE))
  return `search/images?${params.toString()}`
}

/** `search/suggest?q=&limit=8`; an empty `q` asks for the tenant's recent prompts. */
export function suggestPath(q: string): string {
  const params = new URLSearchParams({ q, limit: String(SUGGEST_LIMIT) })
  return `search/suggest?${params.toString()}`
}

/** `admin/tenants?q=&plan=&status=&cursor=&limit=`, leaving out what is empty. */
export function tenantsPath(filter: TenantFilter, cursor: string): string {
  const params = new URLSearchParams()
  if (filter.q.trim()) params.set('q', filter.q.trim())
  if (filter.plan) params.set('plan', filter.plan)
  if (filter.status) params.set('status', filter.status)
  if (cursor) params.set('cursor', cursor)
  params.set('limit', String(TENANTS_PAGE_SIZE))
  return `admin/tenants?${params.toString()}`
}
