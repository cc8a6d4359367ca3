/**
 * src/api/schema.d.ts, the API's types, is generated from the merged OpenAPI document
 * (docs/api/openapi.json, itself checked against the services' code by
 * services/gateway/tests/test_openapi_document.py): it must be what openapi-typescript makes
 * of that document now. Fix a failure with `npm run types` and commit the file.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const WEB = resolve(__dirname, '../..')
const DOCUMENT = resolve(WEB, '../docs/api/openapi.json')
const GENERATED = resolve(WEB, 'src/api/schema.d.ts')
const CLI = resolve(WEB, 'node_modules/openapi-typescript/bin/cli.js')

describe('the generated API types', () => {
  it('are what openapi-typescript makes of docs/api/openapi.json now', () => {
    const folder = mkdtempSync(join(tmpdir(), 'pingvas-schema-'))
    try {
      const fresh = join(folder, 'schema.d.ts')
      execFileSync(process.execPath, [CLI, DOCUMENT, '-o', fresh], { stdio: 'pipe' })
      const committed = readFileSync(GENERATED, 'utf8')
      expect(committed.length).toBeGreaterThan(10000)
      // a mismatch here: run `npm run types` in web/ and commit src/api/schema.d.ts
      expect(committed === readFileSync(fresh, 'utf8')).toBe(true)
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  }, 60_000)

  it('cover every operation of the document', () => {
    const document = JSON.parse(readFileSync(DOCUMENT, 'utf8')) as { paths: Record<string, unknown> }
    const committed = readFileSync(GENERATED, 'utf8')
    for (const path of Object.keys(document.paths)) {
      expect(committed).toContain(`"${path}": {`)
    }
  })
})
