/** Mail (docs/mail.md): notification preferences and the unsubscribe links. */
import { api } from '../../api/api'
import {
  notificationPreferences,
  type NotificationPreferences,
  type UnsubscribeInfo,
  unsubscribeInfo,
  unsubscribePath,
} from './types'

export const mailApi = api.injectEndpoints({
  endpoints: (build) => ({
    getNotificationPreferences: build.query<NotificationPreferences, void>({
      query: () => 'notification-preferences',
      transformResponse: notificationPreferences,
      providesTags: ['NotificationPreferences'],
    }),
    /** The whole set; what comes back (the saved set, or the request's on a 204) is cached. */
    updateNotificationPreferences: build.mutation<NotificationPreferences, NotificationPreferences>({
      query: (body) => ({ url: 'notification-preferences', method: 'PUT', body: notificationPreferences(body) }),
      transformResponse: (response: unknown, _meta, arg) =>
        notificationPreferences(response && typeof response === 'object' ? response : arg),
      async onQueryStarted(_arg, { dispatch, queryFulfilled }) {
        try {
          const { data } = await queryFulfilled
          dispatch(mailApi.util.updateQueryData('getNotificationPreferences', undefined, () => data))
        } catch {
          // the error is shown by the page; the cached preferences are still what is saved
        }
      },
    }),
    /** Public: the link from a mail, no log-in. 400/404 (422: malformed) for a bad token. */
    getUnsubscribe: build.query<UnsubscribeInfo, string>({
      query: unsubscribePath,
      transformResponse: unsubscribeInfo,
    }),
    /** Turns that one category off; idempotent. */
    unsubscribe: build.mutation<unknown, string>({
      query: (token) => ({ url: unsubscribePath(token), method: 'POST' }),
    }),
  }),
})

export const {
  useGetNotificationPreferencesQuery,
  useUpdateNotificationPreferencesMutation,
  useGetUnsubscribeQuery,
  useUnsubscribeMutation,
} = mailApi
