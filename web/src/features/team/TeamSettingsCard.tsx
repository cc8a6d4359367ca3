import { useChangeTeamSettingsMutation, useGetTeamSettingsQuery } from './teamApi'
import type { TeamSettings } from './types'
import { Card, ErrorBanner, Loading, Notice } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import { useI18n } from '../../i18n/I18nProvider'

const CHOICES = [
  { value: 'own', label: 'team.imageDeletionOwn' },
  { value: 'any', label: 'team.imageDeletionAny' },
] as const

/** The team's settings for admins: who may delete another member's images. */
export function TeamSettingsCard() {
  const { t } = useI18n()
  const settings = useGetTeamSettingsQuery()
  const [change, changing] = useChangeTeamSettingsMutation()
  const loadError = useErrorMessage(settings.error)
  const changeError = useErrorMessage(changing.error)
  const current = changing.originalArgs && changing.isLoading ? changing.originalArgs : settings.data
  return (
    <Card title={t('team.settings')}>
      {settings.isLoading && <Loading />}
      <ErrorBanner message={loadError} />
      <ErrorBanner message={changeError} />
      {current && (
        <fieldset className="space-y-2" data-testid="image-deletion-setting">
          <legend className="mb-2 text-sm font-medium text-slate-900">{t('team.imageDeletion')}</legend>
          {CHOICES.map((choice) => (
            <label key={choice.value} className="flex items-start gap-2 text-sm text-slate-700">
              <input
                type="radio"
                name="member_image_deletion"
                value={choice.value}
                checked={current.member_image_deletion === choice.value}
                disabled={changing.isLoading}
                onChange={() => void change({ member_image_deletion: choice.value } satisfies TeamSettings)}
                className="mt-0.5 h-4 w-4 shrink-0 text-indigo-600 focus:ring-indigo-500"
              />
              <span className="min-w-0">{t(choice.label)}</span>
            </label>
          ))}
          {changing.isSuccess && !changing.isLoading && <Notice tone="success">{t('team.settingsSaved')}</Notice>}
        </fieldset>
      )}
    </Card>
  )
}
