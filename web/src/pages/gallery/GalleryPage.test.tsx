import { screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { beforeEach, describe, expect, it } from 'vitest'
import { endOfDay, startOfDay } from '../../features/render/apiHelpers'
import { installFakeEventSource, installFakeIntersectionObserver } from '../../test/fakeEventSource'
import { SD15, TINY, entitlements, image } from '../../test/renderFixtures'
import { meFixture, mockApi, renderApp } from '../../test/utils'
import { downloadName } from '../../features/gallery/download'

const A = image('a', { created_at: '2025-03-03T10:00:00Z' })
const B = image('b', { created_at: '2025-03-02T10:00:00Z', model: 'tiny-sd1', seed: 42 })
const C = image('c', { created_at: '2025-03-01T10:00:00Z' })

function routes(extra: Parameters<typeof mockApi>[0] = {}) {
  return mockApi({
    'GET me': { body: meFixture('member') },
    'GET models': { body: { items: [TINY, SD15] } },
    'GET entitlements': { body: entitlements(100) },
    'GET generations?limit=6': { body: { items: [], next_cursor: null } },
    'GET images?limit=24': { body: { items: [A, B], next_cursor: 'c2' } },
    'GET images?cursor=c2&limit=24': { body: { items: [C], next_cursor: null } },
    'GET images/a': { body: A },
    ...extra,
  })
}

const names = () => screen.getAllByTestId('gallery-item').map((item) => item.getAttribute('aria-label'))

describe('gallery page', () => {
  beforeEach(() => {
    installFakeEventSource()
  })

  it('shows the newest first and loads the next page when the end scrolls into view', async () => {
    const observer = installFakeIntersectionObserver()
    const { callsTo } = routes()
    renderApp('/gallery')
    await waitFor(() => expect(names()).toEqual(['prompt a', 'prompt b']))
    expect(screen.getByRole('img', { name: 'prompt a' })).toHaveAttribute('src', 'https://s3.example.com/a.thumb.webp?sig=1')

    observer.intersect()
    await waitFor(() => expect(names()).toEqual(['prompt a', 'prompt b', 'prompt c']))
    expect(callsTo('GET images?cursor=c2&limit=24')).toHaveLength(1)
    // The last page has no next_cursor: nothing more to ask for.
    observer.intersect()
    expect(screen.queryByRole('button', { name: 'Load more' })).not.toBeInTheDocument()
    expect(callsTo('GET images?cursor=c2&limit=24')).toHaveLength(1)
  })

  it('filters by model and date range', async () => {
    const from = encodeURIComponent(startOfDay('2025-03-01')!)
    const to = encodeURIComponent(endOfDay('2025-03-02')!)
    const { callsTo } = routes({
      'GET images?limit=24&model=tiny-sd1': { body: { items: [B], next_cursor: null } },
      [`GET images?limit=24&model=tiny-sd1&from=${from}`]: { body: { items: [B], next_cursor: null } },
      [`GET images?limit=24&model=tiny-sd1&from=${from}&to=${to}`]: { body: { items: [], next_cursor: null } },
    })
    renderApp('/gallery')
    const user = userEvent.setup()
    await waitFor(() => expect(names()).toHaveLength(2))

    const filters = screen.getByRole('group', { name: 'Filters' })
    await user.selectOptions(within(filters).getByRole('combobox', { name: 'Model' }), 'Tiny SD-1')
    await waitFor(() => expect(names()).toEqual(['prompt b']))

    await user.type(within(filters).getByLabelText('From'), '2025-03-01')
    await waitFor(() => expect(callsTo(`GET images?limit=24&model=tiny-sd1&from=${from}`)).toHaveLength(1))
    await user.type(within(filters).getByLabelText('To'), '2025-03-02')
    expect(await screen.findByText('No images match these filters.')).toBeInTheDocument()

    await user.click(within(filters).getByRole('button', { name: 'Clear filters' }))
    await waitFor(() => expect(names()).toEqual(['prompt a', 'prompt b']))
  })

  it('opens an image with all its parameters, and deletes it after confirmation', async () => {
    const { callsTo } = routes({ 'DELETE images/a': { status: 204 } })
    renderApp('/gallery')
    const user = userEvent.setup()
    await user.click(await screen.findByRole('link', { name: 'prompt a' }))

    const box = await screen.findByRole('dialog', { name: 'Image details' })
    expect(within(box).getByRole('img', { name: 'prompt a' })).toHaveAttribute('src', 'https://s3.example.com/a.png?sig=1')
    const parameters = within(box).getByTestId('image-parameters')
    for (const text of ['prompt a', 'blurry', 'Stable Diffusion 1.5', '512×768', '777', '30', '6.5', 'DPM++ 2M Karras']) {
      expect(within(parameters).getByText(text)).toBeInTheDocument()
    }
    // render's download URL answers as an attachment named after the day and the prompt
    const download = await within(box).findByRole('link', { name: 'Download' })
    expect(download).toHaveAttribute('href', 'https://s3.example.com/a.png?sig=1&response-content-disposition=attachment')
    expect(download).toHaveAttribute('download', 'pingvas-2025-03-03-prompt-a.png')
    const opened: unknown[] = []
    const open = window.open
    window.open = (...args: unknown[]) => (opened.push(args), null)
    const clicks: string[] = []
    const click = HTMLAnchorElement.prototype.click
    HTMLAnchorElement.prototype.click = function (this: HTMLAnchorElement) {
      clicks.push(this.href)
    }
    try {
      await user.click(download)
    } finally {
      window.open = open
      HTMLAnchorElement.prototype.click = click
    }
    expect(clicks).toEqual(['https://s3.example.com/a.png?sig=1&response-content-disposition=attachment'])
    expect(opened).toEqual([])
    // an image known only from search is named the same way
    const { download_name: _n, ...bare } = image('x', { prompt: 'A cat, on a sofa!', created_at: '2026-12-07T10:00:00Z' })
    expect(downloadName(bare)).toBe('pingvas-2026-12-07-a-cat-on-a-sofa.png')
    expect(downloadName({ ...bare, prompt: '소파 위의 고양이' })).toBe('pingvas-2026-12-07-소파-위의-고양이.png')

    await user.click(within(box).getByRole('button', { name: 'Delete' }))
    const confirm = screen.getByRole('dialog', { name: 'Delete image' })
    expect(callsTo('DELETE images/a')).toHaveLength(0)
    await user.click(within(confirm).getByRole('button', { name: 'Delete' }))

    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument())
    expect(callsTo('DELETE images/a')).toHaveLength(1)
    expect(names()).toEqual(['prompt b'])
  })

  it('keeps the card when the delete is cancelled', async () => {
    const { callsTo } = routes()
    renderApp('/gallery?image=a')
    const user = userEvent.setup()
    const box = await screen.findByRole('dialog', { name: 'Image details' })
    await user.click(await within(box).findByRole('button', { name: 'Delete' }))
    await user.click(within(screen.getByRole('dialog', { name: 'Delete image' })).getByRole('button', { name: 'Cancel' }))
    expect(screen.queryByRole('dialog', { name: 'Delete image' })).not.toBeInTheDocument()
    expect(callsTo('DELETE images/a')).toHaveLength(0)
    expect(names()).toEqual(['prompt a', 'prompt b'])
  })

  it('"use these settings again" fills the generate form, seed included', async () => {
    routes()
    renderApp('/gallery?image=a')
    const user = userEvent.setup()
    const box = await screen.findByRole('dialog', { name: 'Image details' })
    await user.click(await within(box).findByRole('button', { name: 'Use these settings again' }))

    expect(await screen.findByRole('heading', { name: 'Generate' })).toBeInTheDocument()
    expect(screen.getByRole('textbox', { name: 'Prompt' })).toHaveValue('prompt a')
    expect(screen.getByRole('textbox', { name: 'Negative prompt' })).toHaveValue('blurry')
    await waitFor(() => expect(screen.getByRole('combobox', { name: 'Model' })).toHaveValue('sd-1.5'))
    expect(screen.getByRole('spinbutton', { name: 'Width' })).toHaveValue(512)
    expect(screen.getByRole('spinbutton', { name: 'Height' })).toHaveValue(768)
    expect(screen.getByRole('spinbutton', { name: 'Steps' })).toHaveValue(30)
    expect(screen.getByRole('spinbutton', { name: 'CFG scale' })).toHaveValue(6.5)
    expect(screen.getByRole('combobox', { name: 'Scheduler' })).toHaveValue('dpmpp_2m_k')
    expect(screen.getByRole('checkbox', { name: 'Random seed' })).not.toBeChecked()
    expect(screen.getByRole('spinbutton', { name: 'Seed' })).toHaveValue(777)
  })

  it('says so when an image is gone', async () => {
    routes({ 'GET images/zzz': { status: 404, body: { title: 'Not Found', status: 404 } } })
    renderApp('/gallery?image=zzz')
    const box = await screen.findByRole('dialog', { name: 'Image details' })
    expect(await within(box).findByText('This image does not exist or was deleted.')).toBeInTheDocument()
  })

  it('shows an image deleted elsewhere as deleted: out of the grid, no stale copy, asked for once', async () => {
    const { callsTo } = routes({ 'GET images/a': { status: 404, body: { title: 'Not Found', status: 404 } } })
    renderApp('/gallery')
    const user = userEvent.setup()
    await user.click(await screen.findByRole('link', { name: 'prompt a' }))
    const box = await screen.findByRole('dialog', { name: 'Image details' })
    expect(await within(box).findByTestId('image-deleted')).toHaveTextContent('This image does not exist or was deleted.')
    // the list's copy is not shown in its place
    expect(within(box).queryByRole('img', { name: 'prompt a' })).not.toBeInTheDocument()
    expect(within(box).queryByRole('link', { name: 'Download' })).not.toBeInTheDocument()
    await waitFor(() => expect(names()).toEqual(['prompt b']))
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(callsTo('GET images/a')).toHaveLength(1)
  })

  it("hides Delete on another member's image when the team keeps deletion to one's own", async () => {
    routes({
      'GET images/a': { body: { ...A, user_id: 'someone-else' } },
      'GET tenant/settings': { body: { member_image_deletion: 'own' } },
    })
    renderApp('/gallery?image=a')
    const box = await screen.findByRole('dialog', { name: 'Image details' })
    expect(await within(box).findByRole('link', { name: 'Download' })).toBeInTheDocument()
    await waitFor(() => expect(within(box).queryByRole('button', { name: 'Delete' })).not.toBeInTheDocument())
  })
})
