import { screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { endOfDay, startOfDay } from '../features/render/apiHelpers'
import { meFixture, mockApi, renderApp } from '../test/utils'

const MEMBERS = [
  { user_id: 'u-minji', email: 'minji@example.com', name: '김민지', role: 'owner', joined_at: '2025-01-01T00:00:00Z' },
  { user_id: 'u-bo', email: 'bo@example.com', name: 'Bo', role: 'admin', joined_at: '2025-01-05T00:00:00Z' },
]

function entry(id: number, action: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    action,
    actor_id: 'u-minji',
    actor_kind: 'user',
    actor_name: '김민지',
    actor_email: 'minji@example.com',
    target_type: null,
    target_id: null,
    target_name: null,
    target_email: null,
    ip: '203.0.113.9',
    details: null,
    created_at: '2025-03-01T09:00:00Z',
    ...extra,
  }
}

const ENTRIES = [
  entry(9, 'invitation.sent', { target_type: 'invitation', details: { email: 'a@b.com', role: 'member' } }),
  entry(8, 'member.role_changed', { target_type: 'user', target_name: 'Bo', details: { from: 'member', to: 'admin' } }),
  entry(7, 'image.deleted', { actor_id: 'k1', actor_kind: 'api_key', actor_name: 'nightly', actor_email: null }),
  entry(6, 'tenant.settings_changed', { details: { member_image_deletion: 'any' } }),
  entry(5, 'password.changed', { target_type: 'user' }),
  entry(4, 'something.new'),
]

const sentences = () => screen.getAllByTestId('audit-entry').map((row) => row.firstChild?.textContent)

describe('the audit log', () => {
  it('says who did what in words, in English and in Korean', async () => {
    mockApi({
      'GET me': { body: meFixture('admin') },
      'GET members': { body: MEMBERS },
      'GET audit-log': { body: { items: ENTRIES, next_cursor: null } },
    })
    const { unmount } = renderApp('/audit-log')
    await waitFor(() =>
      expect(sentences()).toEqual([
        '김민지 invited a@b.com',
        '김민지 changed the role of Bo from Member to Admin',
        'The API key “nightly” deleted an image',
        '김민지 allowed every member to delete any image',
        '김민지 changed their password',
        '김민지: something.new',
      ]),
    )
    expect(screen.getAllByTestId('audit-entry')[0]).toHaveTextContent('203.0.113.9')
    unmount()

    renderApp('/audit-log', { locale: 'ko' })
    await waitFor(() =>
      expect(sentences()).toEqual([
        '김민지님이 a@b.com을(를) 초대했습니다',
        '김민지님이 Bo님의 역할을 바꿨습니다: 멤버 → 관리자',
        'API 키 ‘nightly’에서 이미지를 삭제했습니다',
        '김민지님이 모든 멤버가 모든 이미지를 삭제할 수 있도록 허용했습니다',
        '김민지님이 비밀번호를 변경했습니다',
        '김민지: something.new',
      ]),
    )
  })

  it('filters by person, action and date on the server', async () => {
    const from = encodeURIComponent(startOfDay('2025-03-01')!)
    const to = encodeURIComponent(endOfDay('2025-03-02')!)
    const { callsTo } = mockApi({
      'GET me': { body: meFixture('admin') },
      'GET members': { body: MEMBERS },
      'GET audit-log': { body: { items: ENTRIES, next_cursor: null } },
      'GET audit-log?actor_id=u-bo': { body: { items: [], next_cursor: null } },
      'GET audit-log?actor_id=u-bo&action=invitation': { body: { items: [ENTRIES[0]], next_cursor: null } },
      [`GET audit-log?actor_id=u-bo&action=invitation&from=${from}`]: { body: { items: [ENTRIES[0]], next_cursor: null } },
      [`GET audit-log?actor_id=u-bo&action=invitation&from=${from}&to=${to}`]: { body: { items: [], next_cursor: null } },
    })
    renderApp('/audit-log')
    const user = userEvent.setup()
    await waitFor(() => expect(sentences()).toHaveLength(ENTRIES.length))
    const filters = screen.getByRole('group', { name: 'Filters' })
    await waitFor(() => expect(within(filters).getByRole('option', { name: 'Bo' })).toBeInTheDocument())
    await user.selectOptions(within(filters).getByRole('combobox', { name: 'Person' }), 'Bo')
    expect(await screen.findByText('Nothing matches these filters.')).toBeInTheDocument()
    await user.selectOptions(within(filters).getByRole('combobox', { name: 'Action' }), 'Invitations')
    await waitFor(() => expect(sentences()).toEqual(['김민지 invited a@b.com']))
    await user.type(within(filters).getByLabelText('From'), '2025-03-01')
    await user.type(within(filters).getByLabelText('To'), '2025-03-02')
    await waitFor(() => expect(callsTo(`GET audit-log?actor_id=u-bo&action=invitation&from=${from}&to=${to}`)).toHaveLength(1))
    expect(await screen.findByText('Nothing matches these filters.')).toBeInTheDocument()

    await user.click(within(filters).getByRole('button', { name: 'Clear filters' }))
    await waitFor(() => expect(sentences()).toHaveLength(ENTRIES.length))
  })
})
