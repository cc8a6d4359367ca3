import type { ReactNode } from 'react'
import { Link, NavLink, Navigate, Outlet, useLocation } from 'react-router-dom'
import { useGetMeQuery } from '../features/session/sessionApi'
import { httpStatus } from '../api/problem'
import { hasRole, inTeam, isOperator, type TeamMe } from '../features/session/types'
import { useI18n } from '../i18n/I18nProvider'
import { AccountMenu, HeaderCredits } from './AccountMenu'
import { LanguagePicker } from './LanguagePicker'
import { TenantSwitcher } from './TenantSwitcher'
import { Button, ErrorBanner, Loading } from './ui'
import { useDocumentTitle } from './useDocumentTitle'
import { useErrorMessage } from './useFormErrors'
import { LandingPage } from '../pages/LandingPage'

function Brand() {
  return (
    <Link to="/" className="flex items-center gap-2 text-lg font-bold tracking-tight text-slate-900">
      <span aria-hidden="true" className="inline-block h-7 w-7 rounded-lg bg-indigo-600 ring-4 ring-indigo-100" />
      Pingvas
    </Link>
  )
}

/** Pages for signed-out visitors: one centred card. */
export function PublicLayout({ title, children }: { title: string; children: ReactNode }) {
  useDocumentTitle(title)
  return (
    <div className="flex min-h-screen flex-col">
      <header className="flex items-center justify-between px-4 py-4 sm:px-8">
        <Brand />
        <LanguagePicker />
      </header>
      <main className="flex flex-1 items-start justify-center px-4 pb-16 pt-6 sm:pt-12">
        <div className="w-full max-w-md rounded-xl border border-slate-200 bg-white p-6 shadow-sm sm:p-8">
          <h1 className="mb-6 text-2xl font-semibold text-slate-900">{title}</h1>
          {children}
        </div>
      </main>
    </div>
  )
}

/** `section`: other paths that belong to this item (the account's /settings/... pages). */
function NavItem({ to, section, children }: { to: string; section?: string; children: ReactNode }) {
  const { pathname } = useLocation()
  const inSection = section !== undefined && (pathname === section || pathname.startsWith(section + '/'))
  return (
    <NavLink
      to={to}
      end={to === '/'}
      className={({ isActive }) =>
        `rounded-md px-3 py-2 text-sm font-medium ${
          isActive || inSection
            ? 'bg-indigo-50 text-indigo-700'
            : 'text-slate-600 hover:bg-slate-100 hover:text-slate-900'
        }`
      }
    >
      {children}
    </NavLink>
  )
}

function AppHeader({ me }: { me: TeamMe }) {
  const { t } = useI18n()
  const isAdmin = hasRole(me.role, 'admin')
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-5xl flex-wrap items-center gap-x-6 gap-y-3 px-4 py-3 sm:px-6">
        <Brand />
        <nav aria-label={t('nav.label')} className="order-3 flex w-full flex-wrap gap-1 sm:order-none sm:w-auto">
          <NavItem to="/">{t('nav.home')}</NavItem>
          <NavItem to="/generate">{t('nav.generate')}</NavItem>
          <NavItem to="/gallery">{t('nav.gallery')}</NavItem>
          <NavItem to="/team">{t('nav.team')}</NavItem>
          <NavItem to="/billing">{t('nav.billing')}</NavItem>
          {isAdmin && <NavItem to="/api-keys">{t('nav.apiKeys')}</NavItem>}
          {isAdmin && <NavItem to="/webhooks">{t('nav.webhooks')}</NavItem>}
          {isAdmin && <NavItem to="/audit-log">{t('nav.auditLog')}</NavItem>}
          {isOperator(me) && <NavItem to="/admin/tenants">{t('nav.tenants')}</NavItem>}
          <NavItem to="/account" section="/settings">
            {t('nav.account')}
          </NavItem>
        </nav>
        <div className="ml-auto flex flex-wrap items-center gap-3">
          <HeaderCredits />
          <TenantSwitcher me={me} />
          <LanguagePicker />
          <AccountMenu me={me} />
        </div>
      </div>
    </header>
  )
}

/** Signed-in pages: loads `GET me`; a 401 (after the refresh retry) sends the visitor to log-in. */
export function AppLayout() {
  const { t } = useI18n()
  const location = useLocation()
  const me = useGetMeQuery()
  const message = useErrorMessage(me.error)

  if (me.isLoading) {
    return (
      <div className="mx-auto max-w-5xl px-4">
        <Loading />
      </div>
    )
  }
  if (httpStatus(me.error) === 401) {
    // `/` for a visitor without a session is the public home page
    if (location.pathname === '/') return <LandingPage />
    const next = location.pathname + location.search
    return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />
  }
  if (!me.data) {
    return (
      <div className="mx-auto max-w-md space-y-4 px-4 py-16">
        <ErrorBanner message={message ?? t('error.generic')} />
        <Button onClick={() => me.refetch()}>{t('common.retry')}</Button>
      </div>
    )
  }
  if (!inTeam(me.data)) {
    // `GET me` answers no tenant for a person who acts in no team (e.g. after leaving it)
    return (
      <div className="mx-auto max-w-md space-y-4 px-4 py-16" data-testid="no-team">
        <h1 className="text-2xl font-semibold text-slate-900">{t('error.noTeamTitle')}</h1>
        <ErrorBanner message={t('error.noTeam')} />
      </div>
    )
  }
  return (
    <div className="min-h-screen">
      <AppHeader me={me.data} />
      <main className="mx-auto max-w-5xl space-y-6 px-4 py-8 sm:px-6">
        <Outlet context={me.data} />
      </main>
    </div>
  )
}

export function PageTitle({
  children,
  subtitle,
  testId,
}: {
  children: ReactNode
  subtitle?: ReactNode
  testId?: string
}) {
  useDocumentTitle(typeof children === 'string' ? children : null)
  return (
    <div data-testid={testId}>
      <h1 className="text-2xl font-semibold text-slate-900">{children}</h1>
      {subtitle && (
        <p className="mt-1 text-sm text-slate-600" data-testid={testId && `${testId}-subtitle`}>
          {subtitle}
        </p>
      )}
    </div>
  )
}
