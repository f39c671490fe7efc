import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// `npm run console:dev` serves the console with hot reload and passes API calls to a running gateway.
const gateway = process.env.TOLLGATE_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  server: {
    proxy: {
      '/graphql': { target: gateway, ws: true },
      '/console/session': { target: gateway },
    },
  },
});
