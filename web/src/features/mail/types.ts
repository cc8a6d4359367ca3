/** The mail service's public API shapes (docs/mail.md; generated from docs/api/openapi.json),
 * normalised as the pages use them. */
import type { components } from '../../api/schema'

type S = components['schemas']

/** Which optional mail the person gets; account and billing mail always arrives. */
export type NotificationPreferences = S['Preferences']

export const NOTIFICATION_KEYS = ['job_completed', 'usage_notices', 'newsletter'] as const
export type NotificationKey = (typeof NOTIFICATION_KEYS)[number]

/** What an unsubscribe link turns off: one category, for one (masked) address. */
export interface UnsubscribeInfo {
  category: string
  /** e.g. a***@example.com; null when mail does not know the address */
  email_masked: string | null
  subscribed: boolean
}

/** From the mail service's `UnsubscribeOut` (`preference`, `email`); the older names too. */
export function unsubscribeInfo(value: unknown): UnsubscribeInfo {
  const data = (value ?? {}) as Partial<S['UnsubscribeOut']> & Record<string, unknown>
  const text = (x: unknown) => (typeof x === 'string' && x ? x : null)
  return {
    category: text(data.category) ?? text(data.preference) ?? '',
    email_masked: text(data.email_masked) ?? text(data.email),
    subscribed: data.subscribed !== false,
  }
}

/** Exactly the three booleans (the PUT refuses unknown keys with 422). */
export function notificationPreferences(value: unknown): NotificationPreferences {
  const data = (value ?? {}) as Partial<Record<NotificationKey, unknown>>
  return {
    job_completed: data.job_completed === true,
    usage_notices: data.usage_notices === true,
    newsletter: data.newsletter === true,
  }
}

export function unsubscribePath(token: string): string {
  return `mail/unsubscribe?token=${encodeURIComponent(token)}`
}
