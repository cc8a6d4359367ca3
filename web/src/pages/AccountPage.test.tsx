import { screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { meFixture, mockApi, problem, renderApp } from '../test/utils'

describe('account page: mail language', () => {
  it('saves the language of the person\'s mail on their account, apart from the app\'s', async () => {
    const { callsTo } = mockApi({
      'GET me': [{ body: meFixture('member') }, { body: meFixture('member', { user: { ...meFixture().user, locale: 'ko' } }) }],
      'PATCH me/preferences': { body: { ...meFixture().user, locale: 'ko' } },
    })
    renderApp('/account')
    const user = userEvent.setup()
    const select = await screen.findByRole('combobox', { name: 'Send my emails in' })
    expect(select).toHaveValue('en')
    await user.selectOptions(select, '한국어')
    await waitFor(() => expect(callsTo('PATCH me/preferences')).toHaveLength(1))
    expect(callsTo('PATCH me/preferences')[0].body).toEqual({ locale: 'ko' })
    expect(await screen.findByRole('status')).toHaveTextContent('Saved.')
    expect(select).toHaveValue('ko')
    // the app itself stays in English on this browser
    expect(screen.getByRole('heading', { name: 'Account', level: 1 })).toBeInTheDocument()
  })

  it('says a refusal in the reader\'s language', async () => {
    mockApi({
      'GET me': { body: meFixture('member') },
      'PATCH me/preferences': problem(403, 'Forbidden', { code: 'not-a-person', detail: 'People only.' }),
    })
    renderApp('/account', { locale: 'ko' })
    const user = userEvent.setup()
    await user.selectOptions(await screen.findByRole('combobox', { name: '이메일 언어' }), '한국어')
    expect(await screen.findByRole('alert')).toHaveTextContent('API 키로는 할 수 없고 사람만 할 수 있는 작업입니다.')
  })
})
