import { useEffect, useId, useRef, useState, type MouseEvent } from 'react'
import { useNavigate } from 'react-router-dom'
import { useDeleteImageMutation, useGetImageQuery } from '../render/renderApi'
import { httpStatus } from '../../api/problem'
import { Button, ConfirmDialog, ErrorBanner, Loading } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import { useI18n } from '../../i18n/I18nProvider'
import { schedulerName, useModelName } from '../render/names'
import { settingsFromImage } from '../render/params'
import { isDeleted, type Image, type Model } from '../render/types'
import { useGetTeamSettingsQuery } from '../team/teamApi'
import { hasRole } from '../session/types'
import { useMe } from '../../components/useMe'
import { downloadName, saveImage } from './download'

function Parameter({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid grid-cols-[7rem_1fr] gap-2 py-1.5">
      <dt className="text-slate-500">{label}</dt>
      <dd className="min-w-0 break-words text-slate-900">{children}</dd>
    </div>
  )
}

/**
 * The full image with its parameters: download, use the settings again, delete (confirmed).
 * It loads the image afresh, since the presigned URLs last only minutes.
 */
export function Lightbox({
  id,
  initial,
  models,
  previousId,
  nextId,
  onNavigate,
  onClose,
}: {
  id: string
  initial: Image | undefined
  models: Model[] | undefined
  previousId: string | null
  nextId: string | null
  onNavigate: (id: string) => void
  onClose: () => void
}) {
  const { t, formatDate } = useI18n()
  const navigate = useNavigate()
  const titleId = useId()
  const panel = useRef<HTMLDivElement>(null)
  const query = useGetImageQuery(id, { refetchOnMountOrArgChange: true })
  // render's answer wins over the list's copy: a deleted image shows as deleted at once
  const deleted = isDeleted(query.data)
  const fresh = query.data && !isDeleted(query.data) ? query.data : undefined
  const image: Image | undefined = deleted ? undefined : (fresh ?? initial)
  const loadError = useErrorMessage(query.error)
  const me = useMe()
  const settings = useGetTeamSettingsQuery()
  // hidden only when it is known to be refused (render refuses it anyway: image-not-yours)
  const mayDelete =
    hasRole(me.role, 'admin') ||
    settings.data?.member_image_deletion !== 'own' ||
    !fresh ||
    fresh.user_id === me.user.id
  const [confirming, setConfirming] = useState(false)
  const [remove, removal] = useDeleteImageMutation()
  const removeError = useErrorMessage(removal.error)

  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null
    panel.current?.focus()
    return () => previous?.focus?.()
  }, [])

  const nameOf = useModelName()
  const modelName = image ? (models?.find((m) => m.key === image.model)?.name ?? nameOf(image.model)) : ''

  function download(event: MouseEvent<HTMLAnchorElement>) {
    event.preventDefault()
    if (fresh?.download_url) saveImage(fresh.download_url)
  }

  return (
    <>
      <div className="fixed inset-0 z-40 flex items-center justify-center bg-slate-900/70 p-2 sm:p-6" onClick={onClose}>
        <div
          ref={panel}
          role="dialog"
          aria-modal="true"
          aria-labelledby={titleId}
          tabIndex={-1}
          data-testid="lightbox"
          onClick={(event) => event.stopPropagation()}
          onKeyDown={(event) => {
            if (event.key === 'Escape') onClose()
            else if (event.key === 'ArrowLeft' && previousId) onNavigate(previousId)
            else if (event.key === 'ArrowRight' && nextId) onNavigate(nextId)
          }}
          className="grid max-h-full w-full max-w-6xl overflow-auto rounded-xl bg-white shadow-xl focus:outline-none lg:grid-cols-[1fr_20rem]"
        >
          <div className="relative flex min-h-64 items-center justify-center bg-slate-950">
            {image ? (
              <img src={image.url} alt={image.prompt} className="max-h-[80vh] w-auto max-w-full object-contain" />
            ) : query.isLoading ? (
              <div className="text-slate-300">
                <Loading />
              </div>
            ) : null}
            {previousId && (
              <button
                type="button"
                aria-label={t('gallery.previous')}
                onClick={() => onNavigate(previousId)}
                className="absolute left-2 top-1/2 -translate-y-1/2 rounded-full bg-white/80 px-3 py-2 text-lg text-slate-900 hover:bg-white"
              >
                ‹
              </button>
            )}
            {nextId && (
              <button
                type="button"
                aria-label={t('gallery.next')}
                onClick={() => onNavigate(nextId)}
                className="absolute right-2 top-1/2 -translate-y-1/2 rounded-full bg-white/80 px-3 py-2 text-lg text-slate-900 hover:bg-white"
              >
                ›
              </button>
            )}
          </div>
          <div className="flex flex-col gap-4 p-5">
            <div className="flex items-start justify-between gap-2">
              <h2 id={titleId} className="text-lg font-semibold text-slate-900">
                {t('gallery.imageTitle')}
              </h2>
              <Button variant="ghost" onClick={onClose}>
                {t('gallery.close')}
              </Button>
            </div>
            {deleted && (
              <p data-testid="image-deleted" className="rounded-md bg-slate-100 px-3 py-2 text-sm text-slate-700">
                {t('gallery.notFound')}
              </p>
            )}
            {!image && !deleted && httpStatus(query.error) !== 404 && <ErrorBanner message={loadError} />}
            {image && (
              <>
                <dl className="divide-y divide-slate-100 text-sm" data-testid="image-parameters">
                  <Parameter label={t('generate.prompt')}>{image.prompt}</Parameter>
                  <Parameter label={t('generate.negative')}>
                    {image.negative_prompt || <span className="text-slate-400">{t('gallery.none')}</span>}
                  </Parameter>
                  <Parameter label={t('generate.model')}>{modelName}</Parameter>
                  <Parameter label={t('gallery.size')}>
                    {image.width}×{image.height}
                  </Parameter>
                  <Parameter label={t('generate.seed')}>{image.seed}</Parameter>
                  <Parameter label={t('generate.steps')}>{image.steps}</Parameter>
                  <Parameter label={t('generate.cfg')}>{image.cfg_scale}</Parameter>
                  <Parameter label={t('generate.scheduler')}>{schedulerName(image.scheduler)}</Parameter>
                  <Parameter label={t('gallery.created')}>{formatDate(image.created_at)}</Parameter>
                </dl>
                <div className="mt-auto flex flex-wrap gap-2">
                  <a
                    href={fresh?.download_url ?? undefined}
                    download={downloadName(image)}
                    onClick={download}
                    aria-disabled={!fresh?.download_url}
                    data-testid="image-download"
                    className={`inline-flex items-center justify-center rounded-md bg-indigo-600 px-3.5 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 ${fresh?.download_url ? '' : 'pointer-events-none opacity-60'}`}
                  >
                    {t('gallery.download')}
                  </a>
                  <Button
                    variant="secondary"
                    onClick={() => navigate('/generate', { state: { settings: settingsFromImage(image) } })}
                  >
                    {t('gallery.reuse')}
                  </Button>
                  {mayDelete && (
                    <Button variant="danger" onClick={() => setConfirming(true)}>
                      {t('gallery.delete')}
                    </Button>
                  )}
                </div>
              </>
            )}
          </div>
        </div>
      </div>
      {confirming && (
        <ConfirmDialog
          title={t('gallery.deleteTitle')}
          body={t('gallery.deleteBody')}
          confirmLabel={t('gallery.delete')}
          busy={removal.isLoading}
          error={removeError}
          onCancel={() => setConfirming(false)}
          onConfirm={async () => {
            const result = await remove(id)
            if (!('error' in result)) {
              setConfirming(false)
              onClose()
            }
          }}
        />
      )}
    </>
  )
}
