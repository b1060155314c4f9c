#!/usr/bin/env -S node --
const major = Number(process.versions.node.split('.')[0]);
if (major < 20) {
  process.stderr.write(`error: nel needs Node.js 20 or newer (this is ${process.version})\n`);
  process.exit(1);
}
const { main } = await import('../cli/main.js');
await main(process.argv);
