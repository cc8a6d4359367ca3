import { createApi } from '@reduxjs/toolkit/query/react'
import { baseQuery } from './baseQuery'
import type {
  ApiKey,
  AuditPage,
  CreatedApiKey,
  Invitation,
  InvitationInfo,
  Me,
  Member,
  Role,
  Scope,
  SessionResponse,
  SignUpAccepted,
  SignUpRequest,
} from './types'
import type {
  Entitlements,
  GenerationRequest,
  Image,
  ImageFilter,
  ImagePage,
  Job,
  JobPage,
  Model,
} from '../features/render/types'
import { imagesPath, withRetryAfter } from '../features/render/apiHelpers'
import type {
  CheckoutRequest,
  Credits,
  Payment,
  Plan,
  RedirectUrl,
  Subscription,
  Usage,
  UsageQuery,
} from '../features/billing/types'
import { normalizePlan } from '../features/billing/normalize'
import { usagePath } from '../features/billing/usage'
import type { SearchHit, SearchPage, SearchQuery, Suggestion, TenantFilter, TenantPage } from '../features/search/types'
import { searchPath, suggestPath, tenantsPath } from '../features/search/params'

const TAGS = [
  'Me',
  'Members',
  'Invitations',
  'ApiKeys',
  'AuditLog',
  'Models',
  'Entitlements',
  'Generations',
  'Images',
  'Plans',
  'Billing',
  'NotificationPreferences',
  'Search',
  'AdminTenants',
] as const

// --- mail (docs/mail.md) ---------------------------------------------------------
/** Which optional mail the person gets; account and billing mail always arrives. */
export interface NotificationPreferences {
  job_completed: boolean
  usage_notices: boolean
  newsletter: boolean
}

export const NOTIFICATION_KEYS = ['job_completed', 'usage_notices', 'newsletter'] as const
export type NotificationKey = (typeof NOTIFICATION_KEYS)[number]

/** What an unsubscribe link turns off: one category, for one (masked) address. */
export interface UnsubscribeInfo {
  category: string
  /** e.g. a***@example.com; null when mail does not know the address */
  email_masked: string | null
  subscribed: boolean
}

/** Also takes the mail service's own names for the fields (`preference`, `email`). */
function unsubscribeInfo(value: unknown): UnsubscribeInfo {
  const data = (value ?? {}) as Record<string, unknown>
  const text = (x: unknown) => (typeof x === 'string' && x ? x : null)
  return {
    category: text(data.category) ?? text(data.preference) ?? '',
    email_masked: text(data.email_masked) ?? text(data.email),
    subscribed: data.subscribed !== false,
  }
}

/** Exactly the three booleans (the PUT refuses unknown keys with 422). */
function notificationPreferences(value: unknown): NotificationPreferences {
  const data = (value ?? {}) as Partial<Record<NotificationKey, unknown>>
  return {
    job_completed: data.job_completed === true,
    usage_notices: data.usage_notices === true,
    newsletter: data.newsletter === true,
  }
}

// --- search (docs/search.md) ------------------------------------------------------
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

function unsubscribePath(token: string): string {
  return `mail/unsubscribe?token=${encodeURIComponent(token)}`
}

// Lists may come bare or wrapped in {items}; accept both.
function listOf<T>(response: unknown): T[] {
  if (Array.isArray(response)) return response as T[]
  const items = (response as { items?: unknown } | null)?.items
  return Array.isArray(items) ? (items as T[]) : []
}

export const api = createApi({
  reducerPath: 'api',
  baseQuery,
  tagTypes: TAGS,
  endpoints: (build) => ({
    // --- sessions -------------------------------------------------------------
    // 202 with no tokens: sign-up starts no session (the person verifies, then logs in).
    signUp: build.mutation<SignUpAccepted, SignUpRequest>({
      query: (body) => ({ url: 'auth/signup', method: 'POST', body }),
    }),
    verifyEmail: build.mutation<unknown, { token: string }>({
      query: (body) => ({ url: 'auth/verify-email', method: 'POST', body }),
      invalidatesTags: ['Me'],
    }),
    logIn: build.mutation<SessionResponse, { email: string; password: string }>({
      query: (body) => ({ url: 'auth/login', method: 'POST', body }),
      invalidatesTags: [...TAGS],
    }),
    logOut: build.mutation<unknown, void>({
      query: () => ({ url: 'auth/logout', method: 'POST', body: {} }),
    }),
    switchTenant: build.mutation<SessionResponse, { tenant_id: string }>({
      query: (body) => ({ url: 'auth/switch-tenant', method: 'POST', body }),
      invalidatesTags: [...TAGS],
    }),
    requestPasswordReset: build.mutation<unknown, { email: string }>({
      query: (body) => ({ url: 'auth/password-reset', method: 'POST', body }),
    }),
    confirmPasswordReset: build.mutation<
      unknown,
      // revoke_api_keys: also end the API keys of the teams the person owns (ignored elsewhere)
      { token: string; password: string; revoke_api_keys?: boolean }
    >({
      query: (body) => ({ url: 'auth/password-reset/confirm', method: 'POST', body }),
    }),
    getMe: build.query<Me, void>({
      query: () => 'me',
      providesTags: ['Me'],
    }),

    // --- team -----------------------------------------------------------------
    getMembers: build.query<Member[], void>({
      query: () => 'members',
      transformResponse: listOf<Member>,
      providesTags: ['Members'],
    }),
    changeRole: build.mutation<unknown, { user_id: string; role: Role }>({
      query: ({ user_id, role }) => ({
        url: `members/${encodeURIComponent(user_id)}`,
        method: 'PATCH',
        body: { role },
      }),
      invalidatesTags: ['Members', 'Me', 'AuditLog'],
    }),
    removeMember: build.mutation<unknown, string>({
      query: (userId) => ({ url: `members/${encodeURIComponent(userId)}`, method: 'DELETE' }),
      invalidatesTags: ['Members', 'AuditLog'],
    }),
    getInvitations: build.query<Invitation[], void>({
      query: () => 'invitations',
      transformResponse: listOf<Invitation>,
      providesTags: ['Invitations'],
    }),
    invite: build.mutation<Invitation, { email: string; role: Role }>({
      query: (body) => ({ url: 'invitations', method: 'POST', body }),
      invalidatesTags: ['Invitations'],
    }),
    getInvitation: build.query<InvitationInfo, string>({
      query: (token) => `invitations/${encodeURIComponent(token)}`,
    }),
    acceptInvitation: build.mutation<SessionResponse, { token: string; name?: string; password?: string }>({
      query: ({ token, ...body }) => ({
        url: `invitations/${encodeURIComponent(token)}/accept`,
        method: 'POST',
        body,
      }),
      invalidatesTags: [...TAGS],
    }),
    deleteTenant: build.mutation<unknown, { confirm: string }>({
      query: (body) => ({ url: 'tenant', method: 'DELETE', body }),
    }),

    // --- API keys and audit ---------------------------------------------------
    getApiKeys: build.query<ApiKey[], void>({
      query: () => 'api-keys',
      transformResponse: listOf<ApiKey>,
      providesTags: ['ApiKeys'],
    }),
    createApiKey: build.mutation<CreatedApiKey, { name: string; scopes: Scope[] }>({
      query: (body) => ({ url: 'api-keys', method: 'POST', body }),
      invalidatesTags: ['ApiKeys', 'AuditLog'],
    }),
    revokeApiKey: build.mutation<unknown, string>({
      query: (id) => ({ url: `api-keys/${encodeURIComponent(id)}`, method: 'DELETE' }),
      invalidatesTags: ['ApiKeys', 'AuditLog'],
    }),
    getAuditLog: build.query<AuditPage, string | null>({
      query: (cursor) => (cursor ? `audit-log?cursor=${encodeURIComponent(cursor)}` : 'audit-log'),
      providesTags: ['AuditLog'],
    }),

    // --- render: generations, images, models, entitlements (docs/render.md) ----
    getModels: build.query<Model[], void>({
      query: () => 'models',
      transformResponse: listOf<Model>,
      providesTags: ['Models'],
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
        for (const entry of api.util.selectInvalidatedBy(getState(), [{ type: 'Images', id }])) {
          if (entry.endpointName === 'getImages') {
            dispatch(
              api.util.updateQueryData('getImages', entry.originalArgs as ImageFilter, (draft) => {
                for (const page of draft.pages) page.items = page.items.filter((image) => image.id !== id)
              }),
            )
          } else if (entry.endpointName === 'searchImages') {
            dispatch(
              api.util.updateQueryData('searchImages', entry.originalArgs as SearchQuery, (draft) => {
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

    // --- search: the gallery's search and the operators' tenant directory (docs/search.md)
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

    // --- billing: plans, subscription, credits, usage, payments (docs/billing.md) --
    getBillingPlans: build.query<Plan[], void>({
      query: () => 'billing/plans',
      transformResponse: (response: unknown) => listOf<unknown>(response).map(normalizePlan),
      providesTags: ['Plans'],
    }),
    getSubscription: build.query<Subscription, void>({
      query: () => 'billing/subscription',
      providesTags: ['Billing'],
    }),
    getCredits: build.query<Credits, void>({
      query: () => 'billing/credits',
      providesTags: ['Billing'],
    }),
    getUsage: build.query<Usage, UsageQuery>({
      query: usagePath,
      providesTags: ['Billing'],
    }),
    getPayments: build.query<Payment[], void>({
      query: () => 'billing/payments',
      transformResponse: listOf<Payment>,
      providesTags: ['Billing'],
    }),
    /** A Lemon Squeezy checkout to send the owner to; 503 where payments are not configured. */
    createCheckout: build.mutation<RedirectUrl, CheckoutRequest>({
      query: (body) => ({ url: 'billing/checkout', method: 'POST', body }),
    }),
    /** A GET, but a mutation: the portal URL is signed and short-lived, so it is never cached. */
    getPortalUrl: build.mutation<RedirectUrl, void>({
      query: () => ({ url: 'billing/portal' }),
    }),

    // --- mail: notification preferences and unsubscribe links (docs/mail.md) --------
    getNotificationPreferences: build.query<NotificationPreferences, void>({
      query: () => 'notification-preferences',
      transformResponse: notificationPreferences,
      providesTags: ['NotificationPreferences'],
    }),
    /** The whole set; what comes back (the saved set, or the request's on a 204) is cached. */
    updateNotificationPreferences: build.mutation<NotificationPreferences, NotificationPreferences>({
      query: (body) => ({ url: 'notification-preferences', method: 'PUT', body: notificationPreferences(body) }),
      transformResponse: (response: unknown, _meta, arg) =>
        notificationPreferences(response && typeof response === 'object' ? response : arg),
      async onQueryStarted(_arg, { dispatch, queryFulfilled }) {
        try {
          const { data } = await queryFulfilled
          dispatch(api.util.updateQueryData('getNotificationPreferences', undefined, () => data))
        } catch {
          // the error is shown by the page; the cached preferences are still what is saved
        }
      },
    }),
    /** Public: the link from a mail, no log-in. 400/404 (422: malformed) for a bad token. */
    getUnsubscribe: build.query<UnsubscribeInfo, string>({
      query: unsubscribePath,
      transformResponse: unsubscribeInfo,
    }),
    /** Turns that one category off; idempotent. */
    unsubscribe: build.mutation<unknown, string>({
      query: (token) => ({ url: unsubscribePath(token), method: 'POST' }),
    }),
  }),
})

export const {
  useSignUpMutation,
  useVerifyEmailMutation,
  useLogInMutation,
  useLogOutMutation,
  useSwitchTenantMutation,
  useRequestPasswordResetMutation,
  useConfirmPasswordResetMutation,
  useGetMeQuery,
  useGetMembersQuery,
  useChangeRoleMutation,
  useRemoveMemberMutation,
  useGetInvitationsQuery,
  useInviteMutation,
  useGetInvitationQuery,
  useAcceptInvitationMutation,
  useDeleteTenantMutation,
  useGetApiKeysQuery,
  useCreateApiKeyMutation,
  useRevokeApiKeyMutation,
  useGetAuditLogQuery,
  useGetModelsQuery,
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
  useSearchImagesInfiniteQuery,
  useSearchSuggestQuery,
  useGetAdminTenantsInfiniteQuery,
  useGetBillingPlansQuery,
  useGetSubscriptionQuery,
  useGetCreditsQuery,
  useGetUsageQuery,
  useGetPaymentsQuery,
  useCreateCheckoutMutation,
  useGetPortalUrlMutation,
  useGetNotificationPreferencesQuery,
  useUpdateNotificationPreferencesMutation,
  useGetUnsubscribeQuery,
  useUnsubscribeMutation,
} = api
