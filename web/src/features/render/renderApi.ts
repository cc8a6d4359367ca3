/** Render (docs/render.md): models, entitlements, generations and the gallery's images. */
import { api, listOf } from '../../api/api'
import { searchApi } from '../search/searchApi'
import type { SearchQuery } from '../search/types'
import { imagesPath, withRetryAfter } from './apiHelpers'
import type { Entitlements, GenerationRequest, Image, ImageFilter, ImagePage, Job, JobPage, Model } from './types'

export const renderApi = api.injectEndpoints({
  endpoints: (build) => ({
    getModels: build.query<Model[], void>({
      query: () => 'models',
      transformResponse: listOf<Model>,
      providesTags: ['Models'],
    }),
    /** Every plan's models with their names (public): plan cards, job cards, the gallery. */
    getModelCatalog: build.query<Model[], void>({
      query: () => 'models/catalog',
      transformResponse: listOf<Model>,
      keepUnusedDataFor: 3600,
    }),
    getEntitlements: build.query<Entitlements, void>({
      query: () => 'entitlements',
      providesTags: ['Entitlements'],
    }),
    /** The most recent jobs, so that a reload keeps showing (and following) them. */
    getRecentGenerations: build.query<JobPage, void>({
      query: () => 'generations?limit=6',
      providesTags: ['Generations'],
    }),
    getGeneration: build.query<Job, string>({
      query: (id) => `generations/${encodeURIComponent(id)}`,
    }),
    /** The same key with the same body answers the first job, so a retried submit makes one job. */
    createGeneration: build.mutation<Job, { request: GenerationRequest; idempotencyKey: string }>({
      query: ({ request, idempotencyKey }) => ({
        url: 'generations',
        method: 'POST',
        body: request,
        headers: { 'Idempotency-Key': idempotencyKey },
      }),
      transformErrorResponse: withRetryAfter,
      // The reservation changes the credits left (and a 402 may mean they were stale).
      invalidatesTags: ['Entitlements'],
    }),
    cancelGeneration: build.mutation<Job, string>({
      query: (id) => ({ url: `generations/${encodeURIComponent(id)}/cancel`, method: 'POST' }),
    }),
    /** Newest first, a page per `next_cursor`; the gallery asks for the next page as it scrolls. */
    getImages: build.infiniteQuery<ImagePage, ImageFilter, string>({
      infiniteQueryOptions: {
        initialPageParam: '',
        getNextPageParam: (lastPage) => lastPage.next_cursor || undefined,
      },
      query: ({ queryArg, pageParam }) => imagesPath(queryArg, pageParam),
      providesTags: (result) => [
        { type: 'Images', id: 'LIST' },
        ...(result?.pages ?? []).flatMap((page) => page.items.map((image) => ({ type: 'Images' as const, id: image.id }))),
      ],
    }),
    getImage: build.query<Image, string>({
      query: (id) => `images/${encodeURIComponent(id)}`,
      providesTags: (_result, _error, id) => [{ type: 'Images', id }],
    }),
    deleteImage: build.mutation<unknown, string>({
      query: (id) => ({ url: `images/${encodeURIComponent(id)}`, method: 'DELETE' }),
      // Take it out of every loaded gallery page instead of reloading them all.
      async onQueryStarted(id, { dispatch, getState, queryFulfilled }) {
        try {
          await queryFulfilled
        } catch {
          return
        }
        for (const entry of renderApi.util.selectInvalidatedBy(getState(), [{ type: 'Images', id }])) {
          if (entry.endpointName === 'getImages') {
            dispatch(
              renderApi.util.updateQueryData('getImages', entry.originalArgs as ImageFilter, (draft) => {
                for (const page of draft.pages) page.items = page.items.filter((image) => image.id !== id)
              }),
            )
          } else if (entry.endpointName === 'searchImages') {
            dispatch(
              searchApi.util.updateQueryData('searchImages', entry.originalArgs as SearchQuery, (draft) => {
                for (const page of draft.pages) {
                  const before = page.items.length
                  page.items = page.items.filter((image) => image.id !== id)
                  if (page.items.length < before) draft.pages[0].total = Math.max(0, draft.pages[0].total - 1)
                }
              }),
            )
          }
        }
      },
    }),
  }),
})

export const {
  useGetModelsQuery,
  useGetModelCatalogQuery,
  useGetEntitlementsQuery,
  useGetRecentGenerationsQuery,
  useGetGenerationQuery,
  useLazyGetGenerationQuery,
  useCreateGenerationMutation,
  useCancelGenerationMutation,
  useGetImagesInfiniteQuery,
  useGetImageQuery,
  useLazyGetImageQuery,
  useDeleteImageMutation,
} = renderApi
