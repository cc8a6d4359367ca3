import { useState } from 'react'
import { useDispatch } from 'react-redux'
import { useNavigate } from 'react-router-dom'
import { api } from '../../api/api'
import { useDeleteTenantMutation } from './teamApi'
import { Button, Dialog, ErrorBanner, TextField } from '../../components/ui'
import { useFormErrors } from '../../components/useFormErrors'
import { useI18n } from '../../i18n/I18nProvider'

export function DeleteTeamDialog({ teamName, onClose }: { teamName: string; onClose: () => void }) {
  const { t } = useI18n()
  const dispatch = useDispatch()
  const navigate = useNavigate()
  const [confirm, setConfirm] = useState('')
  const [deleteTenant, { isLoading, error }] = useDeleteTenantMutation()
  const errors = useFormErrors(error, ['confirm'])

  async function submit() {
    const result = await deleteTenant({ confirm })
    if (!('error' in result)) {
      onClose()
      navigate('/', { replace: true })
      dispatch(api.util.resetApiState())
    }
  }

  return (
    <Dialog
      title={t('account.deleteTeam')}
      onClose={onClose}
      footer={
        <>
          <Button variant="secondary" onClick={onClose}>
            {t('common.cancel')}
          </Button>
          <Button variant="danger" busy={isLoading} disabled={confirm !== teamName} onClick={submit}>
            {t('account.deleteTeamConfirm')}
          </Button>
        </>
      }
    >
      <ErrorBanner message={errors.banner} />
      <p>{t('account.deleteTeamWarning', { team: teamName })}</p>
      <TextField
        label={t('account.typeTeamName', { team: teamName })}
        name="confirm"
        value={confirm}
        autoComplete="off"
        onChange={(event) => setConfirm(event.target.value)}
        error={errors.fields.confirm}
      />
    </Dialog>
  )
}
