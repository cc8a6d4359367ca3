/** API keys: listed, created (the key shown once), revoked. */
import { api, listOf } from '../../api/api'
import type { ApiKey, CreatedApiKey, Scope } from './types'

export const apiKeysApi = api.injectEndpoints({
  endpoints: (build) => ({
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
  }),
})

export const {
  useGetApiKeysQuery,
  useCreateApiKeyMutation,
  useRevokeApiKeyMutation,
} = apiKeysApi
