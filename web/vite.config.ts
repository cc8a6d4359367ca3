/// <reference types="vitest/config" />
import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'
import tailwindcss from '@tailwindcss/vite'

// The gateway serves dist/ at / (history fallback) and the built files under /assets/.
// `npm run dev` proxies the API to a gateway on :8080 so cookies stay same-origin.
export default defineConfig({
  plugins: process.env.VITEST ? [react()] : [react(), tailwindcss()],
  base: '/',
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
  },
  server: {
    port: 5173,
    proxy: {
      '/api': { target: process.env.PINGVAS_GATEWAY_URL ?? 'http://127.0.0.1:8080', changeOrigin: false },
    },
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
    // the interaction tests take ~1 s alone; on a 2-core machine under load they need more
    testTimeout: 20000,
  },
})
