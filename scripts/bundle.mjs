// Bundle the two command-line entry points (after tsc): dist/src/bin/{nel,nemo-evaluator}.js become
// single-file ESM bundles whose lazily loaded commands live in dist/src/bin/chunks/. Start-up then reads
// a handful of files instead of resolving a few hundred modules. The library (dist/src/index.js and the
// modules beside it) stays as tsc wrote it. Native or runtime-resolved packages stay external.
import { build } from 'esbuild';
import { chmodSync, rmSync } from 'node:fs';

const outdir = 'dist/src/bin';
rmSync(`${outdir}/chunks`, { recursive: true, force: true });
for (const f of ['nel', 'nemo-evaluator']) rmSync(`${outdir}/${f}.js.map`, { force: true });
await build({
  entryPoints: { nel: 'src/bin/nel.ts', 'nemo-evaluator': 'src/bin/nemo-evaluator.ts' },
  outdir,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', 'zod', 'node-llama-cpp'],
  // CommonJS dependencies (undici) call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __nelCreateRequire } from 'node:module'; const require = __nelCreateRequire(import.meta.url);",
  },
  legalComments: 'none',
  logLevel: 'warning',
});
// Executable, as `npm link` would make them: the shebang (`env -S node --`) then runs them.
for (const f of ['nel', 'nemo-evaluator']) chmodSync(`${outdir}/${f}.js`, 0o755);
