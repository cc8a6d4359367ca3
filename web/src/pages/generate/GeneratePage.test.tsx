import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { FakeEventSource, installFakeEventSource } from '../../test/fakeEventSource'
import { SD15, TINY, entitlements, image, job } from '../../test/renderFixtures'
import { meFixture, mockApi, problem, renderApp } from '../../test/utils'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

function baseRoutes(extra: Parameters<typeof mockApi>[0] = {}) {
  return mockApi({
    'GET me': { body: meFixture('member') },
    'GET models': { body: { items: [TINY, SD15] } },
    'GET entitlements': { body: entitlements(100) },
    'GET generations?limit=6': { body: { items: [], next_cursor: null } },
    ...extra,
  })
}

async function readyForm() {
  const prompt = await screen.findByRole('textbox', { name: 'Prompt' })
  await waitFor(() => expect(screen.getByRole('combobox', { name: 'Model' })).toHaveValue('tiny-sd1'))
  return prompt
}

describe('generate page', () => {
  beforeEach(() => {
    installFakeEventSource()
  })

  it('submits with an idempotency key and shows live progress from the event stream', async () => {
    const { callsTo } = baseRoutes({
      'GET entitlements': [{ body: entitlements(100) }, { body: entitlements(99) }, { body: entitlements(98) }],
      'POST generations': { status: 202, body: job() },
      'GET images/img1': { body: image('img1', { prompt: '바다 위의 등대' }) },
    })
    renderApp('/generate')
    const user = userEvent.setup()
    const prompt = await readyForm()
    // The model's defaults fill the parameters.
    expect(screen.getByRole('spinbutton', { name: 'Width' })).toHaveValue(64)
    expect(screen.getByRole('spinbutton', { name: 'Steps' })).toHaveValue(4)
    expect(screen.getByRole('combobox', { name: 'Scheduler' })).toHaveValue('euler')
    expect(await screen.findByTestId('credits-left')).toHaveTextContent('Credits left: 100')
    // the header says it on every page
    expect(screen.getByTestId('header-credits')).toHaveTextContent('Credits left: 100')

    await user.type(prompt, '바다 위의 등대')
    await user.click(screen.getByRole('button', { name: 'Generate' }))

    await waitFor(() => expect(callsTo('POST generations')).toHaveLength(1))
    const post = callsTo('POST generations')[0]
    expect(post.headers.get('Idempotency-Key')).toMatch(UUID)
    expect(post.body).toEqual({
      prompt: '바다 위의 등대',
      negative_prompt: '',
      model: 'tiny-sd1',
      width: 64,
      height: 64,
      steps: 4,
      cfg_scale: 7.5,
      scheduler: 'euler',
      num_images: 1,
    })

    const card = await screen.findByRole('listitem', { name: '바다 위의 등대' })
    expect(within(card).getByText('Queued')).toBeInTheDocument()
    expect(within(card).getByText('3 jobs ahead in the queue')).toBeInTheDocument()
    const [stream] = FakeEventSource.for('/api/v1/generations/job1/events')
    expect(stream.withCredentials).toBe(true)

    stream.emit('queued', { job_id: 'job1', queue_position: 0 }, '1')
    expect(within(card).getByText('Next in line')).toBeInTheDocument()
    stream.emit('started', { job_id: 'job1', attempt: 1, started_at: '2025-03-01T10:00:01Z' }, '2')
    expect(within(card).getByText('Generating')).toBeInTheDocument()
    expect(within(card).getByRole('progressbar', { name: 'Progress' })).toHaveAttribute('aria-valuenow', '0')
    stream.emit('progress', { job_id: 'job1', progress: 0.5, image_index: 0, preview: 'data:image/webp;base64,AAAA' }, '2.1')
    expect(within(card).getByRole('progressbar', { name: 'Progress' })).toHaveAttribute('aria-valuenow', '50')
    expect(within(card).getByRole('img', { name: 'Preview' })).toHaveAttribute('src', 'data:image/webp;base64,AAAA')
    // A later progress event without a preview keeps the last one.
    stream.emit('progress', { job_id: 'job1', progress: 0.75, image_index: 0, preview: null }, '2.2')
    expect(within(card).getByText('75%')).toBeInTheDocument()
    expect(within(card).getByRole('img', { name: 'Preview' })).toBeInTheDocument()

    stream.emit('completed', { job_id: 'job1', image_ids: ['img1'], credits_used: 1 }, '3')
    expect(within(card).getByText('Done')).toBeInTheDocument()
    expect(stream.closed).toBe(true)
    const link = within(card).getByRole('link', { name: 'Open image 1' })
    expect(link).toHaveAttribute('href', '/gallery?image=img1')
    expect(await within(link).findByRole('img')).toHaveAttribute('src', 'https://s3.example.com/img1.thumb.webp?sig=1')
    expect(within(card).queryByRole('button', { name: 'Cancel' })).not.toBeInTheDocument()
    // Credits are read again after the job (and after the submit).
    await waitFor(() => expect(screen.getByTestId('credits-left')).toHaveTextContent('Credits left: 98'))
    expect(screen.getByTestId('header-credits')).toHaveTextContent('Credits left: 98')
  })

  it('does not submit on Enter while an input method is composing', async () => {
    const { callsTo } = baseRoutes({ 'POST generations': { status: 202, body: job() } })
    renderApp('/generate')
    const prompt = await readyForm()
    fireEvent.change(prompt, { target: { value: '고양이' } })

    // Enter that commits a Hangul syllable: isComposing, or (Safari) only keyCode 229.
    fireEvent.keyDown(prompt, { key: 'Enter', code: 'Enter', isComposing: true, keyCode: 13 })
    fireEvent.keyDown(prompt, { key: 'Enter', code: 'Enter', keyCode: 229 })
    // Between compositionstart and compositionend, whatever the event says.
    fireEvent.compositionStart(prompt)
    fireEvent.keyDown(prompt, { key: 'Enter', code: 'Enter', keyCode: 13 })
    fireEvent.compositionEnd(prompt)
    // Shift+Enter is a new line.
    fireEvent.keyDown(prompt, { key: 'Enter', code: 'Enter', keyCode: 13, shiftKey: true })
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(callsTo('POST generations')).toHaveLength(0)

    fireEvent.keyDown(prompt, { key: 'Enter', code: 'Enter', keyCode: 13 })
    await waitFor(() => expect(callsTo('POST generations')).toHaveLength(1))
    expect(callsTo('POST generations')[0].body).toMatchObject({ prompt: '고양이' })
  })

  it('says clearly when the credits run out (402)', async () => {
    baseRoutes({
      'GET entitlements': { body: entitlements(0) },
      'POST generations': problem(402, 'Payment Required', {
        type: 'https://pingvas.example/problems/out-of-credits',
        detail: 'insufficient credits',
        credits_needed: 2,
      }),
    })
    renderApp('/generate')
    const user = userEvent.setup()
    await user.type(await readyForm(), 'a red fox')
    await user.click(screen.getByRole('button', { name: 'Generate' }))
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'You do not have enough credits for this request. Make fewer or smaller images, use fewer steps, or add credits. It needs 2 credits; 0 are left.',
    )
    expect(screen.getByTestId('credits-left')).toHaveTextContent('Credits left: 0')
    expect(screen.queryByTestId('job-card')).not.toBeInTheDocument()
  })

  it('quotes the credits the server counted as available when it refused, not an older figure', async () => {
    baseRoutes({
      'GET entitlements': { body: entitlements(5) },
      'POST generations': problem(402, 'Payment Required', {
        code: 'out-of-credits',
        detail: 'This generation costs 8 credits and your team has 3 available.',
        credits_needed: 8,
        credits_available: 3,
      }),
    })
    renderApp('/generate')
    const user = userEvent.setup()
    await user.type(await readyForm(), 'a red fox')
    await user.click(screen.getByRole('button', { name: 'Generate' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('It needs 8 credits; 3 are left.')
  })

  it('shows 422 field errors next to their fields and the 429 wait', async () => {
    const { fetchMock } = baseRoutes({
      'POST generations': [
        problem(422, 'Validation failed', {
          code: 'validation-failed',
          errors: [{ field: 'body.width', message: 'width must be a multiple of 8.', code: 'not-a-multiple', params: { multiple_of: 8 } }],
        }),
        problem(429, 'Too Many Requests'),
      ],
    })
    // The table has no headers; add Retry-After to the 429.
    const withHeader = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const response = await fetchMock(input, init)
      if (response.status !== 429) return response
      const headers = new Headers(response.headers)
      headers.set('Retry-After', '30')
      return new Response(await response.text(), { status: 429, headers })
    })
    vi.stubGlobal('fetch', withHeader)
    renderApp('/generate')
    const user = userEvent.setup()
    await user.type(await readyForm(), 'a red fox')
    await user.click(screen.getByRole('button', { name: 'Generate' }))

    const width = screen.getByRole('spinbutton', { name: 'Width' })
    // the field's code in the reader's language, not the server's English
    expect(await screen.findByText('Enter a multiple of 8.')).toBeInTheDocument()
    expect(width).toHaveAttribute('aria-invalid', 'true')
    expect(width).toHaveAccessibleDescription('Enter a multiple of 8.')
    expect(screen.queryByText(/width must be/)).not.toBeInTheDocument()

    await user.click(screen.getByRole('button', { name: 'Generate' }))
    expect(await screen.findByText('Too many requests at once. You can try again in 30 s.')).toBeInTheDocument()
    expect(screen.getByRole('button', { name: 'Generate' })).toBeDisabled()
  })

  it('reuses the idempotency key when the same submit is retried, and takes a new one for the next', async () => {
    const { callsTo } = baseRoutes({
      'POST generations': [
        problem(503, 'Service Unavailable'),
        { status: 202, body: job() },
        { status: 202, body: job({ id: 'job2', created_at: '2025-03-01T10:01:00Z' }) },
      ],
    })
    renderApp('/generate')
    const user = userEvent.setup()
    await user.type(await readyForm(), 'a red fox')
    const submit = screen.getByRole('button', { name: 'Generate' })
    await user.click(submit)
    expect(await screen.findByRole('alert')).toHaveTextContent('This is not available right now.')
    await user.click(submit)
    await waitFor(() => expect(callsTo('POST generations')).toHaveLength(2))
    await screen.findByTestId('job-card')
    await user.click(submit)
    await waitFor(() => expect(callsTo('POST generations')).toHaveLength(3))

    const [first, retry, next] = callsTo('POST generations').map((c) => c.headers.get('Idempotency-Key'))
    expect(retry).toBe(first)
    expect(next).not.toBe(first)
    expect(next).toMatch(UUID)
    expect(await screen.findAllByTestId('job-card')).toHaveLength(2)
  })

  it('cancels a job, shows a failed job with its reason, and follows unfinished jobs after a reload', async () => {
    const { callsTo } = baseRoutes({
      'GET generations?limit=6': {
        body: {
          items: [
            job({ id: 'run', status: 'running', queue_position: null, progress: 0.2, request: { ...job().request, prompt: 'running one' } }),
            job({
              id: 'bad',
              status: 'failed',
              error: { code: 'engine_error', reason: 'Out of GPU memory' },
              request: { ...job().request, prompt: 'failed one' },
              created_at: '2025-03-01T09:00:00Z',
            }),
          ],
          next_cursor: null,
        },
      },
      'POST generations/run/cancel': { status: 202, body: job({ id: 'run', status: 'running' }) },
    })
    renderApp('/generate')
    const user = userEvent.setup()
    const failed = await screen.findByRole('listitem', { name: 'failed one' })
    expect(within(failed).getByText('Failed: Out of GPU memory')).toBeInTheDocument()
    expect(FakeEventSource.for('/generations/bad/events')).toHaveLength(0)

    const running = screen.getByRole('listitem', { name: 'running one' })
    expect(within(running).getByRole('progressbar')).toHaveAttribute('aria-valuenow', '20')
    const [stream] = FakeEventSource.for('/generations/run/events')
    await user.click(within(running).getByRole('button', { name: 'Cancel' }))
    await waitFor(() => expect(callsTo('POST generations/run/cancel')).toHaveLength(1))
    expect(await within(running).findByRole('button', { name: 'Cancelling…' })).toBeDisabled()
    stream.emit('cancelled', { job_id: 'run', stage: 'running' }, '3')
    expect(within(running).getByText('Cancelled')).toBeInTheDocument()
    expect(within(running).getByText('This job was cancelled; its credits were returned.')).toBeInTheDocument()
    expect(stream.closed).toBe(true)
  })

  it('shows the failure reason from the stream', async () => {
    baseRoutes({ 'POST generations': { status: 202, body: job() } })
    renderApp('/generate')
    const user = userEvent.setup()
    await user.type(await readyForm(), '바다 위의 등대')
    await user.click(screen.getByRole('button', { name: 'Generate' }))
    const card = await screen.findByRole('listitem', { name: '바다 위의 등대' })
    const [stream] = FakeEventSource.for('/generations/job1/events')
    stream.emit('failed', { job_id: 'job1', error_code: 'nsfw', reason: 'The image was blocked.' }, '2')
    expect(within(card).getByText('Failed: The image was blocked.')).toBeInTheDocument()
    expect(stream.closed).toBe(true)
  })

  it('fetches the job and reopens the stream when the browser gives up on it', async () => {
    const { callsTo } = baseRoutes({
      'POST generations': { status: 202, body: job() },
      'GET generations/job1': { body: job({ status: 'running', queue_position: null, progress: 0.4 }) },
    })
    renderApp('/generate')
    const user = userEvent.setup()
    await user.type(await readyForm(), '바다 위의 등대')
    await user.click(screen.getByRole('button', { name: 'Generate' }))
    const card = await screen.findByRole('listitem', { name: '바다 위의 등대' })
    const [stream] = FakeEventSource.for('/generations/job1/events')
    stream.fail(true)
    expect(within(card).getByText('Reconnecting…')).toBeInTheDocument()
    await waitFor(() => expect(callsTo('GET generations/job1')).toHaveLength(1))
    expect(await within(card).findByRole('progressbar')).toHaveAttribute('aria-valuenow', '40')
    await waitFor(() => expect(FakeEventSource.for('/generations/job1/events')).toHaveLength(1), { timeout: 3000 })
    const [again] = FakeEventSource.for('/generations/job1/events')
    expect(again).not.toBe(stream)
    again.emit('progress', { job_id: 'job1', progress: 0.9, image_index: 0, preview: null }, '2.5')
    expect(within(card).getByRole('progressbar')).toHaveAttribute('aria-valuenow', '90')
    expect(within(card).queryByText('Reconnecting…')).not.toBeInTheDocument()
  })

  it('keeps at most four streams open and polls the other unfinished jobs', async () => {
    const queued = Array.from({ length: 6 }, (_, i) =>
      job({
        id: `j${i}`,
        queue_position: i,
        created_at: `2025-03-01T10:0${i}:00Z`,
        request: { ...job().request, prompt: `job ${i}` },
      }),
    )
    const { callsTo } = baseRoutes({
      'GET generations?limit=6': { body: { items: [...queued].reverse(), next_cursor: null } },
      'GET generations/j4': { body: { ...queued[4], queue_position: 1 } },
      'GET generations/j5': { body: queued[5] },
    })
    renderApp('/generate')
    const polled = await screen.findByRole('listitem', { name: 'job 4' })
    // The oldest four (the first to run) have streams.
    const open = () => FakeEventSource.instances.filter((source) => !source.closed).map((source) => source.url)
    await waitFor(() =>
      expect(open().sort()).toEqual(['j0', 'j1', 'j2', 'j3'].map((id) => `/api/v1/generations/${id}/events`)),
    )
    expect(await within(polled).findByText('1 job ahead in the queue')).toBeInTheDocument()
    expect(callsTo('GET generations/j4')).toHaveLength(1)

    // One finishes: the next job gets its stream.
    FakeEventSource.for('/generations/j0/events')[0].emit('cancelled', { job_id: 'j0', stage: 'queued' }, '2')
    await waitFor(() => expect(FakeEventSource.for('/generations/j4/events')).toHaveLength(1))
    expect(FakeEventSource.for('/generations/j5/events')).toHaveLength(0)
  })

  it('presets follow the model defaults and the plan maximums', async () => {
    baseRoutes({ 'GET entitlements': { body: entitlements(100, { max_images_per_job: 4 }) } })
    renderApp('/generate')
    const user = userEvent.setup()
    await readyForm()
    await user.selectOptions(screen.getByRole('combobox', { name: 'Model' }), 'Stable Diffusion 1.5')
    const width = screen.getByRole('spinbutton', { name: 'Width' })
    const height = screen.getByRole('spinbutton', { name: 'Height' })
    const steps = screen.getByRole('spinbutton', { name: 'Steps' })
    expect(width).toHaveValue(512)
    expect(steps).toHaveValue(25)
    expect(screen.getByRole('combobox', { name: 'Scheduler' })).toHaveValue('dpmpp_2m_k')
    expect(within(screen.getByRole('group', { name: 'Shape' })).getByRole('button', { name: 'Square' })).toHaveAttribute(
      'aria-pressed',
      'true',
    )

    await user.click(screen.getByRole('button', { name: 'Portrait' }))
    expect(width).toHaveValue(512)
    expect(height).toHaveValue(768)
    await user.click(screen.getByRole('button', { name: 'Landscape' }))
    expect(width).toHaveValue(768)
    expect(height).toHaveValue(512)
    await user.click(screen.getByRole('button', { name: 'Fast' }))
    expect(steps).toHaveValue(13)
    await user.click(screen.getByRole('button', { name: 'Quality' }))
    expect(steps).toHaveValue(50)
    expect(screen.getByText('This request costs about 3 credits.')).toBeInTheDocument()
    expect(within(screen.getByRole('combobox', { name: 'Images per request' })).getAllByRole('option')).toHaveLength(4)
  })

  it('is in Korean', async () => {
    baseRoutes()
    renderApp('/generate', { locale: 'ko' })
    expect(await screen.findByRole('heading', { name: '이미지 생성' })).toBeInTheDocument()
    expect(await screen.findByRole('textbox', { name: '프롬프트' })).toBeInTheDocument()
    expect(screen.getByRole('link', { name: '갤러리' })).toBeInTheDocument()
  })

  it('shows a deleted image of a finished job as deleted, not as a spinner', async () => {
    const done = job({ status: 'completed', image_ids: ['gone', 'kept'], credits_used: 1, finished_at: '2025-03-01T10:00:05Z' })
    const { callsTo } = baseRoutes({
      'GET generations?limit=6': { body: { items: [done], next_cursor: null } },
      'GET images/gone': { status: 404, body: { title: 'Not Found', status: 404 } },
      'GET images/kept': { body: image('kept') },
    })
    renderApp('/generate')
    expect(await screen.findByTestId('job-image-deleted')).toHaveTextContent('Deleted')
    expect(await screen.findByRole('link', { name: 'Open image 2' })).toBeInTheDocument()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(callsTo('GET images/gone')).toHaveLength(1)
  })
})
