/** Sign-up, log-in and out, the mail links' calls, the tenant switch and `GET me`. */
import { api, TAGS } from '../../api/api'
import type { Me, SessionResponse, SignUpAccepted, SignUpRequest } from './types'
import type { PasswordPolicy } from './password'

export const sessionApi = api.injectEndpoints({
  endpoints: (build) => ({
    // 202 with no tokens: sign-up starts no session (the person verifies, then logs in).
    signUp: build.mutation<SignUpAccepted, SignUpRequest>({
      query: (body) => ({ url: 'auth/signup', method: 'POST', body }),
    }),
    verifyEmail: build.mutation<unknown, { token: string }>({
      query: (body) => ({ url: 'auth/verify-email', method: 'POST', body }),
      invalidatesTags: ['Me'],
    }),
    // Signed in: a new link to the caller's own address (429 with Retry-After when one went
    // out a moment ago).
    resendVerification: build.mutation<unknown, void>({
      query: () => ({ url: 'auth/verify-email/resend', method: 'POST', body: {} }),
    }),
    // Signed out (a used or expired link): the same 202 whether or not the address has an
    // account that still needs verifying.
    requestVerification: build.mutation<unknown, { email: string }>({
      query: (body) => ({ url: 'auth/verify-email/request', method: 'POST', body }),
    }),
    logIn: build.mutation<SessionResponse, { email: string; password: string }>({
      query: (body) => ({ url: 'auth/login', method: 'POST', body }),
      invalidatesTags: [...TAGS],
    }),
    logOut: build.mutation<unknown, void>({
      query: () => ({ url: 'auth/logout', method: 'POST', body: {} }),
    }),
    switchTenant: build.mutation<SessionResponse, { tenant_id: string }>({
      query: (body) => ({ url: 'auth/switch-tenant', method: 'POST', body }),
      invalidatesTags: [...TAGS],
    }),
    requestPasswordReset: build.mutation<unknown, { email: string }>({
      query: (body) => ({ url: 'auth/password-reset', method: 'POST', body }),
    }),
    confirmPasswordReset: build.mutation<
      unknown,
      // revoke_api_keys: also end the API keys of the teams the person owns (ignored elsewhere)
      { token: string; password: string; revoke_api_keys?: boolean }
    >({
      query: (body) => ({ url: 'auth/password-reset/confirm', method: 'POST', body }),
    }),
    // Public: the one password rule, for the hint and the browser's own check.
    getPasswordPolicy: build.query<PasswordPolicy, void>({
      query: () => 'auth/password-policy',
    }),
    // Every other session ends; the answer's new tokens arrive as cookies.
    changePassword: build.mutation<SessionResponse, { current_password: string; new_password: string }>({
      query: (body) => ({ url: 'me/password', method: 'POST', body }),
    }),
    getMe: build.query<Me, void>({
      query: () => 'me',
      providesTags: ['Me'],
    }),
  }),
})

export const {
  useSignUpMutation,
  useVerifyEmailMutation,
  useResendVerificationMutation,
  useRequestVerificationMutation,
  useLogInMutation,
  useLogOutMutation,
  useSwitchTenantMutation,
  useRequestPasswordResetMutation,
  useConfirmPasswordResetMutation,
  useGetMeQuery,
  useGetPasswordPolicyQuery,
  useChangePasswordMutation,
} = sessionApi
