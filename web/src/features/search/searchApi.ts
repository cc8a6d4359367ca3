/** Search (docs/search.md): the gallery's search and the operators' tenant directory. */
import { api, listOf } from '../../api/api'
import { searchPath, suggestPath, tenantsPath } from './params'
import type { SearchHit, SearchPage, SearchQuery, Suggestion, TenantFilter, TenantPage } from './types'

/** A page of hits with the lists it must have, whatever the service left out. */
function searchPage(value: unknown): SearchPage {
  const data = (value ?? {}) as Partial<SearchPage>
  const items = listOf<SearchHit>(data).map((hit) => ({
    ...hit,
    score: typeof hit.score === 'number' ? hit.score : null,
    highlight: Array.isArray(hit.highlight) ? hit.highlight : [],
  }))
  return {
    items,
    next_cursor: data.next_cursor || null,
    total: typeof data.total === 'number' ? data.total : items.length,
    engine: String(data.engine ?? ''),
    took_ms: typeof data.took_ms === 'number' ? data.took_ms : 0,
  }
}

export const searchApi = api.injectEndpoints({
  endpoints: (build) => ({
    /** Hits for a query and the gallery's filters, a page per `next_cursor`. */
    searchImages: build.infiniteQuery<SearchPage, SearchQuery, string>({
      infiniteQueryOptions: {
        initialPageParam: '',
        getNextPageParam: (lastPage) => lastPage.next_cursor || undefined,
      },
      query: ({ queryArg, pageParam }) => searchPath(queryArg, pageParam),
      transformResponse: searchPage,
      providesTags: (result) => [
        'Search',
        ...(result?.pages ?? []).flatMap((page) => page.items.map((image) => ({ type: 'Images' as const, id: image.id }))),
      ],
    }),
    /** The tenant's prompts completing `q`; its recent ones for an empty `q`. */
    searchSuggest: build.query<Suggestion[], string>({
      query: suggestPath,
      transformResponse: (response: unknown) =>
        listOf<Suggestion>(response).map((item) => ({
          ...item,
          highlight: Array.isArray(item.highlight) ? item.highlight : [],
        })),
      keepUnusedDataFor: 30,
      providesTags: ['Search'],
    }),
    /** Operators only (403 otherwise): every tenant, newest first. */
    getAdminTenants: build.infiniteQuery<TenantPage, TenantFilter, string>({
      infiniteQueryOptions: {
        initialPageParam: '',
        getNextPageParam: (lastPage) => lastPage.next_cursor || undefined,
      },
      query: ({ queryArg, pageParam }) => tenantsPath(queryArg, pageParam),
      transformResponse: (response: unknown) => ({
        items: listOf<TenantPage['items'][number]>(response),
        next_cursor: (response as { next_cursor?: string | null } | null)?.next_cursor || null,
      }),
      providesTags: ['AdminTenants'],
    }),
  }),
})

export const {
  useSearchImagesInfiniteQuery,
  useSearchSuggestQuery,
  useGetAdminTenantsInfiniteQuery,
} = searchApi
