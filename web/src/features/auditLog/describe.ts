/** An audit entry in words, in the reader's language: "김민지님이 a@b.com을(를) 초대했습니다". */
import type { MessageKey } from '../../i18n/en'
import type { Translate } from '../../i18n/I18nProvider'
import type { AuditEntry } from './types'

/** The sentence of each action tenants records; anything newer reads as its action name. */
const SENTENCES: Record<string, MessageKey> = {
  'invitation.sent': 'audit.did.invitationSent',
  'invitation.renewed': 'audit.did.invitationRenewed',
  'invitation.revoked': 'audit.did.invitationRevoked',
  'invitation.accepted': 'audit.did.invitationAccepted',
  'member.role_changed': 'audit.did.roleChanged',
  'member.removed': 'audit.did.memberRemoved',
  'member.left': 'audit.did.memberLeft',
  'login.succeeded': 'audit.did.loginSucceeded',
  'login.failed': 'audit.did.loginFailed',
  'password.reset': 'audit.did.passwordReset',
  'password.changed': 'audit.did.passwordChanged',
  'apikey.created': 'audit.did.apiKeyCreated',
  'apikey.revoked': 'audit.did.apiKeyRevoked',
  'tenant.deleted': 'audit.did.teamDeleted',
  'image.deleted': 'audit.did.imageDeleted',
  'webhook.created': 'audit.did.webhookCreated',
  'webhook.updated': 'audit.did.webhookUpdated',
  'webhook.deleted': 'audit.did.webhookDeleted',
  'webhook.secret_rotated': 'audit.did.webhookSecretRotated',
  'webhook.redelivered': 'audit.did.webhookRedelivered',
  'webhook.callback_secret_rotated': 'audit.did.callbackSecretRotated',
  'webhook.disabled': 'audit.did.webhookDisabled',
}

/** The families the action filter offers (`action=invitation` matches `invitation.*`). */
export const ACTION_FAMILIES: { value: string; label: MessageKey }[] = [
  { value: 'invitation', label: 'audit.family.invitation' },
  { value: 'member', label: 'audit.family.member' },
  { value: 'login', label: 'audit.family.login' },
  { value: 'password', label: 'audit.family.password' },
  { value: 'apikey', label: 'audit.family.apikey' },
  { value: 'image', label: 'audit.family.image' },
  { value: 'tenant', label: 'audit.family.tenant' },
  { value: 'webhook', label: 'audit.family.webhook' },
]

const ROLES = new Set(['owner', 'admin', 'member'])

function text(value: unknown): string {
  return typeof value === 'string' ? value : ''
}

function role(t: Translate, value: unknown): string {
  const name = text(value)
  return ROLES.has(name) ? t(`role.${name as 'owner' | 'admin' | 'member'}`) : name
}

/** Who did it, as the sentence's subject (Korean adds its particle here: "김민지님이"). */
function subject(t: Translate, entry: AuditEntry): string {
  const name = entry.actor_name || entry.actor_email
  if (entry.actor_kind === 'api_key') return t('audit.who.apiKey', { name: name || '—' })
  if (entry.actor_kind === 'system' || (!entry.actor_kind && !entry.actor_id)) return t('audit.who.system')
  if (name) return t('audit.who.person', { name })
  return t('audit.who.someone')
}

/** The plain name of who did it, for filters and the unknown-action fallback. */
export function actorName(entry: AuditEntry): string {
  return entry.actor_name || entry.actor_email || entry.actor_id || '—'
}

export function describe(t: Translate, entry: AuditEntry): string {
  const details = (entry.details ?? {}) as Record<string, unknown>
  const who = subject(t, entry)
  const vars = {
    who,
    email: text(details.email) || entry.target_email || '—',
    target: entry.target_name || entry.target_email || '—',
    role: role(t, details.role),
    from: role(t, details.from),
    to: role(t, details.to),
    name: text(details.name) || text(details.prefix) || '—',
    url: text(details.url) || '—',
  }
  if (entry.action === 'tenant.settings_changed') {
    const any = details.member_image_deletion === 'any'
    return t(any ? 'audit.did.imageDeletionAny' : 'audit.did.imageDeletionOwn', vars)
  }
  const key = SENTENCES[entry.action]
  return key ? t(key, vars) : t('audit.did.other', { name: actorName(entry), action: entry.action })
}
