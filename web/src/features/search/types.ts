/** The search service's public API shapes (docs/search.md, "API"). */
import type { Image } from '../render/types'

/** A run of a prompt's text; `match` runs are what the query found. */
export interface HighlightSegment {
  text: string
  match: boolean
}

/** A render image (the gallery shows either) with its score and the prompt cut into runs. */
export interface SearchHit extends Image {
  score: number | null
  highlight: HighlightSegment[]
}

export interface SearchPage {
  items: SearchHit[]
  next_cursor: string | null
  total: number
  engine: string
  took_ms: number
}

export const SORTS = ['relevance', 'newest'] as const
export type Sort = (typeof SORTS)[number]

/** What the gallery's URL holds for a search; empty strings mean "any". Dates are `YYYY-MM-DD`. */
export interface SearchQuery {
  q: string
  model: string
  from: string
  to: string
  sort: Sort
}

export interface Suggestion {
  prompt: string
  images: number
  highlight: HighlightSegment[]
}

export interface SuggestPage {
  items: Suggestion[]
}

/** `GET admin/tenants` rows: the operators' directory of tenants. */
export interface TenantRow {
  tenant_id: string
  /** Null until the directory has seen the tenant's `tenant.created` (a billing event came first). */
  name: string | null
  slug: string | null
  /** Cleared once the tenant is deleted. */
  owner_email: string | null
  plan: string
  subscription_status: string | null
  status: string
  created_at: string | null
  deleted_at: string | null
}

export interface TenantPage {
  items: TenantRow[]
  next_cursor: string | null
}

export interface TenantFilter {
  q: string
  plan: string
  status: string
}
