import { ResendVerificationButton } from '../../features/session/ResendVerification'
import { PageTitle } from '../../components/Layouts'
import { Notice } from '../../components/ui'
import { useMe } from '../../components/useMe'
import { GenerateForm } from '../../features/generate/GenerateForm'
import { JobList } from '../../features/generate/JobList'
import { ParameterPanel } from '../../features/generate/ParameterPanel'
import { useGenerateForm } from '../../features/generate/useGenerateForm'
import { useI18n } from '../../i18n/I18nProvider'

/** /generate: the form with its parameter panel on the right, the job list below the form. */
export function GeneratePage() {
  const { t } = useI18n()
  const me = useMe()
  const form = useGenerateForm()

  return (
    <>
      <PageTitle testId="generate-title" subtitle={t('generate.intro')}>
        {t('generate.title')}
      </PageTitle>
      {!me.user.email_verified && (
        <Notice tone="warning">
          {t('generate.emailNotVerified')}
          <ResendVerificationButton />
        </Notice>
      )}
      {form.unavailable && <Notice tone="warning">{t('generate.modelUnavailable', form.unavailable)}</Notice>}

      <div className="grid items-start gap-6 lg:grid-cols-[1fr_20rem]">
        <GenerateForm form={form} panel={<ParameterPanel form={form} />} />
        <div className="lg:col-start-1 lg:row-start-2">
          <JobList submitted={form.submitted} />
        </div>
      </div>
    </>
  )
}
