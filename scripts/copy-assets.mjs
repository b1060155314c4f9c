// Copy non-TS assets (packaged YAML configs, HTML templates) next to the compiled JS.
import { cpSync, existsSync } from 'node:fs';
const pairs = [['src/config/packaged', 'dist/src/config/packaged']];
for (const [from, to] of pairs) if (existsSync(from)) cpSync(from, to, { recursive: true });
