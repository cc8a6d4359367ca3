/** Render (docs/render.md): models, entitlements, generations and the gallery's images. */
import { api, listOf } from '../../api/api'
import { searchApi } from '../search/searchApi'
import type { SearchQuery } from '../search/types'
import { imagesPath, withRetryAfter } from './apiHelpers'
import type { Entitlements, GenerationRequest, ImageFilter, ImageOrDeleted, ImagePage, Job, JobPage, Model } from './types'
import { isDeleted } from './types'

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
    /** One image; a deleted one (404) is cached as `{id, deleted: true}`, so that every view
     * shows it as deleted at once and nothing asks for it again. */
    getImage: build.query<ImageOrDeleted, string>({
      query: (id) => ({
        url: `images/${encodeURIComponent(id)}`,
        validateStatus: (response) => response.ok || response.status === 404,
      }),
      transformResponse: (body: unknown, meta, id) =>
        (meta as { response?: Response } | undefined)?.response?.status === 404
          ? { id, deleted: true }
          : (body as ImageOrDeleted),
      providesTags: (_result, _error, id) => [{ type: 'Images', id }],
      async onQueryStarted(id, { dispatch, getState, queryFulfilled }) {
        try {
          const { data } = await queryFulfilled
          if (isDeleted(data)) forget(id, dispatch, getState)
        } catch {
          // an error other than 404: the view shows it
        }
      },
    }),
    deleteImage: build.mutation<unknown, string>({
      query: (id) => ({ url: `images/${encodeURIComponent(id)}`, method: 'DELETE' }),
      // Take it out of every loaded gallery page instead of reloading them all, and let every
      // view of it (a job's thumbnails) show it as deleted.
      async onQueryStarted(id, { dispatch, getState, queryFulfilled }) {
        try {
          await queryFulfilled
        } catch {
          return
        }
        forget(id, dispatch, getState)
        void dispatch(renderApi.util.upsertQueryData('getImage', id, { id, deleted: true }))
      },
    }),
  }),
})

type Dispatch = (action: unknown) => unknown
type GetState = () => unknown

/** A deleted image leaves every loaded gallery page and search result. */
function forget(id: string, dispatch: Dispatch, getState: GetState) {
  const state = getState() as Parameters<typeof renderApi.util.selectInvalidatedBy>[0]
  for (const entry of renderApi.util.selectInvalidatedBy(state, [{ type: 'Images', id }])) {
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
}

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
