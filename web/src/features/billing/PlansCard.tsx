import { useState } from 'react'
import { useCreateCheckoutMutation, useGetBillingPlansQuery } from './billingApi'
import { Badge, Button, Card, ErrorBanner, Loading } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import { formatMoney, isFreePlan, priceFor } from './money'
import { redirectTo } from './redirect'
import type { Interval, Plan, PlanCode } from './types'
import { useOpenPortal } from './useOpenPortal'
import { useI18n } from '../../i18n/I18nProvider'
import { planModels } from '../render/names'
import { useGetModelCatalogQuery } from '../render/renderApi'

/** Percent saved by paying yearly instead of twelve months; null when there is nothing to compare. */
function yearlySaving(plan: Plan): number | null {
  const month = priceFor(plan, 'month')
  const year = priceFor(plan, 'year')
  if (!month || !year || month.currency !== year.currency || month.amount_minor <= 0) return null
  const saving = Math.round((1 - year.amount_minor / (month.amount_minor * 12)) * 100)
  return saving > 0 ? saving : null
}

function IntervalToggle({ value, onChange }: { value: Interval; onChange: (interval: Interval) => void }) {
  const { t } = useI18n()
  const options: { interval: Interval; label: string }[] = [
    { interval: 'month', label: t('billing.interval.monthly') },
    { interval: 'year', label: t('billing.interval.yearly') },
  ]
  return (
    <div role="group" aria-label={t('billing.interval.label')} className="inline-flex rounded-lg bg-slate-100 p-1">
      {options.map((option) => (
        <button
          key={option.interval}
          type="button"
          aria-pressed={value === option.interval}
          data-testid={`billing-interval-${option.interval}`}
          onClick={() => onChange(option.interval)}
          className={`rounded-md px-3 py-1.5 text-sm font-medium focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 ${
            value === option.interval ? 'bg-white text-slate-900 shadow-sm' : 'text-slate-600 hover:text-slate-900'
          }`}
        >
          {option.label}
        </button>
      ))}
    </div>
  )
}

/**
 * The plans side by side, priced per month or per year. An owner on Free upgrades through a
 * Lemon Squeezy checkout; an owner with a paid subscription changes plan in the portal (a
 * second checkout would start a second subscription).
 */
export function PlansCard({
  currentPlan,
  hasSubscription,
  isOwner,
  initialInterval,
}: {
  currentPlan: PlanCode
  hasSubscription: boolean
  isOwner: boolean
  initialInterval: Interval
}) {
  const { t, locale } = useI18n()
  const plans = useGetBillingPlansQuery()
  const catalog = useGetModelCatalogQuery()
  const plansError = useErrorMessage(plans.error)
  const [interval, setBillingInterval] = useState<Interval>(initialInterval)
  const [checkout, checkoutState] = useCreateCheckoutMutation()
  const checkoutError = useErrorMessage(checkoutState.error)
  const portal = useOpenPortal()
  const portalError = useErrorMessage(portal.error)
  const [pending, setPending] = useState<PlanCode | null>(null)

  async function upgrade(plan: PlanCode) {
    setPending(plan)
    const result = await checkout({ plan, interval })
    if ('data' in result && result.data?.url) {
      redirectTo(result.data.url)
    } else {
      setPending(null)
    }
  }

  return (
    <Card title={t('billing.plans.title')} actions={<IntervalToggle value={interval} onChange={setBillingInterval} />}>
      {plans.isLoading && <Loading />}
      <ErrorBanner message={plansError} />
      <div className="space-y-3">
        <ErrorBanner message={checkoutError ?? portalError} />
        {plans.data && (
          <ul className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
            {plans.data.map((plan) => {
              const current = plan.code === currentPlan
              const free = isFreePlan(plan)
              const price = priceFor(plan, interval)
              const saving = interval === 'year' ? yearlySaving(plan) : null
              const models = planModels(plan.allowed_models, catalog.data)
              return (
                <li
                  key={plan.code}
                  aria-label={plan.name}
                  aria-current={current ? 'true' : undefined}
                  data-testid="billing-plan"
                  data-plan={plan.code}
                  className={`flex flex-col gap-3 rounded-xl border p-4 ${
                    current ? 'border-indigo-500 ring-2 ring-indigo-200' : 'border-slate-200'
                  }`}
                >
                  <div className="flex items-center justify-between gap-2">
                    <h3 className="text-base font-semibold text-slate-900">{plan.name}</h3>
                    {current && <Badge tone="indigo">{t('billing.plans.current')}</Badge>}
                  </div>
                  <p className="text-slate-900" data-testid="billing-plan-price">
                    {free ? (
                      <span className="text-2xl font-bold">{t('billing.plans.free')}</span>
                    ) : price ? (
                      <>
                        <span className="text-2xl font-bold">{formatMoney(price.amount_minor, price.currency, locale)}</span>
                        <span className="text-sm text-slate-500">
                          {' '}
                          {interval === 'year' ? t('billing.plans.perYear') : t('billing.plans.perMonth')}
                        </span>
                      </>
                    ) : (
                      <span className="text-sm text-slate-500">{t('billing.plans.notOffered')}</span>
                    )}
                  </p>
                  {saving !== null && <Badge tone="green">{t('billing.plans.save', { percent: saving })}</Badge>}
                  <dl className="grid grid-cols-[1fr_auto] gap-x-3 gap-y-1 text-sm">
                    <dt className="text-slate-500">{t('billing.plans.credits')}</dt>
                    <dd className="text-right font-medium text-slate-900">{plan.monthly_credits.toLocaleString()}</dd>
                    <dt className="text-slate-500">{t('billing.plans.concurrency')}</dt>
                    <dd className="text-right font-medium text-slate-900">{plan.max_concurrent_jobs}</dd>
                    <dt className="text-slate-500">{t('billing.plans.imagesPerJob')}</dt>
                    <dd className="text-right font-medium text-slate-900">{plan.max_images_per_job}</dd>
                    <dt className="text-slate-500">{t('billing.plans.maxSize')}</dt>
                    <dd className="text-right font-medium text-slate-900">
                      {plan.max_width}×{plan.max_height}
                    </dd>
                  </dl>
                  <div className="text-sm">
                    <p className="text-slate-500">{t('billing.plans.models', { count: models.length })}</p>
                    <ul className="mt-1 flex flex-wrap gap-1" data-testid="billing-plan-models">
                      {models.map((model) => (
                        <li key={model.key}>
                          <Badge>{model.name}</Badge>
                        </li>
                      ))}
                    </ul>
                  </div>
                  <div className="mt-auto pt-2">
                    {isOwner && !current && !free && price && !hasSubscription && (
                      <Button
                        className="w-full"
                        busy={pending === plan.code && checkoutState.isLoading}
                        disabled={pending !== null && pending !== plan.code}
                        onClick={() => upgrade(plan.code)}
                        data-testid="billing-upgrade"
                        aria-label={t('billing.plans.upgradeTo', { plan: plan.name })}
                      >
                        {t('billing.plans.upgrade')}
                      </Button>
                    )}
                    {isOwner && !current && hasSubscription && (
                      <Button
                        variant="secondary"
                        className="w-full"
                        busy={portal.busy}
                        onClick={() => portal.open()}
                        aria-label={t('billing.plans.changeTo', { plan: plan.name })}
                      >
                        {t('billing.plans.change')}
                      </Button>
                    )}
                  </div>
                </li>
              )
            })}
          </ul>
        )}
        {!isOwner && <p className="text-sm text-slate-500">{t('billing.ownerOnly')}</p>}
      </div>
    </Card>
  )
}
