import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent, type KeyboardEvent } from 'react'
import { useLocation } from 'react-router-dom'
import {
  useCreateGenerationMutation,
  useGetEntitlementsQuery,
  useGetModelsQuery,
  useGetRecentGenerationsQuery,
} from '../../features/render/renderApi'
import { httpStatus, problemOf } from '../../api/problem'
import { PageTitle } from '../../components/Layouts'
import { Button, Card, ErrorBanner, Loading, Notice, SelectField, TextField } from '../../components/ui'
import { useFormErrors } from '../../components/useFormErrors'
import { isComposing } from '../../components/ime'
import { useMe } from '../../components/useMe'
import { useI18n } from '../../i18n/I18nProvider'
import { retryAfterOf } from '../../features/render/apiHelpers'
import { PresetGroup, TextAreaField } from '../../features/render/fields'
import { newIdempotencyKey } from '../../features/render/idempotency'
import { JobCard } from '../../features/render/JobCard'
import { isTerminal } from '../../features/render/useJobEvents'
import {
  MAX_CFG,
  MAX_PROMPT,
  MAX_SEED,
  MIN_CFG,
  MIN_SIZE,
  SHAPES,
  SPEEDS,
  emptyValues,
  estimateCredits,
  isGenerationSettings,
  limitsFor,
  randomSeed,
  requestFromValues,
  sizeFor,
  stepsFor,
  valuesFromSettings,
  withModelDefaults,
  type FormValues,
  type Shape,
  type Speed,
} from '../../features/render/params'
import { SCHEDULERS, type Job } from '../../features/render/types'

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

/**
 * Event streams kept open at once. Over HTTP/1.1 a browser has six connections per origin;
 * the other unfinished jobs are polled until a stream is free.
 */
export const MAX_STREAMS = 4

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

export function GeneratePage() {
  const { t } = useI18n()
  const me = useMe()
  const location = useLocation()
  const models = useGetModelsQuery()
  const entitlements = useGetEntitlementsQuery()
  const recent = useGetRecentGenerationsQuery(undefined, { refetchOnMountOrArgChange: true })
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
  const [settled, setSettled] = useState<ReadonlySet<string>>(new Set())
  const onSettled = useCallback((id: string) => setSettled((current) => new Set(current).add(id)), [])
  const [retryUntil, setRetryUntil] = useState<number | null>(null)
  const composing = useRef(false)
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

  function onPromptKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key !== 'Enter' || event.shiftKey || isComposing(event, composing.current)) return
    event.preventDefault()
    event.currentTarget.form?.requestSubmit()
  }

  const status = httpStatus(creation.error)
  const problem = problemOf(creation.error)
  let banner = errors.banner
  if (status === 402) {
    const needed = (problem as { credits_needed?: unknown } | null)?.credits_needed
    banner =
      typeof needed === 'number' && available !== undefined
        ? `${t('generate.outOfCredits')} ${t('generate.creditsNeeded', { needed, available })}`
        : t('generate.outOfCredits')
  }
  else if (status === 403 && problem?.type?.includes('email-not-verified')) banner = t('generate.emailNotVerified')
  else if (status === 429 && retryUntil !== null) banner = waitSeconds > 0 ? t('generate.retryIn', { seconds: waitSeconds }) : null

  const jobs = useMemo(() => {
    const seen = new Set<string>()
    const all = [...submitted, ...(recent.data?.items ?? [])].filter((job) => {
      if (seen.has(job.id)) return false
      seen.add(job.id)
      return true
    })
    return all.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0))
  }, [submitted, recent.data])

  // Streams for the jobs that start first (oldest unfinished); the rest are polled.
  const liveIds = useMemo(
    () =>
      new Set(
        jobs
          .filter((job) => !isTerminal(job.status) && !settled.has(job.id))
          .sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0))
          .slice(0, MAX_STREAMS)
          .map((job) => job.id),
      ),
    [jobs, settled],
  )

  const schedulers: string[] = SCHEDULERS.includes(values.scheduler as (typeof SCHEDULERS)[number]) || !values.scheduler
    ? [...SCHEDULERS]
    : [values.scheduler, ...SCHEDULERS]

  return (
    <>
      <PageTitle testId="generate-title" subtitle={t('generate.intro')}>
        {t('generate.title')}
      </PageTitle>
      {!me.user.email_verified && <Notice tone="warning">{t('generate.emailNotVerified')}</Notice>}
      {unavailable && <Notice tone="warning">{t('generate.modelUnavailable', unavailable)}</Notice>}

      <div className="grid items-start gap-6 lg:grid-cols-[1fr_20rem]">
        {/* `contents`: the form's two cards sit in the page grid, the job list between them. */}
        <form onSubmit={submit} data-testid="generate-form" className="contents">
          <div className="lg:col-start-1 lg:row-start-1">
            <Card>
              <div className="space-y-4">
                <ErrorBanner message={banner} />
                <TextAreaField
                  label={t('generate.prompt')}
                  name="prompt"
                  rows={4}
                  required
                  maxLength={MAX_PROMPT}
                  placeholder={t('generate.promptPlaceholder')}
                  value={values.prompt}
                  onChange={(event) => set('prompt', event.target.value)}
                  onKeyDown={onPromptKeyDown}
                  onCompositionStart={() => {
                    composing.current = true
                  }}
                  onCompositionEnd={() => {
                    composing.current = false
                  }}
                  hint={t('generate.promptHint')}
                  error={errors.fields.prompt}
                />
                <TextAreaField
                  label={t('generate.negative')}
                  name="negative_prompt"
                  rows={2}
                  maxLength={MAX_PROMPT}
                  value={values.negative_prompt}
                  onChange={(event) => set('negative_prompt', event.target.value)}
                  hint={t('generate.negativeHint')}
                  error={errors.fields.negative_prompt}
                />
                {models.isLoading ? (
                  <Loading />
                ) : models.data && models.data.length === 0 ? (
                  <Notice tone="warning">{t('generate.noModels')}</Notice>
                ) : (
                  <SelectField
                    label={t('generate.model')}
                    name="model"
                    value={values.model}
                    onChange={(event) => pickModel(event.target.value)}
                    error={errors.fields.model}
                  >
                    {(models.data ?? []).map((m) => (
                      <option key={m.key} value={m.key}>
                        {m.name}
                      </option>
                    ))}
                  </SelectField>
                )}
                <div className="flex flex-wrap items-center justify-between gap-3 border-t border-slate-100 pt-4">
                  <div className="space-y-0.5 text-sm" aria-live="polite">
                    {entitlements.data && (
                      <p className="font-medium text-slate-900" data-testid="credits-left">
                        {t('generate.credits', { credits: entitlements.data.credits_available })}
                      </p>
                    )}
                    {cost !== null && (
                      <p className="text-xs text-slate-500">
                        {cost === 1 ? t('generate.costOne') : t('generate.cost', { credits: cost })}{' '}
                        {available !== undefined && cost > available && (
                          <span className="text-amber-700">{t('generate.costTooHigh')}</span>
                        )}
                      </p>
                    )}
                  </div>
                  <Button
                    type="submit"
                    busy={creation.isLoading}
                    disabled={waitSeconds > 0 || !values.model}
                    data-testid="generate-submit"
                  >
                    {t('generate.submit')}
                  </Button>
                </div>
              </div>
            </Card>
          </div>

          <div className="lg:col-start-2 lg:row-span-2 lg:row-start-1">
            <Card title={t('generate.settings')}>
              <div className="space-y-4">
                <PresetGroup
                  label={t('generate.shape')}
                  options={SHAPES}
                  active={activeShape}
                  labelOf={(shape) => t(`generate.shape.${shape}`)}
                  onPick={pickShape}
                />
                <PresetGroup
                  label={t('generate.speed')}
                  options={SPEEDS}
                  active={activeSpeed}
                  labelOf={(speed) => t(`generate.speed.${speed}`)}
                  onPick={pickSpeed}
                />
                <div className="grid grid-cols-2 gap-3">
                  <TextField
                    label={t('generate.width')}
                    name="width"
                    type="number"
                    inputMode="numeric"
                    required
                    min={MIN_SIZE}
                    max={limits.maxWidth}
                    step={8}
                    value={values.width}
                    onChange={(event) => set('width', event.target.value)}
                    hint={t('generate.sizeHint', { max: limits.maxWidth })}
                    error={errors.fields.width}
                  />
                  <TextField
                    label={t('generate.height')}
                    name="height"
                    type="number"
                    inputMode="numeric"
                    required
                    min={MIN_SIZE}
                    max={limits.maxHeight}
                    step={8}
                    value={values.height}
                    onChange={(event) => set('height', event.target.value)}
                    hint={t('generate.sizeHint', { max: limits.maxHeight })}
                    error={errors.fields.height}
                  />
                </div>
                <div className="grid grid-cols-2 gap-3">
                  <TextField
                    label={t('generate.steps')}
                    name="steps"
                    type="number"
                    inputMode="numeric"
                    required
                    min={1}
                    max={limits.maxSteps}
                    step={1}
                    value={values.steps}
                    onChange={(event) => set('steps', event.target.value)}
                    hint={t('generate.stepsHint', { max: limits.maxSteps })}
                    error={errors.fields.steps}
                  />
                  <TextField
                    label={t('generate.cfg')}
                    name="cfg_scale"
                    type="number"
                    inputMode="decimal"
                    required
                    min={MIN_CFG}
                    max={MAX_CFG}
                    step={0.5}
                    value={values.cfg_scale}
                    onChange={(event) => set('cfg_scale', event.target.value)}
                    error={errors.fields.cfg_scale}
                  />
                </div>
                <p className="-mt-2 text-xs text-slate-500">{t('generate.cfgHint')}</p>
                <SelectField
                  label={t('generate.scheduler')}
                  name="scheduler"
                  value={values.scheduler}
                  onChange={(event) => set('scheduler', event.target.value)}
                  error={errors.fields.scheduler}
                >
                  {schedulers.map((name) => (
                    <option key={name} value={name}>
                      {name}
                    </option>
                  ))}
                </SelectField>
                <div className="space-y-2">
                  <TextField
                    label={t('generate.seed')}
                    name="seed"
                    type="number"
                    inputMode="numeric"
                    min={0}
                    max={MAX_SEED}
                    step={1}
                    required={!values.randomSeed}
                    disabled={values.randomSeed}
                    value={values.randomSeed ? '' : values.seed}
                    onChange={(event) => set('seed', event.target.value)}
                    hint={t('generate.seedHint')}
                    error={errors.fields.seed}
                  />
                  <label className="flex items-center gap-2 text-sm text-slate-700">
                    <input
                      type="checkbox"
                      name="randomSeed"
                      checked={values.randomSeed}
                      onChange={(event) => {
                        const random = event.target.checked
                        setValues((current) => ({
                          ...current,
                          randomSeed: random,
                          seed: !random && current.seed === '' ? String(randomSeed()) : current.seed,
                        }))
                      }}
                      className="h-4 w-4 rounded border-slate-300 text-indigo-600 focus:ring-indigo-500"
                    />
                    {t('generate.randomSeed')}
                  </label>
                </div>
                <SelectField
                  label={t('generate.images')}
                  name="num_images"
                  value={values.num_images}
                  onChange={(event) => set('num_images', event.target.value)}
                  error={errors.fields.num_images}
                >
                  {Array.from({ length: Math.max(limits.maxImages, Number(values.num_images) || 1) }, (_, i) => i + 1).map(
                    (n) => (
                      <option key={n} value={String(n)}>
                        {n}
                      </option>
                    ),
                  )}
                </SelectField>
              </div>
            </Card>
          </div>
        </form>

        <div className="lg:col-start-1 lg:row-start-2">
          <Card title={t('generate.jobs')}>
            {jobs.length === 0 ? (
              recent.isLoading ? (
                <Loading />
              ) : (
                <p className="text-sm text-slate-500">{t('generate.noJobs')}</p>
              )
            ) : (
              <ul className="space-y-3" data-testid="job-list">
                {jobs.map((job) => (
                  <JobCard key={job.id} job={job} live={liveIds.has(job.id)} onSettled={onSettled} />
                ))}
              </ul>
            )}
          </Card>
        </div>
      </div>
    </>
  )
}
