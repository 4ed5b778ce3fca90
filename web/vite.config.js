import { defineConfig } from 'vite';

const stack = process.env.STREAMBED_URL ?? 'http://127.0.0.1:8080';

// No React plugin: the build only needs JSX compiled (Vite does that itself); fast refresh is a
// development nicety the demo can do without.
export default defineConfig({
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 4096 },
  // `npm run dev` (vite on :5173) sends the API and the WebSocket to a stack from scripts/run
  // (STREAMBED_URL, default http://127.0.0.1:8080).
  server: {
    proxy: {
      '/api': { target: stack, ws: true },
      '/demo-config.json': stack,
    },
  },
});
