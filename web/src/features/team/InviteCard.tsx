import { codeOf, problemOf } from '../../api/problem'
import { ResendVerificationButton } from '../session/ResendVerification'
import { useState, type FormEvent } from 'react'
import { useInviteMutation } from './teamApi'
import { type Role } from '../session/types'
import { Button, Card, ErrorBanner, Notice, SelectField, TextField } from '../../components/ui'
import { useFormErrors } from '../../components/useFormErrors'
import { useMe } from '../../components/useMe'
import { useI18n } from '../../i18n/I18nProvider'
import { assignableRoles } from './roles'

const INVITE_FIELDS = ['email', 'role'] as const

export function InviteCard() {
  const { t } = useI18n()
  const me = useMe()
  const [email, setEmail] = useState('')
  const [role, setRole] = useState<Role>('member')
  const [invite, { isLoading, error, isSuccess, reset }] = useInviteMutation()
  const errors = useFormErrors(error, INVITE_FIELDS)
  const [sentTo, setSentTo] = useState('')

  async function submit(event: FormEvent) {
    event.preventDefault()
    const result = await invite({ email, role })
    if (!('error' in result)) {
      setSentTo(email)
      setEmail('')
    }
  }

  return (
    <Card title={t('team.invite')}>
      <form onSubmit={submit} className="space-y-4" data-testid="invite-form">
        <ErrorBanner message={errors.banner} />
        {codeOf(problemOf(error)) === 'email-not-verified' && <ResendVerificationButton />}
        {isSuccess && sentTo && (
          <div data-testid="invite-sent">
            <Notice tone="success">{t('team.invited', { email: sentTo })}</Notice>
          </div>
        )}
        <div className="grid gap-4 sm:grid-cols-[1fr_12rem_auto] sm:items-start">
          <TextField
            label={t('field.email')}
            name="email"
            type="email"
            required
            autoComplete="off"
            value={email}
            onChange={(event) => {
              setEmail(event.target.value)
              if (isSuccess) reset()
            }}
            error={errors.fields.email}
          />
          <SelectField
            label={t('field.role')}
            name="role"
            value={role}
            onChange={(event) => setRole(event.target.value as Role)}
            error={errors.fields.role}
          >
            {assignableRoles(me.role).map((option) => (
              <option key={option} value={option}>
                {t(`role.${option}`)}
              </option>
            ))}
          </SelectField>
          <Button type="submit" busy={isLoading} className="sm:mt-6">
            {t('team.sendInvite')}
          </Button>
        </div>
      </form>
    </Card>
  )
}
