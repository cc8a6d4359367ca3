import { useCallback, useMemo, useState } from 'react'
import { Card, Loading } from '../../components/ui'
import { useI18n } from '../../i18n/I18nProvider'
import { JobCard } from '../render/JobCard'
import { useGetRecentGenerationsQuery } from '../render/renderApi'
import type { Job } from '../render/types'
import { isTerminal } from '../render/useJobEvents'

/**
 * Event streams kept open at once. Over HTTP/1.1 a browser has six connections per origin;
 * the other unfinished jobs are polled until a stream is free.
 */
export const MAX_STREAMS = 4

/**
 * One card per job, newest first: the ones this page submitted and the recent ones (so that a
 * reload keeps showing and following them), each job once.
 */
export function JobList({ submitted }: { submitted: Job[] }) {
  const { t } = useI18n()
  const recent = useGetRecentGenerationsQuery(undefined, { refetchOnMountOrArgChange: true })
  const [settled, setSettled] = useState<ReadonlySet<string>>(new Set())
  const onSettled = useCallback((id: string) => setSettled((current) => new Set(current).add(id)), [])

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

  return (
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
  )
}
