/** Billing (docs/billing.md): plans, subscription, credits, usage, payments, checkout, portal. */
import { api, listOf } from '../../api/api'
import { normalizePlan } from './normalize'
import type { CheckoutRequest, Credits, Payment, Plan, RedirectUrl, Subscription, Usage, UsageQuery } from './types'
import { usagePath } from './usage'

export const billingApi = api.injectEndpoints({
  endpoints: (build) => ({
    getBillingPlans: build.query<Plan[], void>({
      query: () => 'billing/plans',
      transformResponse: (response: unknown) => listOf<unknown>(response).map(normalizePlan),
      providesTags: ['Plans'],
    }),
    getSubscription: build.query<Subscription, void>({
      query: () => 'billing/subscription',
      providesTags: ['Billing'],
    }),
    getCredits: build.query<Credits, void>({
      query: () => 'billing/credits',
      providesTags: ['Billing'],
    }),
    getUsage: build.query<Usage, UsageQuery>({
      query: usagePath,
      providesTags: ['Billing'],
    }),
    getPayments: build.query<Payment[], void>({
      query: () => 'billing/payments',
      transformResponse: listOf<Payment>,
      providesTags: ['Billing'],
    }),
    /** A Lemon Squeezy checkout to send the owner to; 503 where payments are not configured. */
    createCheckout: build.mutation<RedirectUrl, CheckoutRequest>({
      query: (body) => ({ url: 'billing/checkout', method: 'POST', body }),
    }),
    /** A GET, but a mutation: the portal URL is signed and short-lived, so it is never cached. */
    getPortalUrl: build.mutation<RedirectUrl, void>({
      query: () => ({ url: 'billing/portal' }),
    }),
  }),
})

export const {
  useGetBillingPlansQuery,
  useGetSubscriptionQuery,
  useGetCreditsQuery,
  useGetUsageQuery,
  useGetPaymentsQuery,
  useCreateCheckoutMutation,
  useGetPortalUrlMutation,
} = billingApi
