/** The person's own preferences (`PATCH me/preferences`): the language of their mail. */
import { api } from '../../api/api'
import type { Locale } from '../../i18n/I18nProvider'

export const preferencesApi = api.injectEndpoints({
  endpoints: (build) => ({
    savePreferences: build.mutation<unknown, { locale: Locale }>({
      query: (body) => ({ url: 'me/preferences', method: 'PATCH', body }),
      invalidatesTags: ['Me'],
    }),
  }),
})

export const { useSavePreferencesMutation } = preferencesApi
