/** Webhook endpoints, their health and delivery log, generated from docs/api/openapi.json. */
import type { components } from '../../api/schema'

type S = components['schemas']

export type EventType = S['EventTypeOut']
export type WebhookHealth = S['Health']
export type WebhookEndpoint = S['EndpointOut']
export type WebhookEndpointWithSecret = S['EndpointWithSecret']
export type WebhookDelivery = S['DeliveryOut']
export type WebhookDeliveryDetail = S['DeliveryDetail']
export type WebhookAttempt = S['AttemptOut']
export type DeliveryPage = S['DeliveryPage']
export type SubscribableEvent = S['EndpointIn']['event_types'][number]
export type EndpointInput = { url: string; event_types: string[]; description: string; enabled?: boolean }
export type EndpointPatch = Partial<EndpointInput>
