#!/usr/bin/env -S node --
const major = Number(process.versions.node.split('.')[0]);
if (major < 20) {
  process.stderr.write(`error: nemo-evaluator needs Node.js 20 or newer (this is ${process.version})\n`);
  process.exit(1);
}
// A run allocates fast and keeps little alive: let the heap grow by at most 50% after each full GC
// instead of V8's adaptive factor (up to 4x), which bounds peak memory at no measurable speed cost
// (docs/PERFORMANCE.md). A value given in NODE_OPTIONS or on the node command line wins. Only on the
// Node.js lines whose V8 is known to have the flag (V8 prints an error for an unknown one).
if (
  major <= 22 &&
  ![...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('heap-growing-percent'))
) {
  const { setFlagsFromString } = await import('node:v8');
  setFlagsFromString('--heap-growing-percent=50');
}
const { main } = await import('../engine/cli.js');
const { stoppedBySignal } = await main(process.argv);
if (stoppedBySignal) {
  // the run has flushed its files; do not let a lingering socket keep the process alive
  setTimeout(() => process.exit(), 5000).unref();
}
