/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The API server (blastdeck serve) during `npm run dev`.
const API = 'http://127.0.0.1:8124';

export default defineConfig({
  base: '/',
  plugins: [react()],
  build: {
    // FastAPI serves this folder: index.html for every non-API path, hashed files under /assets/.
    outDir: '../blastdeck/static',
    emptyOutDir: true,
    // A strict CSP (no data: scripts or fonts): never inline assets as data: URLs.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  // Keys are path prefixes: '/docs' also covers the docs page's /docs-assets and /docs-init.
  server: { port: 5173, proxy: { '/api': API, '/docs': API, '/openapi.json': API } },
  preview: { port: 4173, proxy: { '/api': API, '/docs': API, '/openapi.json': API } },
  test: {
    environment: 'node',
    include: ['src/**/*.test.{ts,tsx}'],
  },
});
