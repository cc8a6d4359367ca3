import { hasRole } from '../features/session/types'
import { PageTitle } from '../components/Layouts'
import { Notice } from '../components/ui'
import { useMe } from '../components/useMe'
import { useI18n } from '../i18n/I18nProvider'
import { MembersCard } from '../features/team/MembersCard'
import { InviteCard } from '../features/team/InviteCard'
import { InvitationsCard } from '../features/team/InvitationsCard'
import { TeamSettingsCard } from '../features/team/TeamSettingsCard'

export function TeamPage() {
  const { t } = useI18n()
  const me = useMe()
  const isAdmin = hasRole(me.role, 'admin')
  return (
    <>
      <PageTitle testId="team-title" subtitle={me.tenant.name}>{t('team.title')}</PageTitle>
      <MembersCard canManage={isAdmin} />
      {isAdmin ? (
        <>
          <InviteCard />
          <InvitationsCard />
          <TeamSettingsCard />
        </>
      ) : (
        <Notice>{t('team.adminsOnly')}</Notice>
      )}
    </>
  )
}
