import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { precompress } from './precompress.ts';

// The dashboard is served by the Pulseloop server at `/`; in development Vite proxies the API to it.
// `npm run build` builds it with web/build.mjs, into a staging folder published into `dist`.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react(), precompress()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      output: {
        // antd and React load first; ECharts is imported lazily by the chart component.
        manualChunks(id: string) {
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')) return 'echarts';
          if (
            id.includes('node_modules/antd') ||
            id.includes('node_modules/@ant-design') ||
            id.includes('node_modules/rc-')
          )
            return 'antd';
          return undefined;
        },
      },
    },
  },
  server: { proxy: { '/api': 'http://localhost:8080', '/v1': 'http://localhost:8080' } },
});
