import type { Entitlements, GenerationRequest, Image, Model } from './types'

/** API limits that do not depend on the model or plan (docs/render.md). */
export const MIN_SIZE = 64
export const MAX_STEPS = 150
export const MIN_CFG = 1
export const MAX_CFG = 30
export const MAX_SEED = 4294967295
export const MAX_PROMPT = 2000

/** What "use these settings again" hands to the Generate page (router state). */
export interface GenerationSettings {
  prompt: string
  negative_prompt: string
  model: string
  width: number
  height: number
  steps: number
  cfg_scale: number
  scheduler: string
  seed: number | null
  num_images: number
}

/** The form keeps numbers as typed text, so that a half-typed value stays editable. */
export interface FormValues {
  prompt: string
  negative_prompt: string
  model: string
  width: string
  height: string
  steps: string
  cfg_scale: string
  scheduler: string
  seed: string
  randomSeed: boolean
  num_images: string
}

export interface Limits {
  maxWidth: number
  maxHeight: number
  maxSteps: number
  maxImages: number
}

export function floor8(value: number): number {
  return Math.floor(value / 8) * 8
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), high)
}

/** The smaller of the model's and the plan's maximum (the model's is already capped; be safe). */
export function limitsFor(model: Model | undefined, entitlements: Entitlements | undefined): Limits {
  const maxWidth = Math.min(model?.max_width ?? 1024, entitlements?.max_width ?? Infinity)
  const maxHeight = Math.min(model?.max_height ?? 1024, entitlements?.max_height ?? Infinity)
  return {
    maxWidth: Math.max(MIN_SIZE, floor8(maxWidth)),
    maxHeight: Math.max(MIN_SIZE, floor8(maxHeight)),
    maxSteps: Math.min(model?.max_steps ?? MAX_STEPS, MAX_STEPS),
    maxImages: Math.max(1, entitlements?.max_images_per_job ?? 1),
  }
}

export type Shape = 'square' | 'portrait' | 'landscape'
export const SHAPES: readonly Shape[] = ['square', 'portrait', 'landscape']
export type Speed = 'fast' | 'balanced' | 'quality'
export const SPEEDS: readonly Speed[] = ['fast', 'balanced', 'quality']

/**
 * Square is the model's native size; portrait and landscape are 2:3 with the short side at
 * the native size, shrunk (keeping the ratio) to fit the maximums, in multiples of 8.
 */
export function sizeFor(shape: Shape, model: Model, limits: Limits): { width: number; height: number } {
  const base = Math.min(model.default_width, model.default_height)
  const long = base * 1.5
  const [w, h] = shape === 'square' ? [base, base] : shape === 'portrait' ? [base, long] : [long, base]
  const scale = Math.min(1, limits.maxWidth / w, limits.maxHeight / h)
  return {
    width: clamp(floor8(w * scale), MIN_SIZE, limits.maxWidth),
    height: clamp(floor8(h * scale), MIN_SIZE, limits.maxHeight),
  }
}

/** Fast halves the model's default steps, quality doubles them (within its maximum). */
export function stepsFor(speed: Speed, model: Model, limits: Limits): number {
  const base = model.default_steps
  const steps = speed === 'fast' ? Math.round(base / 2) : speed === 'quality' ? base * 2 : base
  return clamp(steps, 1, limits.maxSteps)
}

/** The price formula of docs/render.md; the API's answer is what counts. */
export function estimateCredits(model: Model | undefined, width: number, height: number, steps: number, images: number): number | null {
  if (!model || ![width, height, steps, images].every((n) => Number.isFinite(n) && n > 0)) return null
  const perImage = Math.ceil(model.credit_factor * ((width * height) / (512 * 512)) * (steps / 25) - 1e-9)
  return images * Math.max(1, perImage)
}

/** The model's defaults for everything but the prompts, the seed and the number of images. */
export function withModelDefaults(values: FormValues, model: Model, limits: Limits): FormValues {
  return {
    ...values,
    model: model.key,
    width: String(clamp(model.default_width, MIN_SIZE, limits.maxWidth)),
    height: String(clamp(model.default_height, MIN_SIZE, limits.maxHeight)),
    steps: String(clamp(model.default_steps, 1, limits.maxSteps)),
    cfg_scale: String(model.default_cfg_scale),
    scheduler: model.default_scheduler,
    num_images: String(clamp(Number(values.num_images) || 1, 1, limits.maxImages)),
  }
}

export function emptyValues(): FormValues {
  return {
    prompt: '',
    negative_prompt: '',
    model: '',
    width: '',
    height: '',
    steps: '',
    cfg_scale: '',
    scheduler: '',
    seed: '',
    randomSeed: true,
    num_images: '1',
  }
}

export function valuesFromSettings(settings: GenerationSettings): FormValues {
  return {
    prompt: settings.prompt,
    negative_prompt: settings.negative_prompt,
    model: settings.model,
    width: String(settings.width),
    height: String(settings.height),
    steps: String(settings.steps),
    cfg_scale: String(settings.cfg_scale),
    scheduler: settings.scheduler,
    seed: settings.seed === null ? '' : String(settings.seed),
    randomSeed: settings.seed === null,
    num_images: String(settings.num_images),
  }
}

export function settingsFromImage(image: Image): GenerationSettings {
  return {
    prompt: image.prompt,
    negative_prompt: image.negative_prompt,
    model: image.model,
    width: image.width,
    height: image.height,
    steps: image.steps,
    cfg_scale: image.cfg_scale,
    scheduler: image.scheduler,
    seed: image.seed,
    num_images: 1,
  }
}

/** Router state is whatever the history holds; accept only something shaped like settings. */
export function isGenerationSettings(value: unknown): value is GenerationSettings {
  if (!value || typeof value !== 'object') return false
  const s = value as Record<string, unknown>
  return (
    typeof s.prompt === 'string' &&
    typeof s.model === 'string' &&
    typeof s.width === 'number' &&
    typeof s.height === 'number' &&
    typeof s.steps === 'number'
  )
}

export function requestFromValues(values: FormValues): GenerationRequest {
  const request: GenerationRequest = {
    prompt: values.prompt,
    negative_prompt: values.negative_prompt,
    model: values.model,
    width: Number(values.width),
    height: Number(values.height),
    steps: Number(values.steps),
    cfg_scale: Number(values.cfg_scale),
    scheduler: values.scheduler,
    num_images: Number(values.num_images),
  }
  if (!values.randomSeed && values.seed.trim() !== '') request.seed = Number(values.seed)
  return request
}

export function randomSeed(): number {
  const buffer = new Uint32Array(1)
  crypto.getRandomValues(buffer)
  return buffer[0]
}
