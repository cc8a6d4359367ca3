import { useMemo } from 'react'
import { formErrors, type ApiError, type FormErrors } from '../api/problem'
import { useI18n } from '../i18n/I18nProvider'

/** Splits an API error into messages next to the form's fields and one for the banner. */
export function useFormErrors(
  error: ApiError,
  fields: readonly string[],
  /** values the code texts may name, e.g. the password rule's {min} and {max} */
  vars?: Record<string, string | number>,
): FormErrors {
  const { t } = useI18n()
  const key = fields.join(',')
  const varsKey = vars ? JSON.stringify(vars) : ''
  return useMemo(
    () =>
      formErrors(error, fields, {
        network: t('error.network'),
        rateLimited: t('error.rateLimited'),
        generic: t('error.generic'),
        emailNotVerified: t('error.emailNotVerified'),
        sessionRevoked: t('error.sessionRevoked'),
        // the server's params first; `vars` fill in what the form knows (the rule's {min})
        t: vars ? (k, params) => t(k, { ...vars, ...params }) : t,
      }),
    // `fields` is a fresh array each render; its contents are what matter.
    // `vars` too: by its contents (varsKey).
    [error, key, t, varsKey],
  )
}

/** The banner text for an error outside a form (lists, buttons). */
export function useErrorMessage(error: ApiError): string | null {
  return useFormErrors(error, []).banner
}
