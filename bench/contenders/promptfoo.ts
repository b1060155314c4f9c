/**
 * promptfoo@0.121.20 as a peer: installed at bench time into a cache folder outside the repository
 * (never a dependency of the project), run as a whole process on the same prompts and endpoint.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { failureOf, runChild } from '../lib/child.js';
import { benchCacheDir } from '../lib/paths.js';
import { MODEL_ID, type ThroughputCase, type ThroughputContender, type ThroughputRun } from './types.js';

export const PROMPTFOO_VERSION = '0.121.20';
const INSTALL_TIMEOUT_MS = 10 * 60_000;

function prefixDir(): string {
  return join(benchCacheDir(), `promptfoo-${PROMPTFOO_VERSION}`);
}

function entryFile(): string {
  return join(prefixDir(), 'node_modules', 'promptfoo', 'dist', 'src', 'main.js');
}

function installedVersion(): string | null {
  try {
    const pkg = JSON.parse(
      readFileSync(join(prefixDir(), 'node_modules', 'promptfoo', 'package.json'), 'utf8'),
    ) as {
      version?: string;
    };
    return pkg.version ?? null;
  } catch {
    return null;
  }
}

let ready: Promise<string | null> | null = null;

/**
 * Install once per cache folder; null when usable, else why not. Without `allowInstall` (smoke mode:
 * the install takes minutes) a missing install is reported instead.
 */
export function ensurePromptfoo(log: (l: string) => void, allowInstall = true): Promise<string | null> {
  ready ??= (async () => {
    if (installedVersion() !== PROMPTFOO_VERSION || !existsSync(entryFile())) {
      if (!allowInstall) {
        return `not installed in ${prefixDir()} (smoke mode does not install it; the full suite does)`;
      }
      mkdirSync(prefixDir(), { recursive: true });
      log(`installing promptfoo@${PROMPTFOO_VERSION} into ${prefixDir()} ...`);
      const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
      const r = await runChild(
        npm,
        [
          'install',
          '--prefix',
          prefixDir(),
          `promptfoo@${PROMPTFOO_VERSION}`,
          '--no-audit',
          '--no-fund',
          '--loglevel=error',
        ],
        { timeoutMs: INSTALL_TIMEOUT_MS },
      );
      const failure = failureOf(r);
      if (failure) return `npm install promptfoo@${PROMPTFOO_VERSION} failed (${failure})`;
    }
    if (installedVersion() !== PROMPTFOO_VERSION)
      return `promptfoo@${PROMPTFOO_VERSION} not found after install`;
    if (!existsSync(entryFile())) return `promptfoo entry ${entryFile()} missing`;
    return null;
  })();
  return ready;
}

/** Count the results promptfoo wrote (results.results in its JSON output). */
function countResults(file: string): number {
  try {
    const out = JSON.parse(readFileSync(file, 'utf8')) as {
      results?: { results?: { success?: boolean; response?: { output?: unknown } }[] };
    };
    return (out.results?.results ?? []).filter((r) => typeof r.response?.output === 'string').length;
  } catch {
    return 0;
  }
}

export async function runPromptfoo(c: ThroughputCase): Promise<ThroughputRun> {
  mkdirSync(c.outputDir, { recursive: true });
  const config = {
    description: 'nel bench: gsm8k prompts through the reference endpoint',
    prompts: ['{{content}}'],
    providers: [
      {
        id: `openai:chat:${MODEL_ID}`,
        config: {
          apiBaseUrl: `${c.endpoint.url}/v1`,
          apiKey: 'bench-placeholder',
          temperature: 0,
          top_p: 1,
          max_tokens: 1024,
        },
      },
    ],
    tests: c.contents.slice(0, c.samples).map((content) => ({ vars: { content } })),
  };
  const cfg = join(c.outputDir, 'promptfooconfig.yaml');
  const outFile = join(c.outputDir, 'results.json');
  writeFileSync(cfg, stringify(config));
  const home = join(c.outputDir, 'home');
  mkdirSync(home, { recursive: true });
  const r = await runChild(
    process.execPath,
    [
      entryFile(),
      'eval',
      '-c',
      cfg,
      '-o',
      outFile,
      '-j',
      String(c.parallelism),
      '--no-cache',
      '--no-progress-bar',
      '--no-table',
      '--no-write',
    ],
    {
      cwd: c.outputDir,
      timeoutMs: c.timeoutMs,
      env: {
        ...process.env,
        HOME: home,
        PROMPTFOO_CONFIG_DIR: join(home, '.promptfoo'),
        PROMPTFOO_DISABLE_TELEMETRY: '1',
        PROMPTFOO_DISABLE_UPDATE: '1',
        PROMPTFOO_CACHE_ENABLED: 'false',
        PROMPTFOO_DISABLE_SHARING: '1',
        PROMPTFOO_SELF_HOSTED: '1',
        NO_COLOR: '1',
      },
    },
  );
  const completed = countResults(outFile);
  // promptfoo exits 100 when assertions fail (there are none here); count answers, not the exit code.
  if (completed === 0) throw new Error(`promptfoo eval: ${failureOf(r) ?? 'no results written'}`);
  return { seconds: r.wallMs / 1000, completed };
}

export function promptfooContender(log: (l: string) => void, allowInstall = true): ThroughputContender {
  return {
    name: `promptfoo@${PROMPTFOO_VERSION} (eval)`,
    scope: 'whole process',
    unavailable: () => ensurePromptfoo(log, allowInstall),
    run: runPromptfoo,
  };
}
