import { useState } from 'react'
import { PageTitle } from '../components/Layouts'
import { Card } from '../components/ui'
import { useI18n } from '../i18n/I18nProvider'
import { AuditRows } from '../features/auditLog/AuditRows'

export function AuditLogPage() {
  const { t } = useI18n()
  const [cursors, setCursors] = useState<(string | null)[]>([null])
  return (
    <>
      <PageTitle subtitle={t('audit.intro')}>{t('audit.title')}</PageTitle>
      <Card>
        <ul className="divide-y divide-slate-100">
          {cursors.map((cursor, index) => (
            <AuditRows
              key={cursor ?? 'first'}
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
