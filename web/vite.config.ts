import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Built by scripts/build-web.mjs into web/dist, which the server serves at / (src/http/console.ts).
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The server's CSP forbids inline script: keep every module in a file.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: { proxy: { '/v1': 'http://127.0.0.1:7070', '/health': 'http://127.0.0.1:7070' } },
});
