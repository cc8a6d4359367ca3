import { Card, SelectField, TextField } from '../../components/ui'
import { useI18n } from '../../i18n/I18nProvider'
import { PresetGroup } from '../render/fields'
import { MAX_CFG, MAX_SEED, MIN_CFG, MIN_SIZE, SHAPES, SPEEDS, randomSeed } from '../render/params'
import { schedulerName } from '../render/names'
import { SCHEDULERS } from '../render/types'
import type { GenerateFormState } from './useGenerateForm'

/**
 * The generation parameters: shape and speed presets (the model's sizes and steps, within the
 * plan's limits), width, height, steps, CFG, scheduler, seed (or random), number of images.
 */
export function ParameterPanel({ form }: { form: GenerateFormState }) {
  const { t } = useI18n()
  const { values, set, setValues, limits, fieldErrors } = form
  // A scheduler the list does not know (settings used again) stays selectable.
  const schedulers: string[] = SCHEDULERS.includes(values.scheduler as (typeof SCHEDULERS)[number]) || !values.scheduler
    ? [...SCHEDULERS]
    : [values.scheduler, ...SCHEDULERS]

  return (
    <Card title={t('generate.settings')}>
      <div className="space-y-4">
        <PresetGroup
          label={t('generate.shape')}
          options={SHAPES}
          active={form.activeShape}
          labelOf={(shape) => t(`generate.shape.${shape}`)}
          onPick={form.pickShape}
        />
        <PresetGroup
          label={t('generate.speed')}
          options={SPEEDS}
          active={form.activeSpeed}
          labelOf={(speed) => t(`generate.speed.${speed}`)}
          onPick={form.pickSpeed}
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
            error={fieldErrors.width}
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
            error={fieldErrors.height}
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
            error={fieldErrors.steps}
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
            error={fieldErrors.cfg_scale}
          />
        </div>
        <p className="-mt-2 text-xs text-slate-500">{t('generate.cfgHint')}</p>
        <SelectField
          label={t('generate.scheduler')}
          name="scheduler"
          value={values.scheduler}
          onChange={(event) => set('scheduler', event.target.value)}
          error={fieldErrors.scheduler}
        >
          {schedulers.map((name) => (
            <option key={name} value={name}>
              {schedulerName(name)}
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
            error={fieldErrors.seed}
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
          error={fieldErrors.num_images}
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
  )
}
