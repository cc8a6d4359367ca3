/**
 * The generate form's state and its submit: the values, the model's limits and defaults, the
 * presets, the price, and the jobs this page made. A retried submit of the same body reuses the
 * same `Idempotency-Key`, so a network failure or a 5xx never makes a second job.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react'
import { useLocation } from 'react-router-dom'
import { httpStatus, problemOf } from '../../api/problem'
import { useFormErrors } from '../../components/useFormErrors'
import { useI18n } from '../../i18n/I18nProvider'
import { retryAfterOf } from '../render/apiHelpers'
import { newIdempotencyKey } from '../render/idempotency'
import {
  MAX_PROMPT,
  SHAPES,
  SPEEDS,
  emptyValues,
  estimateCredits,
  isGenerationSettings,
  limitsFor,
  requestFromValues,
  sizeFor,
  stepsFor,
  valuesFromSettings,
  withModelDefaults,
  type FormValues,
  type Shape,
  type Speed,
} from '../render/params'
import { useCreateGenerationMutation, useGetEntitlementsQuery, useGetModelsQuery } from '../render/renderApi'
import type { Job } from '../render/types'

const FIELDS = [
  'prompt',
  'negative_prompt',
  'model',
  'width',
  'height',
  'steps',
  'cfg_scale',
  'scheduler',
  'seed',
  'num_images',
] as const

/** Statuses after which the same body with the same key may or may not have made a job. */
function outcomeUnknown(status: number | undefined, error: unknown): boolean {
  if (status === undefined) return error !== undefined
  return status >= 500
}

function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    if (!active) return
    setNow(Date.now())
    const timer = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(timer)
  }, [active])
  return now
}

export type GenerateFormState = ReturnType<typeof useGenerateForm>

export function useGenerateForm() {
  const { t } = useI18n()
  const location = useLocation()
  const models = useGetModelsQuery()
  const entitlements = useGetEntitlementsQuery()
  const [create, creation] = useCreateGenerationMutation()
  const errors = useFormErrors(creation.error, FIELDS)

  // "Use these settings again" arrives as router state; a prompt alone as `?prompt=` (the
  // gallery search's "generate this" link).
  const [values, setValues] = useState<FormValues>(() => {
    const settings = (location.state as { settings?: unknown } | null)?.settings
    if (isGenerationSettings(settings)) return valuesFromSettings(settings)
    const prompt = new URLSearchParams(location.search).get('prompt')
    return { ...emptyValues(), prompt: prompt ? prompt.slice(0, MAX_PROMPT) : '' }
  })
  const [unavailable, setUnavailable] = useState<{ model: string; fallback: string } | null>(null)
  const [submitted, setSubmitted] = useState<Job[]>([])
  const [retryUntil, setRetryUntil] = useState<number | null>(null)
  // The key of the last submit, kept while its outcome is unknown so that a retry reuses it.
  const attempt = useRef<{ key: string; body: string } | null>(null)

  const model = models.data?.find((m) => m.key === values.model)
  const limits = limitsFor(model, entitlements.data)

  // Once the models are known: fall back to the first one (with its defaults) unless the
  // chosen one is among them.
  useEffect(() => {
    const list = models.data
    if (!list || list.length === 0 || list.some((m) => m.key === values.model)) return
    const first = list[0]
    if (values.model) setUnavailable({ model: values.model, fallback: first.name })
    setValues((current) => withModelDefaults(current, first, limitsFor(first, entitlements.data)))
  }, [models.data, entitlements.data, values.model])

  const now = useNow(retryUntil !== null)
  const waitSeconds = retryUntil === null ? 0 : Math.max(0, Math.ceil((retryUntil - now) / 1000))

  function set<K extends keyof FormValues>(key: K, value: FormValues[K]) {
    setValues((current) => ({ ...current, [key]: value }))
  }

  function pickModel(key: string) {
    const next = models.data?.find((m) => m.key === key)
    if (!next) return
    setUnavailable(null)
    setValues((current) => withModelDefaults(current, next, limitsFor(next, entitlements.data)))
  }

  function pickShape(shape: Shape) {
    if (!model) return
    const size = sizeFor(shape, model, limits)
    setValues((current) => ({ ...current, width: String(size.width), height: String(size.height) }))
  }

  function pickSpeed(speed: Speed) {
    if (!model) return
    set('steps', String(stepsFor(speed, model, limits)))
  }

  const activeShape =
    (model &&
      SHAPES.find((shape) => {
        const size = sizeFor(shape, model, limits)
        return String(size.width) === values.width && String(size.height) === values.height
      })) ??
    null
  const activeSpeed = (model && SPEEDS.find((speed) => String(stepsFor(speed, model, limits)) === values.steps)) ?? null

  const cost = estimateCredits(
    model,
    Number(values.width),
    Number(values.height),
    Number(values.steps),
    Number(values.num_images),
  )
  const available = entitlements.data?.credits_available

  async function submit(event?: FormEvent) {
    event?.preventDefault()
    if (creation.isLoading || waitSeconds > 0 || !values.model) return
    const request = requestFromValues(values)
    const body = JSON.stringify(request)
    const key = attempt.current?.body === body ? attempt.current.key : newIdempotencyKey()
    attempt.current = { key, body }
    const result = await create({ request, idempotencyKey: key })
    if ('data' in result && result.data) {
      attempt.current = null
      setRetryUntil(null)
      const job = result.data
      setSubmitted((current) => [job, ...current.filter((j) => j.id !== job.id)])
      return
    }
    const status = httpStatus(result.error)
    // A network failure or a 5xx may have made the job: the same body retries with the same key.
    if (!outcomeUnknown(status, result.error)) attempt.current = null
    if (status === 429) {
      const seconds = retryAfterOf(result.error)
      setRetryUntil(seconds === null ? null : Date.now() + seconds * 1000)
    }
  }

  const status = httpStatus(creation.error)
  const problem = problemOf(creation.error)
  let banner = errors.banner
  if (status === 402) {
    const needed = problem?.credits_needed
    // what the server counted when it refused (balance less reservations); the page's figure
    // may be older
    const left = typeof problem?.credits_available === 'number' ? problem.credits_available : available
    banner =
      typeof needed === 'number' && left !== undefined
        ? `${t('generate.outOfCredits')} ${t('generate.creditsNeeded', { needed, available: left })}`
        : t('generate.outOfCredits')
  }
  else if (status === 403 && problem?.type?.includes('email-not-verified')) banner = t('generate.emailNotVerified')
  else if (status === 429 && retryUntil !== null) banner = waitSeconds > 0 ? t('generate.retryIn', { seconds: waitSeconds }) : null

  return {
    models,
    entitlements,
    busy: creation.isLoading,
    fieldErrors: errors.fields,
    banner,
    values,
    set,
    setValues,
    unavailable,
    limits,
    pickModel,
    pickShape,
    pickSpeed,
    activeShape,
    activeSpeed,
    cost,
    available,
    waitSeconds,
    submit,
    submitted,
  }
}
