import { useGetPortalUrlMutation } from './billingApi'
import type { ApiError } from '../../api/problem'
import { redirectTo } from './redirect'

/** `GET billing/portal`, then off to Lemon Squeezy's customer portal. */
export function useOpenPortal(): { open: () => Promise<void>; busy: boolean; error: ApiError } {
  const [getPortal, { isLoading, error }] = useGetPortalUrlMutation()
  return {
    busy: isLoading,
    error,
    open: async () => {
      const result = await getPortal()
      if ('data' in result && result.data?.url) redirectTo(result.data.url)
    },
  }
}
