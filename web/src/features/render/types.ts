/** Render's public API shapes (docs/render.md, "Public API"). */

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled'
export const TERMINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled']

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

export interface JobError {
  code: string
  reason: string
}

export interface Job {
  id: string
  status: JobStatus
  request: GenerationRequest
  seed: number
  credits_reserved: number
  credits_used: number | null
  queue_position: number | null
  progress: number
  image_ids: string[]
  error: JobError | null
  attempts: number
  created_at: string
  started_at: string | null
  finished_at: string | null
}

export interface JobPage {
  items: Job[]
  next_cursor: string | null
}

export interface Image {
  id: string
  job_id: string
  index: number
  prompt: string
  negative_prompt: string
  model: string
  width: number
  height: number
  seed: number
  steps: number
  cfg_scale: number
  scheduler: string
  size_bytes: number
  created_at: string
  /** Presigned PNG URL, valid for about 5 minutes. */
  url: string
  /** Presigned WebP URL. */
  thumbnail_url: string
}

export interface ImagePage {
  items: Image[]
  next_cursor: string | null
}

/** Gallery filters; empty strings mean "any". Dates are `YYYY-MM-DD` (the browser's day). */
export interface ImageFilter {
  model: string
  from: string
  to: string
}

export interface Model {
  key: string
  name: string
  base: string
  default_width: number
  default_height: number
  /** Already capped by the plan. */
  max_width: number
  max_height: number
  default_steps: number
  max_steps: number
  default_cfg_scale: number
  default_scheduler: string
  credit_factor: number
  test: boolean
}

export interface Entitlements {
  plan: string
  /** The reservations are already taken off. */
  credits_available: number
  credits_reserved: number
  max_concurrent_jobs: number
  max_images_per_job: number
  max_width: number
  max_height: number
  allowed_models: string[]
  priority_weight: number
}

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
