import { useEffect, useState } from 'react'
import { Link } from 'react-router-dom'
import { useLazyGetImageQuery } from '../render/renderApi'
import { isDeleted, type Image } from '../render/types'

/** A grid thumbnail; the list's presigned URL may have expired, so on error ask for a fresh one once. */
export function Thumbnail({ image, search }: { image: Image; search: string }) {
  const [src, setSrc] = useState(image.thumbnail_url)
  const [refreshed, setRefreshed] = useState(false)
  const [fetchImage] = useLazyGetImageQuery()
  useEffect(() => setSrc(image.thumbnail_url), [image.thumbnail_url])
  return (
    <Link
      to={{ search }}
      aria-label={image.prompt}
      data-testid="gallery-item"
      className="group block aspect-square overflow-hidden rounded-lg bg-slate-100 ring-1 ring-slate-200 hover:ring-2 hover:ring-indigo-400"
    >
      <img
        src={src}
        alt={image.prompt}
        loading="lazy"
        className="h-full w-full object-cover transition group-hover:scale-[1.02]"
        onError={async () => {
          if (refreshed) return
          setRefreshed(true)
          // a deleted image leaves the grid (renderApi's getImage forgets it)
          const result = await fetchImage(image.id)
          if (result.data && !isDeleted(result.data)) setSrc(result.data.thumbnail_url)
        }}
      />
    </Link>
  )
}
