import type { Image } from '../render/types'

const MAX_WORDS = 8
const MAX_SLUG = 60

/**
 * `pingvas-2026-12-07-a-cat-on-a-sofa.png`: the day (UTC) and the prompt's first words, as
 * render names the download (`download_name`); this is for an image known only from search.
 */
export function downloadName(image: Pick<Image, 'created_at' | 'prompt' | 'download_name'>): string {
  if (image.download_name) return image.download_name
  const day = new Date(image.created_at).toISOString().slice(0, 10)
  const words = (image.prompt.normalize('NFC').toLowerCase().match(/[\p{L}\p{N}\p{M}]+/gu) ?? []).slice(0, MAX_WORDS)
  let slug = ''
  for (const word of words) {
    const longer = slug ? `${slug}-${word}` : word
    if (longer.length > MAX_SLUG) break
    slug = longer
  }
  return slug ? `pingvas-${day}-${slug}.png` : `pingvas-${day}.png`
}

/**
 * Save the image under its name. Render's `download_url` answers with
 * `Content-Disposition: attachment`, so following it saves the file and leaves the page
 * as it is (a cross-origin `<a download>` alone would be ignored and open the image instead).
 */
export function saveImage(downloadUrl: string) {
  const link = document.createElement('a')
  link.href = downloadUrl
  link.rel = 'noopener'
  document.body.append(link)
  link.click()
  link.remove()
}
