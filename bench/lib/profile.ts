/**
 * Where a Node process spends its CPU: run it with `--cpu-prof` and attribute every sample to the deepest
 * frame of the project's own code on its stack (so time inside SQLite, undici or fs counts against the
 * project function that called it), with module loading, GC and idle time as their own buckets.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChild } from './child.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  ms: number;
  pct: number;
}

export interface ProfileSummary {
  totalMs: number;
  entries: ProfileEntry[];
}

const PROJECT = /\/(?:dist\/)?src\/(.+)$/;
/** The bundled command-line entry points and their chunks (scripts/bundle.mjs). */
const BUNDLE = /\/dist\/src\/bin\/(?:chunks\/)?[^/]+\.js$/;

/**
 * For a bundle file: its `// src/...` and `// node_modules/...` module comments (esbuild writes one
 * before each module's code) as [0-based line, module path], in line order.
 */
const bundleMaps = new Map<string, [number, string][]>();
function bundleMap(url: string): [number, string][] {
  let map = bundleMaps.get(url);
  if (!map) {
    map = [];
    try {
      const lines = readFileSync(url.startsWith('file://') ? fileURLToPath(url) : url, 'utf8').split('\n');
      lines.forEach((l, i) => {
        const m = /^\/\/ ((?:src|node_modules)\/\S+)$/.exec(l);
        if (m) map!.push([i, m[1]!]);
      });
    } catch {
      /* not readable: no attribution */
    }
    bundleMaps.set(url, map);
  }
  return map;
}

/** The source module a frame's code came from: its own path, or for a bundle the module at that line. */
export function sourceOf(f: CallFrame): string {
  if (!BUNDLE.test(f.url)) return f.url;
  const map = bundleMap(f.url);
  let lo = 0;
  let hi = map.length - 1;
  let found: string | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (map[mid]![0] <= f.lineNumber) {
      found = map[mid]![1];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found ? `/${found}` : f.url;
}

function projectFile(f: CallFrame): string | null {
  const url = sourceOf(f);
  if (!url || url.includes('node_modules/')) return null;
  const m = PROJECT.exec(url);
  return m ? m[1]!.replace(/\.(js|ts)$/, '') : null;
}

function packageOf(f: CallFrame): string | null {
  const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(sourceOf(f));
  return m ? m[1]! : null;
}

const frameLabel = (f: CallFrame, file: string): string => `${f.functionName || '(anonymous)'} [${file}]`;

/** Attribute a profile's samples; entries sorted by time, largest first. */
export function attributeProfile(p: CpuProfile): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const cache = new Map<number, string>();
  const bucketOf = (leaf: number): string => {
    const hit = cache.get(leaf);
    if (hit) return hit;
    const leafName = byId.get(leaf)?.callFrame.functionName ?? '';
    let label: string | null = null;
    if (leafName === '(garbage collector)') label = '(garbage collector)';
    else if (leafName === '(idle)') label = '(idle: waiting for I/O)';
    else if (leafName === '(program)') label = '(V8/native, unattributed)';
    let id: number | undefined = leaf;
    let project: string | null = null;
    let helper: string | null = null;
    let pkg: string | null = null;
    let loadedFile: string | null = null;
    let loading = false;
    while (!label && id !== undefined) {
      const f = byId.get(id)!.callFrame;
      if (f.url.startsWith('node:internal/modules/')) loading = true;
      if (!loading) {
        const file = projectFile(f);
        pkg ??= packageOf(f);
        loadedFile ??= file ?? (packageOf(f) ? `node_modules/${packageOf(f)}` : null);
        if (file && !project) {
          if (file.startsWith('common/')) helper ??= frameLabel(f, file);
          else project = helper ? `${helper} via ${frameLabel(f, file)}` : frameLabel(f, file);
        }
      }
      id = parent.get(id);
    }
    if (!label && loading)
      label = `module loading (${loadedFile ? (loadedFile.startsWith('node_modules/') ? loadedFile.slice(13) : 'project code') : 'resolve/compile'})`;
    label ??=
      project ?? helper ?? (pkg ? `${pkg} (from I/O callbacks)` : '(node internals, from I/O callbacks)');
    cache.set(leaf, label);
    return label;
  };
  const totals = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const d = p.timeDeltas[i] ?? 0;
    total += d;
    const b = bucketOf(p.samples[i]!);
    totals.set(b, (totals.get(b) ?? 0) + d);
  }
  const entries = [...totals]
    .map(([name, us]) => ({ name, ms: us / 1000, pct: total > 0 ? (us / total) * 100 : 0 }))
    .sort((a, b) => b.ms - a.ms);
  return { totalMs: total / 1000, entries };
}

/** Run `node --cpu-prof <args>` and summarize; null when no profile was written. */
export async function profileNode(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number },
): Promise<ProfileSummary | null> {
  const dir = mkdtempSync(join(tmpdir(), 'nel-bench-prof-'));
  try {
    await runChild(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...args], opts);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) return null;
    return attributeProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** "put [engine/adapters/disk-cache-store] 27%, ..." for the top entries (at least `minPct`). */
export function describeProfile(s: ProfileSummary, top = 6, minPct = 2): string {
  const shown = s.entries.filter((e) => e.pct >= minPct && !e.name.startsWith('(idle')).slice(0, top);
  const idle = s.entries.filter((e) => e.name.startsWith('(idle')).reduce((a, e) => a + e.pct, 0);
  return `${shown.map((e) => `${e.name} ${e.pct.toFixed(0)}%`).join(', ')} (of ${Math.round(s.totalMs)} ms profiled, idle ${idle.toFixed(0)}%)`;
}
