import { kilnPlugin } from '@kiln/tracer/vite';
import { defineConfig } from 'vite';

// kilnPlugin(): the load-time transform, so compiled functions that close
// over module variables (HEADS, F, ...) replay instead of re-running their JS.
// It passes those variables by name, so the minifier must keep top-level
// names (a renamed `F` is a variable the transform did not pass, and the
// function then re-runs its JavaScript, correct but slower; explain() says so).
// Cross-origin isolated (COOP + COEP), so the page has SharedArrayBuffer and kiln's cpu kernels run on worker threads.
const isolated = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  plugins: [kilnPlugin()],
  server: { headers: isolated },
  preview: { headers: isolated },
  build: {
    target: 'es2022',
    sourcemap: true,
    rolldownOptions: {
      output: {
        minify: { mangle: { toplevel: false }, compress: true },
        // kiln (its four packages and acorn, which the tracer parses functions with) in one chunk of its own, so
        // the build's size report shows what kiln adds to an app (the README quotes it).
        codeSplitting: {
          groups: [{ name: 'kiln', test: /packages[\\/](gpu-runtime|eager|inductor|tracer)[\\/]|node_modules[\\/](@kiln|acorn)[\\/]/ }],
        },
      },
    },
  },
});
