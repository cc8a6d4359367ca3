/** Copy-ready examples of calling the API with a key, for this page's origin. */
export const KEY_VARIABLE = 'PINGVAS_API_KEY'
export const EXAMPLE_MODEL = 'sdxl-turbo'

export interface Snippets {
  curl: string
  python: string
}

/** `key`: the key just created (shown in its dialog only); otherwise read from the environment. */
export function apiSnippets(origin: string, prompt: string, key?: string): Snippets {
  const base = origin.replace(/\/+$/, '')
  const body = JSON.stringify({ prompt, model: EXAMPLE_MODEL })
  const shellBody = body.replace(/'/g, `'\\''`)
  const exportLine = key ? `export ${KEY_VARIABLE}='${key}'\n` : ''
  const curl =
    exportLine +
    `curl -H "Authorization: Bearer $${KEY_VARIABLE}" \\\n` +
    `  -H "Content-Type: application/json" \\\n` +
    `  ${base}/api/v1/generations \\\n` +
    `  -d '${shellBody}'`
  const keyArg = key ? JSON.stringify(key) : `os.environ["${KEY_VARIABLE}"]`
  const python =
    (key ? '' : 'import os\n\n') +
    'from pingvas_client import Pingvas\n\n' +
    `client = Pingvas(api_key=${keyArg}, base_url=${JSON.stringify(base)})\n` +
    `job = client.generate(prompt=${JSON.stringify(prompt)}, model=${JSON.stringify(EXAMPLE_MODEL)})\n` +
    'for image_id in job.image_ids:\n' +
    '    print(client.images.get(image_id).url)'
  return { curl, python }
}
