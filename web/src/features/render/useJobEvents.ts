import { useEffect, useReducer, useRef } from 'react'
import { useDispatch } from 'react-redux'
import { api } from '../../api/api'
import { renderApi, useGetGenerationQuery } from './renderApi'
import { API_PREFIX } from '../../api/baseQuery'
import { httpStatus } from '../../api/problem'
import type { AppDispatch } from '../../app/store'
import {
  TERMINAL_STATUSES,
  type CancelledEvent,
  type CompletedEvent,
  type FailedEvent,
  type Job,
  type JobError,
  type JobStatus,
  type ProgressEvent,
  type QueuedEvent,
  type StartedEvent,
} from './types'

/** What a job card shows, folded from the job and its server-sent events. */
export interface JobView {
  status: JobStatus
  queuePosition: number | null
  /** 0..1 */
  progress: number
  imageIndex: number
  preview: string | null
  imageIds: string[]
  error: JobError | null
  creditsUsed: number | null
  attempt: number
  /** live: the stream is open; reconnecting: it dropped and is being reopened; lost: gave up. */
  connection: 'live' | 'reconnecting' | 'lost'
}

export type JobAction =
  | { type: 'queued'; data: QueuedEvent }
  | { type: 'started'; data: StartedEvent }
  | { type: 'progress'; data: ProgressEvent }
  | { type: 'completed'; data: CompletedEvent }
  | { type: 'failed'; data: FailedEvent }
  | { type: 'cancelled'; data: CancelledEvent }
  | { type: 'job'; job: Job }
  | { type: 'connection'; value: JobView['connection'] }

export const EVENT_TYPES = ['queued', 'started', 'progress', 'completed', 'failed', 'cancelled'] as const

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status)
}

/** `dispatched` is an internal state, shown as queued. */
function statusOf(value: string): JobStatus {
  return value === 'dispatched' ? 'queued' : (value as JobStatus)
}

export function viewOfJob(job: Job): JobView {
  return {
    status: statusOf(job.status),
    queuePosition: job.queue_position,
    progress: job.progress ?? 0,
    imageIndex: 0,
    preview: null,
    imageIds: job.image_ids ?? [],
    error: job.error,
    creditsUsed: job.credits_used,
    attempt: job.attempts ?? 0,
    connection: 'live',
  }
}

export function reduceJob(view: JobView, action: JobAction): JobView {
  switch (action.type) {
    case 'queued':
      return { ...view, status: 'queued', queuePosition: action.data.queue_position ?? null }
    case 'started': {
      // A second attempt (the first worker was lost) starts over.
      const retry = action.data.attempt > view.attempt && view.attempt > 0
      return {
        ...view,
        status: 'running',
        queuePosition: null,
        attempt: action.data.attempt,
        progress: retry ? 0 : view.progress,
        preview: retry ? null : view.preview,
      }
    }
    case 'progress':
      if (isTerminal(view.status)) return view
      return {
        ...view,
        status: 'running',
        queuePosition: null,
        progress: Math.min(1, Math.max(0, action.data.progress)),
        imageIndex: action.data.image_index ?? view.imageIndex,
        preview: action.data.preview ?? view.preview,
      }
    case 'completed':
      return {
        ...view,
        status: 'completed',
        progress: 1,
        queuePosition: null,
        imageIds: action.data.image_ids,
        creditsUsed: action.data.credits_used,
      }
    case 'failed':
      return {
        ...view,
        status: 'failed',
        queuePosition: null,
        error: { code: action.data.error_code, reason: action.data.reason },
      }
    case 'cancelled':
      return { ...view, status: 'cancelled', queuePosition: null }
    case 'job': {
      const next = viewOfJob(action.job)
      return { ...next, preview: view.preview, imageIndex: view.imageIndex, connection: view.connection }
    }
    case 'connection':
      return view.connection === action.value ? view : { ...view, connection: action.value }
  }
}

const MAX_RECOVERIES = 6
/** How often a job without a stream of its own is asked for (GET generations/{id}). */
export const POLL_MS = 5000

/**
 * Follows a job on `GET generations/{id}/events` while `live`; otherwise (the page keeps only
 * a few streams open, since a browser has six connections per origin over HTTP/1.1) it polls
 * the job. The browser's EventSource reconnects by itself (sending Last-Event-ID) while the
 * connection drops; when it gives up (an answer that is not a stream, such as a 401 from an
 * expired session), the job is fetched through the API (which refreshes the session) and the
 * stream reopened, with a growing pause. `onSettled` is called once the job has finished.
 */
export function useJobEvents(job: Job, { live = true, onSettled }: { live?: boolean; onSettled?: (id: string) => void } = {}): JobView {
  const [view, dispatchView] = useReducer(reduceJob, job, viewOfJob)
  const dispatch = useDispatch<AppDispatch>()
  const startedTerminal = isTerminal(statusOf(job.status))
  const finished = isTerminal(view.status)

  // Without a stream: poll.
  const polled = useGetGenerationQuery(job.id, { skip: live || finished, pollingInterval: POLL_MS })
  useEffect(() => {
    if (polled.data && !live) dispatchView({ type: 'job', job: polled.data })
  }, [polled.data, live])

  // Once it finishes here: credits were charged or released, new images belong in the gallery.
  const settledRef = useRef(startedTerminal)
  const onSettledRef = useRef(onSettled)
  onSettledRef.current = onSettled
  useEffect(() => {
    if (!finished || settledRef.current) return
    settledRef.current = true
    dispatch(api.util.invalidateTags(['Entitlements', 'Generations', { type: 'Images', id: 'LIST' }]))
    onSettledRef.current?.(job.id)
  }, [finished, dispatch, job.id])

  useEffect(() => {
    if (!live || startedTerminal || settledRef.current || typeof EventSource === 'undefined') return
    let stopped = false
    let source: EventSource | null = null
    let timer: ReturnType<typeof setTimeout> | undefined
    let recoveries = 0

    function finish() {
      stopped = true
      source?.close()
    }

    function open() {
      if (stopped) return
      source = new EventSource(`${API_PREFIX}generations/${encodeURIComponent(job.id)}/events`, {
        withCredentials: true,
      })
      source.onopen = () => dispatchView({ type: 'connection', value: 'live' })
      for (const type of EVENT_TYPES) {
        source.addEventListener(type, (event) => {
          if (stopped) return
          let data: unknown
          try {
            data = JSON.parse((event as MessageEvent<string>).data)
          } catch {
            return
          }
          recoveries = 0
          dispatchView({ type, data } as JobAction)
          dispatchView({ type: 'connection', value: 'live' })
          if (type === 'completed' || type === 'failed' || type === 'cancelled') finish()
        })
      }
      source.onerror = () => {
        if (stopped || !source) return
        dispatchView({ type: 'connection', value: 'reconnecting' })
        // CONNECTING (0): the browser retries by itself. CLOSED (2): it gave up.
        if (source.readyState === 2) {
          source.close()
          void recover()
        }
      }
    }

    async function recover() {
      const request = dispatch(renderApi.endpoints.getGeneration.initiate(job.id, { subscribe: false, forceRefetch: true }))
      const result = await request
      if (stopped) return
      if (result.data) {
        dispatchView({ type: 'job', job: result.data })
        if (isTerminal(statusOf(result.data.status))) {
          finish()
          return
        }
      } else if (httpStatus(result.error) === 404) {
        stopped = true
        dispatchView({ type: 'connection', value: 'lost' })
        return
      }
      recoveries += 1
      if (recoveries > MAX_RECOVERIES) {
        dispatchView({ type: 'connection', value: 'lost' })
        return
      }
      timer = setTimeout(open, Math.min(30_000, 500 * 2 ** recoveries))
    }

    open()
    return () => {
      stopped = true
      source?.close()
      clearTimeout(timer)
    }
  }, [job.id, live, startedTerminal, dispatch])

  return view
}
