import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The Rust server (FLICK_WEB__DIST or the copy compiled into the binary) serves `dist/index.html` for
// `/`, `/v/{id}` and `/library`, and `dist/assets/*` at `/assets/*`. In development, point FLICK_DEV_API
// at a running server (default http://127.0.0.1:8080) and Vite proxies the API, streams and thumbnails.
const api = process.env.FLICK_DEV_API ?? 'http://127.0.0.1:8080';
const proxy = Object.fromEntries(['/api', '/streams', '/thumbnails', '/healthz'].map((p) => [p, { target: api, changeOrigin: true }]));

export default defineConfig({
  base: '/',
  plugins: [svelte()],
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    // Tiny files must not be turned into data: URLs for scripts (CSP: script-src 'self').
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
  },
  server: { proxy },
  preview: { proxy },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
    // The browser build of tus-js-client (what the app bundles), not its Node build.
    alias: [{ find: /^tus-js-client$/, replacement: 'tus-js-client/lib.esm/browser/index.js' }],
  },
});
