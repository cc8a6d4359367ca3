import { useMemo } from 'react'
import { formErrors, type ApiError, type FormErrors } from '../api/problem'
import { en, type MessageKey } from '../i18n/en'
import { useI18n } from '../i18n/I18nProvider'

function hasMessage(key: string): key is MessageKey {
  return key in en
}

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
        byCode: (code) => {
          const message = `problem.${code}`
          return hasMessage(message) ? t(message, vars) : undefined
        },
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
