// Builds the web app (web/) into dist/web, which the API server serves at / and /catalog.
// Run from the repository root: `npm run build:web` (part of npm install's postinstall).
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'web',
  base: '/',
  // Everything is bundled: the pages load nothing from other hosts.
  build: { outDir: '../dist/web', emptyOutDir: true, target: 'es2022', sourcemap: true },
  oxc: { jsx: { runtime: 'automatic' } },
  // `npm run dev:web`: this dev server in front of an API on :4000 (npm run dev).
  server: {
    proxy: {
      '/graphql': { target: 'http://localhost:4000', ws: true },
      '/files': 'http://localhost:4000',
      '/uploads': 'http://localhost:4000',
      '/demo': 'http://localhost:4000',
    },
  },
});
