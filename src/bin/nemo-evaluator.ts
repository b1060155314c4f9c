#!/usr/bin/env node
const major = Number(process.versions.node.split('.')[0]);
if (major < 20) {
  process.stderr.write(`error: nemo-evaluator needs Node.js 20 or newer (this is ${process.version})\n`);
  process.exit(1);
}
const { main } = await import('../engine/cli.js');
const { stoppedBySignal } = await main(process.argv);
if (stoppedBySignal) {
  // the run has flushed its files; do not let a lingering socket keep the process alive
  setTimeout(() => process.exit(), 5000).unref();
}
