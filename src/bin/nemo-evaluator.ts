#!/usr/bin/env node
const major = Number(process.versions.node.split('.')[0]);
if (major < 20) {
  process.stderr.write(`error: nemo-evaluator needs Node.js 20 or newer (this is ${process.version})\n`);
  process.exit(1);
}
const { main } = await import('../engine/cli.js');
await main(process.argv);
