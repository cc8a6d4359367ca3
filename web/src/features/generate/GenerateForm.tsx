import { useRef, type KeyboardEvent, type ReactNode } from 'react'
import { isComposing } from '../../components/ime'
import { Button, Card, ErrorBanner, Loading, Notice, SelectField } from '../../components/ui'
import { useI18n } from '../../i18n/I18nProvider'
import { TextAreaField } from '../render/fields'
import { MAX_PROMPT } from '../render/params'
import type { GenerateFormState } from './useGenerateForm'

/**
 * The generate form: prompt (Enter submits, except while an IME composes), negative prompt,
 * model, the credits and the price, the submit button, and the parameter panel given as
 * `panel`. `contents`: its two cards sit in the page's grid, the job list between them.
 */
export function GenerateForm({ form, panel }: { form: GenerateFormState; panel: ReactNode }) {
  const { t } = useI18n()
  const composing = useRef(false)
  const { models, entitlements, values, set, fieldErrors, cost, available } = form

  function onPromptKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key !== 'Enter' || event.shiftKey || isComposing(event, composing.current)) return
    event.preventDefault()
    event.currentTarget.form?.requestSubmit()
  }

  return (
    <form onSubmit={form.submit} data-testid="generate-form" className="contents">
      <div className="lg:col-start-1 lg:row-start-1">
        <Card>
          <div className="space-y-4">
            <ErrorBanner message={form.banner} />
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
              error={fieldErrors.prompt}
            />
            <TextAreaField
              label={t('generate.negative')}
              name="negative_prompt"
              rows={2}
              maxLength={MAX_PROMPT}
              value={values.negative_prompt}
              onChange={(event) => set('negative_prompt', event.target.value)}
              hint={t('generate.negativeHint')}
              error={fieldErrors.negative_prompt}
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
                onChange={(event) => form.pickModel(event.target.value)}
                error={fieldErrors.model}
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
                busy={form.busy}
                disabled={form.waitSeconds > 0 || !values.model}
                data-testid="generate-submit"
              >
                {t('generate.submit')}
              </Button>
            </div>
          </div>
        </Card>
      </div>

      <div className="lg:col-start-2 lg:row-span-2 lg:row-start-1">{panel}</div>
    </form>
  )
}
