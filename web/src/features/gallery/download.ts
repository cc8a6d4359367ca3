import type { Image } from '../render/types'

/** `pingvas-20250102-123456-1a2b3c4d.png`: the day, the seed and the start of the id. */
export function downloadName(image: Image): string {
  const day = image.created_at.slice(0, 10).replace(/-/g, '')
  return `pingvas-${day}-${image.seed}-${image.id.slice(0, 8)}.png`
}
