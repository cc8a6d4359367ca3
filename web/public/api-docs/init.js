// The API reference at /api/docs (its HTML is the gateway's, api/docs.py): Scalar's viewer,
// bundled by scripts/api-reference.mjs, on the merged document. Nothing leaves this origin:
// no web fonts (pingvas.css sets the system ones), no request proxy, no telemetry, no AI
// agent (a hosted service), no developer toolbar (it would show on localhost). It mounts on
// #pingvas-api-reference: the bundle itself mounts a viewer without a document on any
// element with id="api-reference".
window.Scalar.createApiReference('#pingvas-api-reference', {
  url: '/api/openapi.json',
  withDefaultFonts: false,
  proxyUrl: '',
  telemetry: false,
  agent: { disabled: true },
  showDeveloperTools: 'never',
  metaData: { title: 'Pingvas API' },
})
