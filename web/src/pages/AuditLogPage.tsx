import { useMemo, useState } from 'react'
import { PageTitle } from '../components/Layouts'
import { Button, Card, SelectField, TextField } from '../components/ui'
import { useI18n } from '../i18n/I18nProvider'
import { AuditRows } from '../features/auditLog/AuditRows'
import type { AuditFilter } from '../features/auditLog/auditLogApi'
import { ACTION_FAMILIES } from '../features/auditLog/describe'
import { endOfDay, startOfDay } from '../features/render/apiHelpers'
import { useGetMembersQuery } from '../features/team/teamApi'

const NO_FILTER = { actor_id: '', action: '', from: '', to: '' }

export function AuditLogPage() {
  const { t } = useI18n()
  // what the form holds: dates are the browser's days (YYYY-MM-DD)
  const [form, setForm] = useState(NO_FILTER)
  const [cursors, setCursors] = useState<(string | null)[]>([null])
  const members = useGetMembersQuery()
  const filter: AuditFilter = useMemo(
    () => ({
      actor_id: form.actor_id,
      action: form.action,
      from: form.from ? startOfDay(form.from) : null,
      to: form.to ? endOfDay(form.to) : null,
    }),
    [form],
  )
  const filtered = Object.values(form).some(Boolean)
  function set(key: keyof typeof NO_FILTER, value: string) {
    setForm((current) => ({ ...current, [key]: value }))
    setCursors([null])
  }
  return (
    <>
      <PageTitle subtitle={t('audit.intro')}>{t('audit.title')}</PageTitle>
      <Card>
        <div role="group" aria-label={t('audit.filters')} className="mb-4 grid gap-3 sm:grid-cols-2 lg:grid-cols-[1fr_1fr_auto_auto_auto] lg:items-end">
          <SelectField label={t('audit.person')} value={form.actor_id} onChange={(event) => set('actor_id', event.target.value)}>
            <option value="">{t('audit.anyone')}</option>
            {(members.data ?? []).map((member) => (
              <option key={member.user_id} value={member.user_id}>
                {member.name || member.email}
              </option>
            ))}
          </SelectField>
          <SelectField label={t('audit.action')} value={form.action} onChange={(event) => set('action', event.target.value)}>
            <option value="">{t('audit.anyAction')}</option>
            {ACTION_FAMILIES.map((family) => (
              <option key={family.value} value={family.value}>
                {t(family.label)}
              </option>
            ))}
          </SelectField>
          <TextField label={t('audit.from')} type="date" value={form.from} max={form.to || undefined} onChange={(event) => set('from', event.target.value)} />
          <TextField label={t('audit.to')} type="date" value={form.to} min={form.from || undefined} onChange={(event) => set('to', event.target.value)} />
          <Button
            variant="ghost"
            disabled={!filtered}
            onClick={() => {
              setForm(NO_FILTER)
              setCursors([null])
            }}
          >
            {t('audit.clearFilters')}
          </Button>
        </div>
        <ul className="divide-y divide-slate-100" data-testid="audit-log">
          {cursors.map((cursor, index) => (
            <AuditRows
              key={`${JSON.stringify(filter)}:${cursor ?? 'first'}`}
              filter={filter}
              filtered={filtered}
              cursor={cursor}
              isLast={index === cursors.length - 1}
              onMore={(next) => setCursors((current) => [...current, next])}
            />
          ))}
        </ul>
      </Card>
    </>
  )
}
