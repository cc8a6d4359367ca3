/** API keys and the scopes they may carry. */
export const SCOPES = [
  'generations:read',
  'generations:write',
  'images:read',
  'images:write',
  'search:read',
  'webhooks:write',
] as const
export type Scope = (typeof SCOPES)[number]

export interface ApiKey {
  id: string
  name: string
  prefix: string
  scopes: Scope[]
  created_at: string
  last_used_at: string | null
  revoked_at: string | null
}

export interface CreatedApiKey extends ApiKey {
  /** The whole key; the API shows it this once. */
  key: string
}
