import { ResendVerificationButton } from '../features/session/ResendVerification'
import { Link } from 'react-router-dom'
import { PageTitle } from '../components/Layouts'
import { Card, Notice } from '../components/ui'
import { useMe } from '../components/useMe'
import { useI18n } from '../i18n/I18nProvider'

export function HomePage() {
  const { t } = useI18n()
  const me = useMe()
  return (
    <>
      <PageTitle testId="home-title" subtitle={t('home.team', { team: me.tenant.name })}>
        {t('home.welcome', { name: me.user.name || me.user.email })}
      </PageTitle>
      {!me.user.email_verified && (
        <Notice tone="warning">
          {t('home.unverified', { email: me.user.email })}
          <ResendVerificationButton />
        </Notice>
      )}
      <Card title={t('home.generateTitle')}>
        <div className="flex min-h-40 flex-col items-center justify-center gap-4 rounded-lg border-2 border-dashed border-slate-200 p-8 text-center">
          <p className="text-slate-600">{t('home.generateIntro')}</p>
          <div className="flex gap-3">
            <Link to="/generate" data-testid="home-generate" className="rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-500">
              {t('home.generateCta')}
            </Link>
            <Link to="/gallery" className="rounded-md border border-slate-300 px-4 py-2 text-sm font-medium text-slate-700 hover:bg-slate-50">
              {t('home.galleryCta')}
            </Link>
          </div>
        </div>
      </Card>
    </>
  )
}
