import { Link } from 'react-router-dom'
import { useCancelGenerationMutation, useGetImageQuery } from './renderApi'
import { Badge, Button, ErrorBanner, Spinner } from '../../components/ui'
import { useErrorMessage } from '../../components/useFormErrors'
import { useI18n } from '../../i18n/I18nProvider'
import { useModelName } from './names'
import { isDeleted, type Job, type JobStatus } from './types'
import { useJobEvents } from './useJobEvents'

const TONES: Record<JobStatus, 'slate' | 'green' | 'red' | 'indigo'> = {
  queued: 'slate',
  running: 'indigo',
  completed: 'green',
  failed: 'red',
  cancelled: 'slate',
}

/** A completed image's thumbnail, linking to its lightbox in the gallery. */
function JobThumbnail({ id, index, alt }: { id: string; index: number; alt: string }) {
  const { t } = useI18n()
  const image = useGetImageQuery(id)
  if (isDeleted(image.data)) {
    return (
      <span
        data-testid="job-image-deleted"
        className="flex aspect-square w-28 items-center justify-center rounded-lg bg-slate-100 p-2 text-center text-xs text-slate-500 ring-1 ring-slate-200"
      >
        {t('gallery.deleted')}
      </span>
    )
  }
  return (
    <Link
      to={`/gallery?image=${encodeURIComponent(id)}`}
      aria-label={t('job.openImage', { index: index + 1 })}
      data-testid="job-image"
      className="block aspect-square w-28 overflow-hidden rounded-lg bg-slate-100 ring-1 ring-slate-200 hover:ring-indigo-400"
    >
      {image.data ? (
        <img src={image.data.thumbnail_url} alt={alt} className="h-full w-full object-cover" loading="lazy" />
      ) : image.isError ? (
        <span className="flex h-full items-center justify-center text-xs text-slate-400">{t('gallery.unavailable')}</span>
      ) : (
        <span className="flex h-full items-center justify-center text-slate-400">
          <Spinner small />
        </span>
      )}
    </Link>
  )
}

/** One submitted job: status, queue position, live progress and preview, then its images. */
export function JobCard({ job, live = true, onSettled }: { job: Job; live?: boolean; onSettled?: (id: string) => void }) {
  const { t, formatDate } = useI18n()
  const nameOf = useModelName()
  const view = useJobEvents(job, { live, onSettled })
  const [cancel, cancelState] = useCancelGenerationMutation()
  const cancelError = useErrorMessage(cancelState.error)
  const request = job.request
  const percent = Math.round(view.progress * 100)
  const active = view.status === 'queued' || view.status === 'running'

  return (
    <li
      className="rounded-xl border border-slate-200 bg-white p-4 shadow-sm"
      aria-label={request.prompt}
      data-testid="job-card"
      data-status={view.status}
    >
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="min-w-0 flex-1 space-y-1">
          <p className="line-clamp-2 text-sm font-medium text-slate-900">{request.prompt}</p>
          <p className="text-xs text-slate-500">
            {nameOf(request.model)} · {request.width}×{request.height} · {t('generate.seed')} {job.seed ?? request.seed ?? '—'} ·{' '}
            {formatDate(job.created_at)}
          </p>
        </div>
        <div className="flex items-center gap-2">
          <span data-testid="job-status">
            <Badge tone={TONES[view.status]}>{t(`job.status.${view.status}`)}</Badge>
          </span>
          {active && (
            <Button
              variant="secondary"
              busy={cancelState.isLoading}
              disabled={cancelState.isSuccess}
              onClick={() => cancel(job.id)}
            >
              {cancelState.isSuccess ? t('job.cancelling') : t('job.cancel')}
            </Button>
          )}
        </div>
      </div>
      <div className="mt-2">
        <ErrorBanner message={cancelError} />
      </div>

      {view.status === 'queued' && (
        <p className="mt-3 text-sm text-slate-600" data-testid="job-queue">
          {view.queuePosition === null
            ? t('job.waiting')
            : view.queuePosition === 0
              ? t('job.nextInLine')
              : view.queuePosition === 1
                ? t('job.queuePositionOne')
                : t('job.queuePosition', { count: view.queuePosition })}
        </p>
      )}

      {view.status === 'running' && (
        <div className="mt-3 flex flex-wrap items-start gap-4">
          {view.preview && (
            <img
              src={view.preview}
              alt={t('job.preview')}
              className="h-28 w-28 rounded-lg object-cover ring-1 ring-slate-200"
            />
          )}
          <div className="min-w-48 flex-1 space-y-1">
            <div className="flex justify-between text-xs text-slate-600">
              <span>
                {request.num_images > 1
                  ? t('job.imageOf', { index: view.imageIndex + 1, count: request.num_images })
                  : t('job.progress')}
              </span>
              <span>{percent}%</span>
            </div>
            <div
              role="progressbar"
              aria-label={t('job.progress')}
              aria-valuemin={0}
              aria-valuemax={100}
              aria-valuenow={percent}
              className="h-2 overflow-hidden rounded-full bg-slate-100"
            >
              <div className="h-full rounded-full bg-indigo-600 transition-[width]" style={{ width: `${percent}%` }} />
            </div>
          </div>
        </div>
      )}

      {active && live && view.connection !== 'live' && (
        <p className="mt-2 text-xs text-amber-700" role="status">
          {view.connection === 'lost' ? t('job.lost') : t('job.reconnecting')}
        </p>
      )}

      {view.status === 'completed' && (
        <div className="mt-3 space-y-2">
          <ul className="flex flex-wrap gap-2">
            {view.imageIds.map((id, index) => (
              <li key={id}>
                <JobThumbnail id={id} index={index} alt={request.prompt} />
              </li>
            ))}
          </ul>
          {view.creditsUsed !== null && (
            <p className="text-xs text-slate-500">
              {view.creditsUsed === 1 ? t('job.creditsUsedOne') : t('job.creditsUsed', { credits: view.creditsUsed })}
            </p>
          )}
        </div>
      )}

      {view.status === 'failed' && (
        <p className="mt-3 text-sm text-red-700" data-testid="job-error">
          {t('job.failedReason', { reason: view.error?.reason || view.error?.code || t('error.generic') })}
        </p>
      )}

      {view.status === 'cancelled' && <p className="mt-3 text-sm text-slate-600">{t('job.cancelledNote')}</p>}
    </li>
  )
}
