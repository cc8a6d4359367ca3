/** Render's public API shapes (docs/render.md, "Public API"), generated from docs/api/openapi.json. */
import type { components } from '../../api/schema'

type S = components['schemas']

export type JobStatus = S['JobOut']['status']
export const TERMINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled']

/**
 * A job's parameters as the job carries them (every default filled in). The document types
 * `JobOut.request` as an open object, so its fields are spelled out here; what the app sends
 * to create a job is `GenerationIn`.
 */
export interface GenerationRequest {
  prompt: string
  negative_prompt: string
  model: string
  width: number
  height: number
  steps: number
  cfg_scale: number
  scheduler: string
  /** Left out for a random seed; the job then carries the concrete one. */
  seed?: number
  num_images: number
}
export type GenerationIn = S['GenerationIn']

export type JobError = S['JobError']
export type Job = Omit<S['JobOut'], 'request'> & { request: GenerationRequest }
export type JobPage = Omit<S['JobPage'], 'items'> & { items: Job[] }
/**
 * Presigned URLs: `url` (PNG) and `thumbnail_url` (WebP), valid for about 5 minutes;
 * `download_url` saves the PNG as `download_name`. Search's results share the shape but carry
 * no download URL nor author: render's own answer has them.
 */
export type Image = Omit<S['ImageOut'], 'download_url' | 'download_name' | 'user_id'> &
  Partial<Pick<S['ImageOut'], 'download_url' | 'download_name' | 'user_id'>>
/** What render answers for an image that is no more (404): shown as deleted, not asked again. */
export interface DeletedImage {
  id: string
  deleted: true
}
export type ImageOrDeleted = Image | DeletedImage

export function isDeleted(image: ImageOrDeleted | undefined): image is DeletedImage {
  return image !== undefined && 'deleted' in image && image.deleted === true
}
export type ImagePage = S['ImagePage']

/** Gallery filters; empty strings mean "any". Dates are `YYYY-MM-DD` (the browser's day). */
export interface ImageFilter {
  model: string
  from: string
  to: string
}

/** `max_*` are already capped by the plan. */
export type Model = S['ModelOut']
/** `credits_available`: the reservations are already taken off. */
export type Entitlements = S['EntitlementsOut']

// --- server-sent events on GET generations/{id}/events ------------------------
export interface QueuedEvent {
  job_id: string
  queue_position: number | null
}
export interface StartedEvent {
  job_id: string
  attempt: number
  started_at: string
}
export interface ProgressEvent {
  job_id: string
  progress: number
  image_index: number
  preview: string | null
}
export interface CompletedEvent {
  job_id: string
  image_ids: string[]
  credits_used: number
}
export interface FailedEvent {
  job_id: string
  error_code: string
  reason: string
}
export interface CancelledEvent {
  job_id: string
  stage: string
}

/** InvokeAI's scheduler names (pingvas_contracts.events.render.Scheduler). */
export const SCHEDULERS = [
  'ddim',
  'ddpm',
  'deis',
  'deis_k',
  'lms',
  'lms_k',
  'pndm',
  'heun',
  'heun_k',
  'euler',
  'euler_k',
  'euler_a',
  'kdpm_2',
  'kdpm_2_k',
  'kdpm_2_a',
  'kdpm_2_a_k',
  'dpmpp_2s',
  'dpmpp_2s_k',
  'dpmpp_sde',
  'dpmpp_sde_k',
  'dpmpp_2m',
  'dpmpp_2m_k',
  'dpmpp_2m_sde',
  'dpmpp_2m_sde_k',
  'dpmpp_3m',
  'dpmpp_3m_k',
  'unipc',
  'unipc_k',
  'lcm',
  'tcd',
] as const
export type Scheduler = (typeof SCHEDULERS)[number]
