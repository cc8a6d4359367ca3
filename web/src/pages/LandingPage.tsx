/** `/` for a visitor without a session: what Pingvas is, example images, and the ways in. */
import { Link } from 'react-router-dom'
import { LanguagePicker } from '../components/LanguagePicker'
import { PublicPlans } from '../features/billing/PublicPlans'
import { useDocumentTitle } from '../components/useDocumentTitle'
import { useI18n } from '../i18n/I18nProvider'

// Drawn by web/scripts/make-examples.py (no downloads).
const EXAMPLES = [
  { src: '/examples/hanok-snow.webp', caption: 'landing.example.hanok' },
  { src: '/examples/lighthouse.webp', caption: 'landing.example.lighthouse' },
  { src: '/examples/penguin-aurora.webp', caption: 'landing.example.penguin' },
] as const

export function LandingPage() {
  const { t } = useI18n()
  useDocumentTitle(t('landing.documentTitle'))
  return (
    <div className="min-h-screen" data-testid="landing">
      <header className="mx-auto flex max-w-5xl items-center justify-between px-4 py-4 sm:px-6">
        <span className="flex items-center gap-2 text-lg font-bold tracking-tight text-slate-900">
          <span aria-hidden="true" className="inline-block h-7 w-7 rounded-lg bg-indigo-600 ring-4 ring-indigo-100" />
          Pingvas
        </span>
        <div className="flex items-center gap-3">
          <LanguagePicker />
          <Link to="/login" data-testid="landing-login" className="text-sm font-semibold text-indigo-600 hover:text-indigo-500">
            {t('login.title')}
          </Link>
        </div>
      </header>
      <main className="mx-auto max-w-5xl space-y-10 px-4 pb-16 pt-8 sm:px-6">
        <section className="space-y-4 text-center">
          <h1 className="text-3xl font-bold tracking-tight text-slate-900 sm:text-4xl">{t('landing.headline')}</h1>
          <p className="mx-auto max-w-2xl text-slate-600">{t('landing.intro')}</p>
          <div className="flex justify-center gap-3">
            <Link
              to="/signup"
              data-testid="landing-signup"
              className="rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-500"
            >
              {t('landing.signup')}
            </Link>
            <Link to="/login" className="rounded-md border border-slate-300 px-4 py-2 text-sm font-semibold text-slate-700 hover:bg-slate-50">
              {t('login.title')}
            </Link>
          </div>
        </section>
        <section aria-labelledby="landing-examples" className="space-y-3">
          <h2 id="landing-examples" className="text-lg font-semibold text-slate-900">
            {t('landing.examples')}
          </h2>
          <ul className="grid gap-4 sm:grid-cols-3">
            {EXAMPLES.map((example) => (
              <li key={example.src} className="overflow-hidden rounded-lg border border-slate-200 bg-white">
                <img src={example.src} alt={t(example.caption)} width={256} height={256} className="aspect-square w-full object-cover" />
                <p className="px-3 py-2 text-sm text-slate-600">{t(example.caption)}</p>
              </li>
            ))}
          </ul>
        </section>
        <section className="space-y-2 rounded-lg border border-slate-200 bg-white p-6">
          <h2 className="text-lg font-semibold text-slate-900">{t('landing.plansTitle')}</h2>
          <p className="text-sm text-slate-600">{t('landing.plans')}</p>
          <PublicPlans />
        </section>
      </main>
    </div>
  )
}
