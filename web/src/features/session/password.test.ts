import { describe, expect, it } from 'vitest'
import { DEFAULT_POLICY, passwordProblem } from './password'

describe('the browser check of the password rule', () => {
  it('refuses by length, as the policy says', () => {
    expect(passwordProblem('short1!', DEFAULT_POLICY)).toBe('password-too-short')
    expect(passwordProblem('x'.repeat(129), DEFAULT_POLICY)).toBe('password-too-long')
    expect(passwordProblem('abcdefgh', { ...DEFAULT_POLICY, min_length: 8 })).toBeNull()
    // code points, not UTF-16 units: ten emoji are ten characters
    expect(passwordProblem('🐧'.repeat(10), DEFAULT_POLICY)).toBeNull()
  })

  it('refuses a password with the name or the address in it, as the server does', () => {
    const person = { email: 'jiwoo.kim@haneul.example', name: '김지우' }
    expect(passwordProblem('jiwoo.kim rocks 24', DEFAULT_POLICY, person)).toBe('password-contains-personal')
    expect(passwordProblem('안녕하세요 저는 김지우입니다', DEFAULT_POLICY, person)).toBe('password-contains-personal')
    expect(passwordProblem('JIWOO forever and ever', DEFAULT_POLICY, person)).toBe('password-contains-personal')
    // "kim" alone is too short a word to look for
    expect(passwordProblem('skimming the lake', DEFAULT_POLICY, person)).toBeNull()
    expect(passwordProblem('correct horse battery', DEFAULT_POLICY, person)).toBeNull()
  })
})
