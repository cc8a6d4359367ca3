import { screen } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { renderApp } from '../test/utils'
import { en } from './en'
import { detectLocale } from './I18nProvider'
import { ko } from './ko'

function browserLanguages(...languages: string[]) {
  vi.spyOn(navigator, 'language', 'get').mockReturnValue(languages[0])
  vi.spyOn(navigator, 'languages', 'get').mockReturnValue(languages)
}

describe('i18n', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('switching the language changes the strings and is remembered', async () => {
    renderApp('/login')
    expect(screen.getByRole('heading', { name: 'Log in' })).toBeInTheDocument()
    expect(screen.getByLabelText('Password')).toBeInTheDocument()

    await userEvent.selectOptions(screen.getByRole('combobox', { name: 'Language' }), '한국어')

    expect(screen.getByRole('heading', { name: '로그인' })).toBeInTheDocument()
    expect(screen.getByLabelText('비밀번호')).toBeInTheDocument()
    expect(screen.getByRole('link', { name: '비밀번호를 잊으셨나요?' })).toBeInTheDocument()
    expect(document.documentElement.lang).toBe('ko')
    expect(window.localStorage.getItem('pv_locale')).toBe('ko')
  })

  it('defaults to the browser language', () => {
    browserLanguages('ko-KR', 'en-US')
    expect(detectLocale()).toBe('ko')
    browserLanguages('fr-FR', 'en-GB')
    expect(detectLocale()).toBe('en')
    browserLanguages('de-DE')
    expect(detectLocale()).toBe('en')
  })

  it('a stored choice wins over the browser language', () => {
    browserLanguages('ko-KR')
    window.localStorage.setItem('pv_locale', 'en')
    expect(detectLocale()).toBe('en')
  })

  it('renders in Korean for a Korean browser', () => {
    browserLanguages('ko')
    renderApp('/signup', { locale: null })
    expect(screen.getByRole('heading', { name: '계정 만들기' })).toBeInTheDocument()
  })

  it('has every string in both languages', () => {
    expect(Object.keys(ko).sort()).toEqual(Object.keys(en).sort())
    for (const [key, value] of Object.entries(ko)) {
      expect(value.trim(), key).not.toBe('')
      // Placeholders must survive translation.
      const placeholders = (text: string) => (text.match(/\{\w+\}/g) ?? []).sort()
      expect(placeholders(value), key).toEqual(placeholders(en[key as keyof typeof en]))
    }
  })
})
