/** The webhooks API's stable problem codes, in the user's language (the server's text is English). */
import { useMemo } from 'react'
import type { ApiError } from '../../api/problem'
import { problemOf } from '../../api/problem'
import type { MessageKey } from '../../i18n/en'
import { useI18n } from '../../i18n/I18nProvider'

const CODES: Record<string, MessageKey> = {
  webhook_url_invalid: 'webhooks.error.urlInvalid',
  webhook_url_insecure: 'webhooks.error.urlInsecure',
  webhook_url_unresolvable: 'webhooks.error.urlUnresolvable',
  webhook_url_forbidden: 'webhooks.error.urlForbidden',
  webhook_event_type_unknown: 'webhooks.error.eventTypeUnknown',
  webhook_event_types_empty: 'webhooks.error.eventTypesEmpty',
  webhook_endpoint_not_found: 'webhooks.error.endpointNotFound',
  webhook_delivery_not_found: 'webhooks.error.deliveryNotFound',
}

type Coded = { code?: string; type?: string }

function codeOf(item: Coded | null | undefined): string | undefined {
  return item?.code ?? item?.type?.split('/').pop()
}

/** The same error with every known code's message replaced by its translation. */
export function useLocalizedError(error: ApiError): ApiError {
  const { t } = useI18n()
  return useMemo(() => {
    const problem = problemOf(error)
    if (!problem || !error || !('data' in error)) return error
    const known = (code: string | undefined) => (code && CODES[code] ? t(CODES[code]) : undefined)
    const detail = known(codeOf(problem as Coded)) ?? problem.detail
    const errors = problem.errors?.map((item) => ({
      ...item,
      message: known((item as Coded).code) ?? item.message,
    }))
    return { ...error, data: { ...problem, detail, errors } } as ApiError
  }, [error, t])
}
