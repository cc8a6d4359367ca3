/** Webhook endpoints: listed with their health, created and rotated (the secret shown once),
 * changed, deleted, tested; each one's delivery log, its attempts and redelivery. */
import { api, listOf } from '../../api/api'
import type {
  DeliveryPage,
  EndpointInput,
  EndpointPatch,
  EventType,
  WebhookDelivery,
  WebhookDeliveryDetail,
  WebhookEndpoint,
  WebhookEndpointWithSecret,
} from './types'

const path = (id: string) => `webhooks/endpoints/${encodeURIComponent(id)}`

export const webhooksApi = api.enhanceEndpoints({ addTagTypes: ['Webhooks', 'WebhookDeliveries'] }).injectEndpoints({
  endpoints: (build) => ({
    getEventTypes: build.query<EventType[], void>({
      query: () => 'webhooks/event-types',
      transformResponse: listOf<EventType>,
    }),
    getEndpoints: build.query<WebhookEndpoint[], void>({
      query: () => 'webhooks/endpoints',
      transformResponse: listOf<WebhookEndpoint>,
      providesTags: ['Webhooks'],
    }),
    createEndpoint: build.mutation<WebhookEndpointWithSecret, EndpointInput>({
      query: (body) => ({ url: 'webhooks/endpoints', method: 'POST', body }),
      invalidatesTags: ['Webhooks', 'AuditLog'],
    }),
    updateEndpoint: build.mutation<WebhookEndpoint, { id: string } & EndpointPatch>({
      query: ({ id, ...body }) => ({ url: path(id), method: 'PATCH', body }),
      invalidatesTags: ['Webhooks', 'AuditLog'],
    }),
    deleteEndpoint: build.mutation<unknown, string>({
      query: (id) => ({ url: path(id), method: 'DELETE' }),
      invalidatesTags: ['Webhooks', 'AuditLog'],
    }),
    rotateSecret: build.mutation<WebhookEndpointWithSecret, string>({
      query: (id) => ({ url: `${path(id)}/rotate-secret`, method: 'POST' }),
      invalidatesTags: ['Webhooks', 'AuditLog'],
    }),
    sendTest: build.mutation<WebhookDelivery, string>({
      query: (id) => ({ url: `${path(id)}/test`, method: 'POST' }),
      invalidatesTags: ['Webhooks', 'WebhookDeliveries'],
    }),
    getDeliveries: build.query<DeliveryPage, { endpointId: string; cursor?: string | null }>({
      query: ({ endpointId, cursor }) =>
        `${path(endpointId)}/deliveries` + (cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''),
      providesTags: ['WebhookDeliveries'],
    }),
    getDelivery: build.query<WebhookDeliveryDetail, string>({
      query: (id) => `webhooks/deliveries/${encodeURIComponent(id)}`,
      providesTags: ['WebhookDeliveries'],
    }),
    redeliver: build.mutation<WebhookDelivery, string>({
      query: (id) => ({ url: `webhooks/deliveries/${encodeURIComponent(id)}/redeliver`, method: 'POST' }),
      invalidatesTags: ['Webhooks', 'WebhookDeliveries'],
    }),
  }),
})

export const {
  useGetEventTypesQuery,
  useGetEndpointsQuery,
  useCreateEndpointMutation,
  useUpdateEndpointMutation,
  useDeleteEndpointMutation,
  useRotateSecretMutation,
  useSendTestMutation,
  useGetDeliveriesQuery,
  useGetDeliveryQuery,
  useRedeliverMutation,
} = webhooksApi
