// The API reference viewer that the gateway serves at /api/docs, bundled so the page works
// without internet (run by `npm run build` after Vite, which has already copied
// public/api-docs/init.js and pingvas.css into dist/api-docs/).
//
// It takes the one browser bundle out of the npm tarball pinned in api-reference.lock.json:
//   1. `npm pack <package>@<version>` into a temporary folder (npm's own cache serves it when
//      it has it),
//   2. checks the tarball's sha512 against the lock's integrity (a mismatch stops the build),
//   3. extracts only the lock's `file` with `tar -xzf`,
//   4. drops the @font-face rules that would load fonts from fonts.scalar.com (the page uses
//      the system fonts instead: public/api-docs/pingvas.css) and checks that no reference to
//      that host is left,
//   5. keeps the result in node_modules/.cache/api-reference/<version>-<REVISION>/ (a later
//      build needs no network), and copies it to dist/api-docs/scalar.js with its licence.
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const LOCK = JSON.parse(readFileSync(join(WEB, 'api-reference.lock.json'), 'utf8'))
//: bump when the processing below changes, so that an older cached result is not reused
const REVISION = 1
const FONT_FACE = /@font-face\s*\{[^{}]*?fonts\.scalar\.com[^{}]*?\}/g
const FONT_HOST = 'fonts.scalar.com'
const OUT_DIR = join(WEB, 'dist', 'api-docs')
const CACHE_DIR = join(WEB, 'node_modules', '.cache', 'api-reference', `${LOCK.version}-${REVISION}`)
const CACHED = join(CACHE_DIR, 'scalar.js')

function fail(message) {
  console.error(`api-reference: ${message}`)
  process.exit(1)
}

function sri(bytes) {
  return 'sha512-' + createHash('sha512').update(bytes).digest('base64')
}

function stripFonts(source) {
  let dropped = 0
  const stripped = source.replace(FONT_FACE, () => {
    dropped += 1
    return ''
  })
  if (dropped === 0) fail(`no @font-face rule loading from ${FONT_HOST} was found: has the bundle changed?`)
  if (stripped.includes(FONT_HOST)) fail(`${FONT_HOST} is still referenced after dropping ${dropped} @font-face rules`)
  return { stripped, dropped }
}

function build() {
  const spec = `${LOCK.package}@${LOCK.version}`
  const work = mkdtempSync(join(tmpdir(), 'pingvas-api-reference-'))
  try {
    let output
    try {
      output = execFileSync('npm', ['pack', spec, '--json', '--pack-destination', work], {
        cwd: work,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      })
    } catch (error) {
      fail(`\`npm pack ${spec}\` failed (the first build needs the npm registry): ${error.message}`)
    }
    const [packed] = JSON.parse(output)
    const tarball = join(work, packed?.filename ?? readdirSync(work).find((n) => n.endsWith('.tgz')))
    const integrity = sri(readFileSync(tarball))
    if (integrity !== LOCK.integrity) {
      fail(`${spec}: the tarball's integrity is ${integrity}, the lock says ${LOCK.integrity}; refusing it`)
    }
    execFileSync('tar', ['-xzf', tarball, '-C', work, LOCK.file], { stdio: 'inherit' })
    const source = readFileSync(join(work, LOCK.file), 'utf8')
    const { stripped, dropped } = stripFonts(source)
    mkdirSync(CACHE_DIR, { recursive: true })
    writeFileSync(CACHED + '.tmp', stripped)
    renameSync(CACHED + '.tmp', CACHED)
    console.log(`api-reference: ${spec} verified (${integrity.slice(0, 19)}...), ${dropped} @font-face rules dropped`)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

const LICENSE = `The file scalar.js in this folder is the browser bundle of ${LOCK.package} ${LOCK.version}
(${LOCK.file} of its npm package), changed by Pingvas's build (web/scripts/api-reference.mjs):
the @font-face rules that load fonts from ${FONT_HOST} were removed, so that the page loads
nothing from another origin; it uses the system's fonts instead. Nothing else was changed.

MIT License

Copyright (c) 2023-present Scalar

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`

if (!existsSync(CACHED)) {
  build()
} else if (readFileSync(CACHED, 'utf8').includes(FONT_HOST)) {
  fail(`${CACHED} references ${FONT_HOST}: delete it and build again`)
} else {
  console.log(`api-reference: ${LOCK.package}@${LOCK.version} from ${CACHE_DIR}`)
}
if (!existsSync(join(OUT_DIR, 'init.js'))) fail(`${OUT_DIR}/init.js is missing: run Vite first (npm run build)`)
mkdirSync(OUT_DIR, { recursive: true })
copyFileSync(CACHED, join(OUT_DIR, 'scalar.js'))
writeFileSync(join(OUT_DIR, 'LICENSE.txt'), LICENSE)
