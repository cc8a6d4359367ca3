/** The search service's public API shapes (docs/search.md, "API"). */
import type { components } from '../../api/schema'

type S = components['schemas']

/** A run of a prompt's text; `match` runs are what the query found. */
export type HighlightSegment = S['SegmentOut']
/** A render image (the gallery shows either) with its score and the prompt cut into runs. */
export type SearchHit = S['ImageResult']
export type SearchPage = S['ImageResults']

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

export type Suggestion = S['SuggestionOut']
export type SuggestPage = S['Suggestions']

/** `GET admin/tenants` rows: the operators' directory of tenants (`name` is null until the
 * directory has seen the tenant's `tenant.created`; `owner_email` is cleared on deletion). */
export type TenantRow = S['TenantOut']
export type TenantPage = S['TenantPage']

export interface TenantFilter {
  q: string
  plan: string
  status: string
}
