import { useGetBillingPlansQuery, useGetPaymentsQuery } from './billingApi'
import { Badge, Card, ErrorBanner, Loading } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import { formatMoney } from './money'
import { useFormatDay } from './useFormatDay'
import { planName } from './plans'
import type { PaymentStatus } from './types'
import type { MessageKey } from '../../i18n/en'
import { useI18n } from '../../i18n/I18nProvider'

const STATUS_TONES: Record<PaymentStatus, 'green' | 'red' | 'slate'> = {
  paid: 'green',
  failed: 'red',
  refunded: 'slate',
}

/** Past orders and invoices, newest first (owners: `GET billing/payments` is theirs). */
export function PaymentsCard() {
  const { t, locale } = useI18n()
  const formatDate = useFormatDay()
  const payments = useGetPaymentsQuery()
  const plans = useGetBillingPlansQuery()
  const message = useErrorMessage(payments.error)

  return (
    <Card title={t('billing.payments.title')}>
      {payments.isLoading && <Loading />}
      <ErrorBanner message={message} />
      {payments.data && payments.data.length === 0 && <p className="text-sm text-slate-500">{t('billing.payments.none')}</p>}
      {payments.data && payments.data.length > 0 && (
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm">
            <thead className="border-b border-slate-200 text-xs uppercase tracking-wide text-slate-500">
              <tr>
                <th scope="col" className="py-2 pr-4 font-medium">{t('billing.payments.date')}</th>
                <th scope="col" className="py-2 pr-4 font-medium">{t('billing.payments.plan')}</th>
                <th scope="col" className="py-2 pr-4 text-right font-medium">{t('billing.payments.amount')}</th>
                <th scope="col" className="py-2 pr-4 font-medium">{t('billing.payments.status')}</th>
                <th scope="col" className="py-2 font-medium">{t('billing.payments.receipt')}</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {payments.data.map((payment) => (
                <tr key={payment.id} data-testid="billing-payment" data-status={payment.status}>
                  <td className="py-2 pr-4 whitespace-nowrap text-slate-700">{formatDate(payment.created_at)}</td>
                  <td className="py-2 pr-4 text-slate-900">{planName(payment.plan, plans.data, t)}</td>
                  <td className="py-2 pr-4 text-right whitespace-nowrap text-slate-900 tabular-nums">
                    {formatMoney(payment.amount_minor, payment.currency, locale)}
                  </td>
                  <td className="py-2 pr-4">
                    <Badge tone={STATUS_TONES[payment.status] ?? 'slate'}>
                      {t(`billing.payment.${payment.status}` as MessageKey)}
                    </Badge>
                  </td>
                  <td className="py-2">
                    {payment.receipt_url ? (
                      <a
                        href={payment.receipt_url}
                        target="_blank"
                        rel="noopener noreferrer"
                        className="font-medium text-indigo-600 hover:text-indigo-500"
                      >
                        {t('billing.payments.view')}
                        <span className="sr-only"> ({formatDate(payment.created_at)})</span>
                      </a>
                    ) : (
                      <span className="text-slate-400">—</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  )
}
