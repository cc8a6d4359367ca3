import { useEffect } from 'react'

/** The tab's title for this page, in the user's language ("Generate · Pingvas"). */
export function useDocumentTitle(title: string | null | undefined): void {
  useEffect(() => {
    if (title) document.title = title.includes('Pingvas') ? title : `${title} · Pingvas`
  }, [title])
}
