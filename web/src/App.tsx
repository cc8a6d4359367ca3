import type { ReactNode } from 'react'
import { Route, Routes } from 'react-router-dom'
import { hasRole, type Role } from './features/session/types'
import { AppLayout, PageTitle } from './components/Layouts'
import { Notice } from './components/ui'
import { useMe } from './components/useMe'
import { useI18n } from './i18n/I18nProvider'
import { AcceptInvitationPage } from './pages/AcceptInvitationPage'
import { AccountPage } from './pages/AccountPage'
import { TenantsPage } from './pages/admin/TenantsPage'
import { ApiKeysPage } from './pages/ApiKeysPage'
import { BillingPage } from './pages/billing/BillingPage'
import { AuditLogPage } from './pages/AuditLogPage'
import { ForgotPasswordPage } from './pages/ForgotPasswordPage'
import { GalleryPage } from './pages/gallery/GalleryPage'
import { GeneratePage } from './pages/generate/GeneratePage'
import { HomePage } from './pages/HomePage'
import { LogInPage } from './pages/LogInPage'
import { NotFoundPage } from './pages/NotFoundPage'
import { ResetPasswordPage } from './pages/ResetPasswordPage'
import { SignUpPage } from './pages/SignUpPage'
import { TeamPage } from './pages/TeamPage'
import { NotificationSettingsPage } from './pages/settings/NotificationSettingsPage'
import { UnsubscribePage } from './pages/UnsubscribePage'
import { VerifyEmailPage } from './pages/VerifyEmailPage'
import { WebhooksPage } from './pages/WebhooksPage'

/** Hides a page from lower roles; the API refuses them anyway (403). */
function RequireRole({ role, children }: { role: Role; children: ReactNode }) {
  const { t } = useI18n()
  const me = useMe()
  if (hasRole(me.role, role)) return <>{children}</>
  return (
    <>
      <PageTitle>{t('error.forbiddenTitle')}</PageTitle>
      <Notice tone="warning">{t('error.forbidden')}</Notice>
    </>
  )
}

/**
 * Route table. The mail links land on /verify-email, /reset-password, /invitations/:token and
 * /unsubscribe (no log-in needed).
 */
export function App() {
  return (
    <Routes>
      <Route path="/signup" element={<SignUpPage />} />
      <Route path="/login" element={<LogInPage />} />
      <Route path="/verify-email" element={<VerifyEmailPage />} />
      <Route path="/forgot-password" element={<ForgotPasswordPage />} />
      <Route path="/reset-password" element={<ResetPasswordPage />} />
      <Route path="/invitations/:token" element={<AcceptInvitationPage />} />
      <Route path="/unsubscribe" element={<UnsubscribePage />} />
      <Route element={<AppLayout />}>
        <Route index element={<HomePage />} />
        <Route path="/generate" element={<GeneratePage />} />
        <Route path="/gallery" element={<GalleryPage />} />
        <Route path="/account" element={<AccountPage />} />
        <Route path="/settings/notifications" element={<NotificationSettingsPage />} />
        <Route path="/team" element={<TeamPage />} />
        <Route path="/billing" element={<BillingPage />} />
        <Route
          path="/api-keys"
          element={
            <RequireRole role="admin">
              <ApiKeysPage />
            </RequireRole>
          }
        />
        <Route
          path="/webhooks"
          element={
            <RequireRole role="admin">
              <WebhooksPage />
            </RequireRole>
          }
        />
        <Route
          path="/audit-log"
          element={
            <RequireRole role="admin">
              <AuditLogPage />
            </RequireRole>
          }
        />
        {/* Operators only: the API answers 403 to anyone else, and the page says so. */}
        <Route path="/admin/tenants" element={<TenantsPage />} />
      </Route>
      <Route path="*" element={<NotFoundPage />} />
    </Routes>
  )
}
