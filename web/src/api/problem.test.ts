import { describe, expect, it } from 'vitest'
import { formErrors } from './problem'
import type { MessageKey } from '../i18n/en'
import { translate } from '../i18n/I18nProvider'

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

describe('formErrors in the reader\'s language', () => {
  const ko = { ...messages, t: (key: MessageKey, vars?: Record<string, string | number>) => translate('ko', key, vars) }

  it('says each field\'s code in Korean with its limits, never the validator\'s English', () => {
    const error = {
      status: 422,
      data: {
        code: 'validation-failed',
        errors: [
          { field: 'password', message: 'String should have at least 8 characters', code: 'too-short', params: { min_length: 8 } },
          { field: 'name', message: 'Value error, must not be blank', code: 'invalid' },
          { field: 'tags', message: 'List should have at least 1 item', code: 'too-few-items', params: { min_length: 1 } },
        ],
      },
    }
    const result = formErrors(error, ['password', 'name', 'tags'], ko)
    expect(result).toEqual({
      fields: { password: '8자 이상 입력하세요.', name: '올바른 값이 아닙니다.', tags: '1개 이상 고르세요.' },
      banner: null,
    })
    expect(JSON.stringify(result)).not.toMatch(/Value error|List should|String should/)
  })

  it('puts a field the form lacks in the banner by its own code, or as "some fields are wrong"', () => {
    const error = {
      status: 422,
      data: {
        code: 'validation-failed',
        errors: [
          { field: 'webhook', message: 'webhook_events_filter needs a webhook.', code: 'webhook_missing' },
          { field: 'query.limit', message: 'Input should be a valid integer', code: 'not-a-number' },
        ],
      },
    }
    expect(formErrors(error, [], ko).banner).toBe(
      '웹훅 이벤트는 웹훅 URL과 함께만 고를 수 있습니다. 올바르지 않은 항목이 있습니다. 확인한 뒤 다시 시도하세요.',
    )
  })

  it('says a coded refusal with the numbers it carries', () => {
    const error = {
      status: 402,
      data: { code: 'out-of-credits', detail: 'This generation costs 8 credits…', credits_needed: 8, credits_available: 3 },
    }
    expect(formErrors(error, [], ko).banner).toBe(
      '크레딧이 부족합니다. 이 생성에는 8 크레딧이 필요하지만 팀에 남은 크레딧은 3입니다.',
    )
  })

  it('reads the code from `type` when an answer has no `code`, and names a bare status', () => {
    const typed = { status: 409, data: { type: 'https://pingvas.dev/problems/last-owner', detail: 'A team must…' } }
    expect(formErrors(typed, [], ko).banner).toBe('팀에는 소유자가 적어도 한 명 있어야 합니다.')
    expect(formErrors({ status: 404, data: { type: 'about:blank', title: 'Not Found' } }, [], ko).banner).toBe(
      '찾을 수 없습니다. 삭제되었거나 처음부터 없었을 수 있습니다.',
    )
  })

  it('falls back to the generic text for a code it has no words for, never the English detail', () => {
    const error = { status: 409, data: { code: 'something-new', detail: 'Something new happened.' } }
    expect(formErrors(error, [], ko).banner).toBe('generic')
    expect(formErrors({ status: 429, data: { code: 'rate-limited' } }, [], ko).banner).toBe('slow down')
  })
})
