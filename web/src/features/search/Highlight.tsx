import type { HighlightSegment } from './types'

/**
 * A prompt with what the query matched in `<mark>`. Every run is a text node (React escapes
 * it): a prompt that looks like HTML stays text. Without runs, the plain text.
 */
export function Highlight({ segments, text }: { segments: readonly HighlightSegment[] | null | undefined; text: string }) {
  if (!Array.isArray(segments) || segments.length === 0) return <>{text}</>
  return (
    <>
      {segments.map((segment, index) =>
        segment.match ? (
          <mark key={index} className="rounded-sm bg-amber-200 px-0.5 text-inherit">
            {String(segment.text)}
          </mark>
        ) : (
          <span key={index}>{String(segment.text)}</span>
        ),
      )}
    </>
  )
}
