import type { Entitlements, Image, Job, Model } from '../features/render/types'

export const TINY: Model = {
  key: 'tiny-sd1',
  name: 'Tiny SD-1',
  base: 'sd-1',
  default_width: 64,
  default_height: 64,
  max_width: 256,
  max_height: 256,
  default_steps: 4,
  max_steps: 50,
  default_cfg_scale: 7.5,
  default_scheduler: 'euler',
  credit_factor: 1,
  test: true,
}

export const SD15: Model = {
  key: 'sd-1.5',
  name: 'Stable Diffusion 1.5',
  base: 'sd-1',
  default_width: 512,
  default_height: 512,
  max_width: 1024,
  max_height: 1024,
  default_steps: 25,
  max_steps: 100,
  default_cfg_scale: 7.5,
  default_scheduler: 'dpmpp_2m_k',
  credit_factor: 1,
  test: false,
}

export function entitlements(credits: number, overrides: Partial<Entitlements> = {}): Entitlements {
  return {
    plan: 'free',
    credits_available: credits,
    credits_reserved: 0,
    max_concurrent_jobs: 1,
    max_images_per_job: 2,
    max_width: 1024,
    max_height: 1024,
    allowed_models: ['tiny-sd1', 'sd-1.5'],
    priority_weight: 1,
    ...overrides,
  }
}

export function job(overrides: Partial<Job> = {}): Job {
  return {
    id: 'job1',
    status: 'queued',
    cancel_requested: false,
    request: {
      prompt: '바다 위의 등대',
      negative_prompt: '',
      model: 'tiny-sd1',
      width: 64,
      height: 64,
      steps: 4,
      cfg_scale: 7.5,
      scheduler: 'euler',
      seed: 123,
      num_images: 1,
    },
    seed: 123,
    credits_reserved: 1,
    credits_used: null,
    queue_position: 3,
    progress: 0,
    image_ids: [],
    error: null,
    attempts: 0,
    created_at: '2025-03-01T10:00:00Z',
    started_at: null,
    finished_at: null,
    ...overrides,
  }
}

export function image(id: string, overrides: Partial<Image> = {}): Image {
  return {
    id,
    job_id: 'job1',
    index: 0,
    prompt: `prompt ${id}`,
    negative_prompt: 'blurry',
    model: 'sd-1.5',
    width: 512,
    height: 768,
    seed: 777,
    steps: 30,
    cfg_scale: 6.5,
    scheduler: 'dpmpp_2m_k',
    size_bytes: 1234,
    created_at: '2025-03-01T10:00:00Z',
    url: `https://s3.example.com/${id}.png?sig=1`,
    thumbnail_url: `https://s3.example.com/${id}.thumb.webp?sig=1`,
    user_id: 'u1',
    download_name: `pingvas-${(overrides.created_at ?? '2025-03-01').slice(0, 10)}-prompt-${id}.png`,
    download_url: `https://s3.example.com/${id}.png?sig=1&response-content-disposition=attachment`,
    ...overrides,
  }
}
