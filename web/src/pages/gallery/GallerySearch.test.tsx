import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { Provider } from 'react-redux'
import { MemoryRouter, useLocation, useNavigate } from 'react-router-dom'
import { beforeEach, describe, expect, it } from 'vitest'
import { App } from '../../App'
import { makeStore } from '../../app/store'
import { startOfDay } from '../../features/render/apiHelpers'
import type { SearchHit, SearchPage, Suggestion } from '../../features/search/types'
import { I18nProvider } from '../../i18n/I18nProvider'
import { installFakeEventSource } from '../../test/fakeEventSource'
import { SD15, TINY, entitlements, image } from '../../test/renderFixtures'
import { meFixture, mockApi, problem } from '../../test/utils'

function hit(id: string, highlight: SearchHit['highlight'], overrides: Partial<SearchHit> = {}): SearchHit {
  return { ...image(id), prompt: highlight.map((s) => s.text).join(''), score: 1.5, highlight, ...overrides }
}

function page(items: SearchHit[], extra: Partial<SearchPage> = {}): { body: SearchPage } {
  return { body: { items, next_cursor: null, total: items.length, engine: 'embedded', took_ms: 2, ...extra } }
}

function suggestion(prompt: string, images: number, match = ''): Suggestion {
  const at = match ? prompt.indexOf(match) : -1
  const highlight =
    at < 0
      ? [{ text: prompt, match: false }]
      : [
          { text: prompt.slice(0, at), match: false },
          { text: match, match: true },
          { text: prompt.slice(at + match.length), match: false },
        ].filter((s) => s.text)
  return { prompt, images, highlight }
}

const search = (params: Record<string, string>) =>
  `GET search/images?${new URLSearchParams({ ...params, limit: '24' }).toString()}`
const suggest = (q: string) => `GET search/suggest?${new URLSearchParams({ q, limit: '8' }).toString()}`

const CATS = hit('cat1', [
  { text: 'a ', match: false },
  { text: 'cat', match: true },
  { text: ' on a sofa', match: false },
])
const TRICKY = hit('cat2', [
  { text: '<img src=x onerror="alert(1)"> ', match: false },
  { text: 'cats', match: true },
  { text: ' <b>bold</b>', match: false },
])

function routes(extra: Parameters<typeof mockApi>[0] = {}) {
  return mockApi({
    'GET me': { body: meFixture('member') },
    'GET models': { body: { items: [TINY, SD15] } },
    'GET entitlements': { body: entitlements(100) },
    'GET generations?limit=6': { body: { items: [], next_cursor: null } },
    'GET images?limit=24': { body: { items: [image('a'), image('b')], next_cursor: null } },
    [suggest('')]: { body: { items: [suggestion('a cat on a sofa', 3), suggestion('눈 내리는 한옥', 1)] } },
    ...extra,
  })
}

/** Shows where the app is (path and query) and goes back in its history, as the browser would. */
function Probe() {
  const location = useLocation()
  const navigate = useNavigate()
  return (
    <>
      <output data-testid="location">{location.pathname + location.search}</output>
      <button type="button" onClick={() => navigate(-1)}>
        Browser back
      </button>
    </>
  )
}

function renderAt(route: string) {
  return render(
    <Provider store={makeStore()}>
      <I18nProvider initialLocale="en">
        <MemoryRouter initialEntries={[route]}>
          <App />
          <Probe />
        </MemoryRouter>
      </I18nProvider>
    </Provider>,
  )
}

const where = () => {
  const [path, query = ''] = (screen.getByTestId('location').textContent ?? '').split('?')
  return { path, params: Object.fromEntries(new URLSearchParams(query)) }
}
const box = () => screen.getByRole('combobox', { name: 'Search images' })
const cards = () => screen.queryAllByTestId('gallery-item').map((item) => item.getAttribute('aria-label'))

describe('gallery search', () => {
  beforeEach(() => {
    installFakeEventSource()
  })

  it('runs the search the URL describes and marks the matches without interpreting HTML', async () => {
    const from = startOfDay('2025-03-01')!
    const { callsTo } = routes({
      [search({ q: 'cat', model: 'tiny-sd1', from, sort: 'newest' })]: page([CATS, TRICKY]),
    })
    const { container } = renderAt('/gallery?q=cat&model=tiny-sd1&from=2025-03-01&sort=newest')

    expect(await screen.findByText('2 images match “cat”')).toBeInTheDocument()
    expect(box()).toHaveValue('cat')
    const filters = screen.getByRole('group', { name: 'Filters' })
    await waitFor(() => expect(within(filters).getByRole('combobox', { name: 'Model' })).toHaveValue('tiny-sd1'))
    expect(within(filters).getByLabelText('From')).toHaveValue('2025-03-01')
    expect(within(filters).getByRole('combobox', { name: 'Sort' })).toHaveValue('newest')
    expect(cards()).toEqual([CATS.prompt, TRICKY.prompt])
    // Search results, not render's list.
    expect(callsTo('GET images?limit=24')).toHaveLength(0)

    const prompts = screen.getAllByTestId('search-result-prompt')
    expect(prompts.map((p) => p.textContent)).toEqual(['a cat on a sofa', '<img src=x onerror="alert(1)"> cats <b>bold</b>'])
    expect([...container.querySelectorAll('mark')].map((mark) => mark.textContent)).toEqual(['cat', 'cats'])
    // The prompt's "HTML" is text: no element was made from it.
    expect(container.querySelector('img[src="x"]')).toBeNull()
    expect(container.querySelector('b')).toBeNull()
  })

  it('changing the sort and the filters keeps the query and updates the URL', async () => {
    const { callsTo } = routes({
      [search({ q: 'cat', sort: 'relevance' })]: page([CATS, TRICKY]),
      [search({ q: 'cat', sort: 'newest' })]: page([TRICKY, CATS]),
      [search({ q: 'cat', model: 'sd-1.5', sort: 'newest' })]: page([TRICKY]),
    })
    renderAt('/gallery?q=cat')
    const user = userEvent.setup()
    await waitFor(() => expect(cards()).toEqual([CATS.prompt, TRICKY.prompt]))
    const filters = screen.getByRole('group', { name: 'Filters' })
    expect(within(filters).getByRole('combobox', { name: 'Sort' })).toHaveValue('relevance')

    await user.selectOptions(within(filters).getByRole('combobox', { name: 'Sort' }), 'Newest')
    await waitFor(() => expect(cards()).toEqual([TRICKY.prompt, CATS.prompt]))
    expect(where().params).toEqual({ q: 'cat', sort: 'newest' })

    await user.selectOptions(within(filters).getByRole('combobox', { name: 'Model' }), 'Stable Diffusion 1.5')
    await waitFor(() => expect(cards()).toEqual([TRICKY.prompt]))
    expect(where().params).toEqual({ q: 'cat', sort: 'newest', model: 'sd-1.5' })
    expect(screen.getByText('1 image matches “cat”')).toBeInTheDocument()
    expect(callsTo(search({ q: 'cat', model: 'sd-1.5', sort: 'newest' }))).toHaveLength(1)
  })

  it('the gallery without a query has no sort, and shows render’s list', async () => {
    routes()
    renderAt('/gallery')
    await waitFor(() => expect(cards()).toEqual(['prompt a', 'prompt b']))
    expect(screen.queryByRole('combobox', { name: 'Sort' })).not.toBeInTheDocument()
    expect(screen.queryByTestId('search-result-prompt')).not.toBeInTheDocument()
  })

  it('suggests prompts as you type, after a pause; arrows move, Enter picks, Back returns', async () => {
    const prompt = 'a cat on a sofa'
    const { callsTo } = routes({
      [suggest('ca')]: {
        body: { items: [suggestion(prompt, 3, 'ca'), suggestion('a calm sea', 1, 'ca'), suggestion('cactus', 2, 'ca')] },
      },
      [search({ q: prompt, sort: 'relevance' })]: page([CATS]),
    })
    renderAt('/gallery')
    const user = userEvent.setup()
    await waitFor(() => expect(cards()).toHaveLength(2))

    // Focus on the empty field: the recent prompts.
    await user.click(box())
    const recent = await screen.findByRole('listbox', { name: 'Recent prompts' })
    expect(within(recent).getAllByRole('option').map((o) => o.textContent)).toEqual([
      'a cat on a sofa3 images',
      '눈 내리는 한옥1 image',
    ])
    expect(box()).toHaveAttribute('aria-expanded', 'true')
    expect(box()).toHaveAttribute('aria-controls', recent.id)

    await user.keyboard('ca')
    const list = await screen.findByRole('listbox', { name: 'Suggestions' })
    // Typing "c" then "a" quickly asks once, for "ca".
    expect(callsTo(suggest('c'))).toHaveLength(0)
    expect(callsTo(suggest('ca'))).toHaveLength(1)
    const options = within(list).getAllByRole('option')
    expect(options).toHaveLength(3)
    expect(within(options[0]).getByText('ca', { selector: 'mark' })).toBeInTheDocument()
    expect(box()).not.toHaveAttribute('aria-activedescendant')

    await user.keyboard('{ArrowDown}')
    expect(options[0]).toHaveAttribute('aria-selected', 'true')
    expect(box()).toHaveAttribute('aria-activedescendant', options[0].id)
    await user.keyboard('{ArrowDown}{ArrowDown}')
    expect(box()).toHaveAttribute('aria-activedescendant', options[2].id)
    await user.keyboard('{ArrowDown}')
    expect(box()).toHaveAttribute('aria-activedescendant', options[0].id)
    await user.keyboard('{ArrowUp}')
    expect(box()).toHaveAttribute('aria-activedescendant', options[2].id)
    await user.keyboard('{ArrowUp}{ArrowUp}')
    expect(options[0]).toHaveAttribute('aria-selected', 'true')
    expect(options[2]).toHaveAttribute('aria-selected', 'false')

    await user.keyboard('{Enter}')
    await waitFor(() => expect(where()).toEqual({ path: '/gallery', params: { q: prompt } }))
    expect(box()).toHaveValue(prompt)
    expect(box()).toHaveAttribute('aria-expanded', 'false')
    expect(screen.queryByRole('listbox')).not.toBeInTheDocument()
    expect(await screen.findByText('1 image matches “a cat on a sofa”')).toBeInTheDocument()
    expect(cards()).toEqual([prompt])

    // Back: the gallery as it was, the field empty again.
    await user.click(screen.getByRole('button', { name: 'Browser back' }))
    await waitFor(() => expect(cards()).toEqual(['prompt a', 'prompt b']))
    expect(where()).toEqual({ path: '/gallery', params: {} })
    expect(box()).toHaveValue('')
  })

  it('Escape closes the suggestions, a click picks one, Enter without a pick searches the text', async () => {
    const { callsTo } = routes({
      [suggest('han')]: { body: { items: [suggestion('눈 내리는 한옥 마당, hanok', 1, 'han')] } },
      [search({ q: 'han', sort: 'relevance' })]: page([]),
      [search({ q: '눈 내리는 한옥 마당, hanok', sort: 'relevance' })]: page([CATS]),
    })
    renderAt('/gallery')
    const user = userEvent.setup()
    await user.type(await screen.findByRole('combobox', { name: 'Search images' }), 'han')
    const list = await screen.findByRole('listbox', { name: 'Suggestions' })
    await user.keyboard('{Escape}')
    expect(screen.queryByRole('listbox')).not.toBeInTheDocument()
    expect(box()).toHaveValue('han')

    // Enter with nothing active: the text as typed.
    await user.keyboard('{Enter}')
    await waitFor(() => expect(where().params).toEqual({ q: 'han' }))
    expect(await screen.findByTestId('search-no-results')).toBeInTheDocument()

    await user.keyboard('{ArrowDown}')
    const option = await within(await screen.findByRole('listbox', { name: 'Suggestions' })).findByRole('option')
    expect(list.id).toBe(screen.getByRole('listbox').id)
    await user.click(option)
    await waitFor(() => expect(where().params).toEqual({ q: '눈 내리는 한옥 마당, hanok' }))
    expect(box()).toHaveValue('눈 내리는 한옥 마당, hanok')
    expect(await screen.findByText('1 image matches “눈 내리는 한옥 마당, hanok”')).toBeInTheDocument()
    expect(callsTo(search({ q: 'han', sort: 'relevance' }))).toHaveLength(1)
  })

  it('Enter while a Korean input method composes a syllable neither searches nor picks', async () => {
    const { callsTo } = routes({
      [suggest('고양')]: { body: { items: [suggestion('고양이가 자는 사진', 2, '고양')] } },
      [search({ q: '고양', sort: 'relevance' })]: page([]),
      [search({ q: '고양이가 자는 사진', sort: 'relevance' })]: page([CATS]),
    })
    renderAt('/gallery')
    const user = userEvent.setup()
    await waitFor(() => expect(cards()).toHaveLength(2))
    const input = box()
    await user.click(input)

    fireEvent.compositionStart(input)
    fireEvent.change(input, { target: { value: '고양' } })
    const option = await within(await screen.findByRole('listbox', { name: 'Suggestions' })).findByRole('option')
    // The IME's own Enter, reported every way a browser may.
    fireEvent.keyDown(input, { key: 'Enter', code: 'Enter', isComposing: true })
    fireEvent.keyDown(input, { key: 'Enter', code: 'Enter', keyCode: 229 })
    fireEvent.keyDown(input, { key: 'Enter', code: 'Enter' }) // between compositionstart and -end
    // Arrow keys belong to the IME too.
    fireEvent.keyDown(input, { key: 'ArrowDown', code: 'ArrowDown', isComposing: true })
    expect(option).toHaveAttribute('aria-selected', 'false')
    await act(() => new Promise((resolve) => setTimeout(resolve, 200)))
    expect(where().params).toEqual({})
    expect(callsTo(search({ q: '고양', sort: 'relevance' }))).toHaveLength(0)
    expect(input).toHaveValue('고양')

    // The syllable is done: now Enter searches what is typed.
    fireEvent.compositionEnd(input)
    fireEvent.keyDown(input, { key: 'Enter', code: 'Enter' })
    await waitFor(() => expect(where().params).toEqual({ q: '고양' }))
    expect(callsTo(search({ q: '고양', sort: 'relevance' }))).toHaveLength(1)

    // And, once composed, Enter on an active suggestion picks it.
    fireEvent.keyDown(input, { key: 'ArrowDown', code: 'ArrowDown' })
    const again = await within(await screen.findByRole('listbox', { name: 'Suggestions' })).findByRole('option')
    fireEvent.compositionStart(input)
    fireEvent.keyDown(input, { key: 'ArrowDown', code: 'ArrowDown' })
    fireEvent.compositionEnd(input)
    expect(again).toHaveAttribute('aria-selected', 'false')
    fireEvent.keyDown(input, { key: 'ArrowDown', code: 'ArrowDown' })
    expect(again).toHaveAttribute('aria-selected', 'true')
    fireEvent.keyDown(input, { key: 'Enter', code: 'Enter' })
    await waitFor(() => expect(where().params).toEqual({ q: '고양이가 자는 사진' }))
  })

  it('keeps the suggestions on show while a Korean syllable is still being composed', async () => {
    const { callsTo } = routes({
      [suggest('고')]: { body: { items: [suggestion('고양이가 자는 사진', 2, '고'), suggestion('고래', 1, '고')] } },
      // "공": the ㅇ of 양 typed, not yet moved on to the next syllable
      [suggest('공')]: { body: { items: [] } },
      [suggest('고양')]: { body: { items: [suggestion('고양이가 자는 사진', 2, '고양')] } },
      [suggest('고양이')]: { body: { items: [] } },
    })
    renderAt('/gallery')
    await waitFor(() => expect(cards()).toHaveLength(2))
    const input = box()
    const shown = () =>
      screen.queryAllByTestId('gallery-search-suggestion').map((option) => option.textContent?.replace(/\d.*$/, ''))
    fireEvent.focus(input)

    fireEvent.compositionStart(input)
    fireEvent.change(input, { target: { value: '고' } })
    await waitFor(() => expect(shown()).toEqual(['고양이가 자는 사진', '고래']))
    fireEvent.change(input, { target: { value: '공' } })
    await waitFor(() => expect(callsTo(suggest('공'))).toHaveLength(1))
    await act(() => new Promise((resolve) => setTimeout(resolve, 50)))
    expect(shown()).toEqual(['고양이가 자는 사진', '고래'])
    expect(screen.getByRole('listbox', { name: 'Suggestions' })).toBeVisible()

    // A lone jamo at the end is the syllable on its way: "고양ㅇ" completes "고양".
    fireEvent.change(input, { target: { value: '고양' } })
    await waitFor(() => expect(shown()).toEqual(['고양이가 자는 사진']))
    fireEvent.change(input, { target: { value: '고양ㅇ' } })
    await act(() => new Promise((resolve) => setTimeout(resolve, 250)))
    expect(callsTo('GET search/suggest?q=%EA%B3%A0%EC%96%91%E3%85%87&limit=8')).toHaveLength(0)
    expect(shown()).toEqual(['고양이가 자는 사진'])

    // Composed, an answer with nothing to suggest stands.
    fireEvent.change(input, { target: { value: '고양이' } })
    await waitFor(() => expect(callsTo(suggest('고양이'))).toHaveLength(1))
    expect(shown()).toEqual(['고양이가 자는 사진'])
    fireEvent.compositionEnd(input)
    await waitFor(() => expect(shown()).toEqual([]))
    expect(screen.queryByRole('listbox', { name: 'Suggestions' })).toBeNull()
  })

  it('clearing the field returns to the whole gallery', async () => {
    routes({ [search({ q: 'cat', sort: 'relevance' })]: page([CATS]) })
    renderAt('/gallery?q=cat')
    const user = userEvent.setup()
    await waitFor(() => expect(cards()).toEqual([CATS.prompt]))

    await user.click(screen.getByRole('button', { name: 'Clear search' }))
    await waitFor(() => expect(cards()).toEqual(['prompt a', 'prompt b']))
    expect(where()).toEqual({ path: '/gallery', params: {} })
    expect(box()).toHaveValue('')
    expect(box()).toHaveFocus()

    // Deleting the text by hand does the same.
    await user.keyboard('{Escape}')
    await user.click(screen.getByRole('button', { name: 'Browser back' }))
    await waitFor(() => expect(cards()).toEqual([CATS.prompt]))
    expect(box()).toHaveValue('cat')
    await user.clear(box())
    await waitFor(() => expect(cards()).toEqual(['prompt a', 'prompt b']))
    expect(where().params).toEqual({})
  })

  it('loads the next page of results with next_cursor', async () => {
    const more = hit('cat3', [{ text: 'cat', match: true }, { text: ' in a box', match: false }])
    const { callsTo } = routes({
      [search({ q: 'cat', sort: 'relevance' })]: page([CATS, TRICKY], { next_cursor: 'n2', total: 3 }),
      [search({ q: 'cat', sort: 'relevance', cursor: 'n2' })]: page([more], { total: 3 }),
    })
    renderAt('/gallery?q=cat')
    const user = userEvent.setup()
    await waitFor(() => expect(cards()).toHaveLength(2))
    expect(screen.getByText('3 images match “cat”')).toBeInTheDocument()

    await user.click(screen.getByRole('button', { name: 'Load more' }))
    await waitFor(() => expect(cards()).toEqual([CATS.prompt, TRICKY.prompt, 'cat in a box']))
    expect(callsTo(search({ q: 'cat', sort: 'relevance', cursor: 'n2' }))).toHaveLength(1)
    expect(screen.queryByRole('button', { name: 'Load more' })).not.toBeInTheDocument()
  })

  it('opens a result in the lightbox, with the previous and next results', async () => {
    routes({
      [search({ q: 'cat', sort: 'relevance' })]: page([CATS, TRICKY]),
      'GET images/cat1': { body: CATS },
    })
    renderAt('/gallery?q=cat')
    const user = userEvent.setup()
    await user.click(await screen.findByRole('link', { name: CATS.prompt }))
    const dialog = await screen.findByRole('dialog', { name: 'Image details' })
    expect(within(within(dialog).getByTestId('image-parameters')).getByText(CATS.prompt)).toBeInTheDocument()
    expect(within(dialog).getByRole('button', { name: 'Next image' })).toBeInTheDocument()
    expect(where().params).toEqual({ q: 'cat', image: 'cat1' })
  })

  it('nothing found: tips, clearing the filters, and a link to generate the prompt', async () => {
    const { callsTo } = routes({
      [search({ q: 'zebra unicorn', model: 'tiny-sd1', sort: 'relevance' })]: page([]),
      [search({ q: 'zebra unicorn', sort: 'relevance' })]: page([]),
    })
    renderAt('/gallery?q=zebra+unicorn&model=tiny-sd1')
    const user = userEvent.setup()
    const panel = await screen.findByTestId('search-no-results')
    expect(within(panel).getByRole('heading', { name: 'Nothing matched “zebra unicorn”' })).toBeInTheDocument()
    expect(panel).toHaveTextContent('Check the spelling.')
    expect(panel).toHaveTextContent('Use fewer or more general words')
    expect(panel).toHaveTextContent('고양이 finds Korean prompts, cat English ones')
    expect(screen.getByText('0 images match “zebra unicorn”')).toBeInTheDocument()

    await user.click(within(panel).getByRole('button', { name: 'Clear filters' }))
    await waitFor(() => expect(callsTo(search({ q: 'zebra unicorn', sort: 'relevance' }))).toHaveLength(1))
    expect(where().params).toEqual({ q: 'zebra unicorn' })
    const after = await screen.findByTestId('search-no-results')
    // No filters left to clear.
    expect(within(after).queryByRole('button', { name: 'Clear filters' })).not.toBeInTheDocument()

    const generate = within(after).getByRole('link', { name: 'Generate an image of “zebra unicorn”' })
    expect(generate).toHaveAttribute('href', '/generate?prompt=zebra+unicorn')
    await user.click(generate)
    expect(await screen.findByRole('heading', { name: 'Generate' })).toBeInTheDocument()
    expect(screen.getByRole('textbox', { name: 'Prompt' })).toHaveValue('zebra unicorn')
  })

  it('says why the search failed, and tries again', async () => {
    const { callsTo } = routes({
      [search({ q: 'cat', sort: 'relevance' })]: [
        problem(503, 'Service Unavailable', { code: 'search-unavailable', detail: 'Search is unavailable right now; try again shortly.' }),
        page([CATS]),
      ],
    })
    renderAt('/gallery?q=cat')
    const user = userEvent.setup()
    expect(await screen.findByRole('alert')).toHaveTextContent('Search is unavailable right now. Please try again shortly.')
    expect(screen.queryByTestId('search-no-results')).not.toBeInTheDocument()

    await user.click(screen.getByRole('button', { name: 'Try again' }))
    await waitFor(() => expect(cards()).toEqual([CATS.prompt]))
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()
    expect(callsTo(search({ q: 'cat', sort: 'relevance' }))).toHaveLength(2)
  })

  it('speaks Korean', async () => {
    routes({ [search({ q: '기린', sort: 'relevance' })]: page([]) })
    render(
      <Provider store={makeStore()}>
        <I18nProvider initialLocale="ko">
          <MemoryRouter initialEntries={['/gallery?q=기린']}>
            <App />
          </MemoryRouter>
        </I18nProvider>
      </Provider>,
    )
    expect(await screen.findByRole('heading', { name: '“기린”에 맞는 이미지가 없습니다' })).toBeInTheDocument()
    expect(screen.getByRole('combobox', { name: '이미지 검색' })).toHaveValue('기린')
  })
})
