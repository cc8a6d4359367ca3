import { useId, useMemo } from 'react'
import { useI18n } from '../../i18n/I18nProvider'
import type { UsageDay } from './usage'

const BAR = 16
const GAP = 4
const HEIGHT = 120

/**
 * Credits per day as SVG bars: the picture is one labelled image (the total), each bar carries
 * its day and numbers as a tooltip, and a visually hidden table gives screen readers every day.
 */
export function UsageChart({ days }: { days: UsageDay[] }) {
  const { t, locale } = useI18n()
  const titleId = useId()
  const dayFormat = useMemo(
    () => new Intl.DateTimeFormat(locale === 'ko' ? 'ko-KR' : 'en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' }),
    [locale],
  )
  const label = (day: string) => dayFormat.format(new Date(`${day}T00:00:00Z`))
  const total = days.reduce((sum, day) => sum + day.credits, 0)
  const jobs = days.reduce((sum, day) => sum + day.jobs, 0)
  const max = Math.max(0, ...days.map((day) => day.credits))
  const width = days.length * (BAR + GAP) - GAP
  const summary = t('billing.usage.summary', { credits: total, jobs, days: days.length })

  if (days.length === 0) return null
  return (
    <figure className="min-w-0 space-y-2" data-testid="usage-chart" data-total={total}>
      <figcaption id={titleId} className="text-sm text-slate-700">
        {summary}
      </figcaption>
      {/* the SVG's own width (its viewBox) must not widen the row on a phone: it shrinks */}
      <div className="flex min-w-0 gap-2">
        <div aria-hidden="true" className="flex shrink-0 flex-col justify-between text-right text-xs text-slate-500" style={{ minWidth: '2.5rem' }}>
          <span>{max}</span>
          <span>0</span>
        </div>
        <svg
          role="img"
          aria-labelledby={titleId}
          viewBox={`0 0 ${width} ${HEIGHT}`}
          preserveAspectRatio="none"
          className="h-32 w-0 min-w-0 flex-1 overflow-visible border-b border-l border-slate-200"
        >
          {days.map((day, index) => {
            const height = max > 0 ? Math.round((day.credits / max) * (HEIGHT - 4)) : 0
            return (
              <rect
                key={day.day}
                data-testid="usage-bar"
                data-day={day.day}
                data-credits={day.credits}
                x={index * (BAR + GAP)}
                y={HEIGHT - Math.max(height, 1)}
                width={BAR}
                height={Math.max(height, 1)}
                rx={2}
                className={day.credits > 0 ? 'fill-indigo-500 hover:fill-indigo-600' : 'fill-slate-200'}
              >
                <title>{t('billing.usage.bar', { day: label(day.day), credits: day.credits, jobs: day.jobs })}</title>
              </rect>
            )
          })}
        </svg>
      </div>
      <div aria-hidden="true" className="flex justify-between gap-2 pl-12 text-xs text-slate-500">
        <span>{label(days[0].day)}</span>
        <span>{label(days[days.length - 1].day)}</span>
      </div>
      <table className="sr-only">
        <caption>{t('billing.usage.tableCaption')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('billing.usage.day')}</th>
            <th scope="col">{t('billing.usage.credits')}</th>
            <th scope="col">{t('billing.usage.jobs')}</th>
          </tr>
        </thead>
        <tbody>
          {days.map((day) => (
            <tr key={day.day}>
              <th scope="row">{label(day.day)}</th>
              <td>{day.credits}</td>
              <td>{day.jobs}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  )
}
