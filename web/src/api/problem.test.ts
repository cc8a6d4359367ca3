import { describe, expect, it } from 'vitest'
import { formErrors } from './problem'

const messages = { network: 'network', rateLimited: 'slow down', generic: 'generic' }

describe('formErrors', () => {
  it('puts field errors next to known fields and the rest in the banner', () => {
    const error = {
      status: 422,
      data: {
        title: 'Unprocessable',
        status: 422,
        errors: [
          { field: 'email', message: 'not an email' },
          { field: 'body.password', message: 'too short' },
          { field: 'captcha', message: 'missing' },
        ],
      },
    }
    expect(formErrors(error, ['email', 'password'], messages)).toEqual({
      fields: { email: 'not an email', password: 'too short' },
      banner: 'missing',
    })
  })

  it('uses detail, then title, for errors without fields', () => {
    expect(formErrors({ status: 409, data: { title: 'Conflict', detail: 'Taken' } }, [], messages).banner).toBe('Taken')
    expect(formErrors({ status: 409, data: { title: 'Conflict' } }, [], messages).banner).toBe('Conflict')
    expect(formErrors({ status: 502, data: '<html>' }, [], messages).banner).toBe('generic')
  })

  it('names network failures and rate limits', () => {
    expect(formErrors({ status: 'FETCH_ERROR', error: 'x' }, [], messages).banner).toBe('network')
    expect(formErrors({ status: 429, data: null }, [], messages).banner).toBe('slow down')
  })

  it('names an unverified address in the reader\'s language when the page gives the words', () => {
    const error = {
      status: 403,
      data: { type: 'https://pingvas.dev/problems/email-not-verified', title: 'Forbidden', detail: 'Verify…' },
    }
    expect(formErrors(error, [], { ...messages, emailNotVerified: 'verify first' }).banner).toBe('verify first')
    expect(formErrors(error, [], messages).banner).toBe('Verify…')
  })

  it('names an ended session in the reader\'s language when the page gives the words', () => {
    const error = {
      status: 401,
      data: { type: 'https://pingvas.dev/problems/session_revoked', code: 'session_revoked', title: 'Unauthorized', detail: 'This session has ended…' },
    }
    expect(formErrors(error, [], { ...messages, sessionRevoked: 'log in again' }).banner).toBe('log in again')
    expect(formErrors(error, [], messages).banner).toBe('This session has ended…')
  })

  it('is empty without an error', () => {
    expect(formErrors(undefined, ['email'], messages)).toEqual({ fields: {}, banner: null })
  })
})
