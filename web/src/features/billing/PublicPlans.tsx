/** The plans for a visitor without an account (the public home page): price a month and
 * monthly credits, from GET billing/plans (public). */
import { useI18n } from '../../i18n/I18nProvider'
import { useGetBillingPlansQuery } from './billingApi'
import { formatMoney, isFreePlan, priceFor } from './money'

export function PublicPlans() {
  const { t, locale } = useI18n()
  const { data } = useGetBillingPlansQuery()
  if (!data?.length) return null
  return (
    <ul className="grid gap-3 sm:grid-cols-4" data-testid="landing-plans">
      {data.map((plan) => {
        const price = priceFor(plan, 'month')
        return (
          <li key={plan.code} data-plan={plan.code} className="rounded-lg border border-slate-200 p-4">
            <h3 className="font-semibold text-slate-900">{plan.name}</h3>
            <p className="mt-1 text-slate-900">
              {isFreePlan(plan) || !price ? (
                <span className="text-xl font-bold">{t('billing.plans.free')}</span>
              ) : (
                <>
                  <span className="text-xl font-bold">{formatMoney(price.amount_minor, price.currency, locale)}</span>
                  <span className="text-sm text-slate-500"> {t('billing.plans.perMonth')}</span>
                </>
              )}
            </p>
            <p className="mt-1 text-sm text-slate-600">
              {t('billing.plans.credits')}: {plan.monthly_credits.toLocaleString()}
            </p>
          </li>
        )
      })}
    </ul>
  )
}
