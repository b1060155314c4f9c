/**
 * Build the engine image without any container registry:
 *  1. a Debian base made with debootstrap (bash, coreutils incl. base64, python3), imported once and reused;
 *  2. the host's node binary, the compiled engine and its production node_modules layered on top with a
 *     legacy `docker build` FROM that local base (which never pulls).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { NelError } from '../common/errors.js';
import { packageRoot, packageVersion } from '../common/version.js';
import { dockerAvailableSync } from './docker.js';
import { ENGINE_IMAGE_NAME } from './engine-image-ref.js';

export const BASE_IMAGE = `${ENGINE_IMAGE_NAME}-base:bookworm-1`;
const BASE_PACKAGES = ['python3', 'ca-certificates', 'curl'];

export interface BuildImageOptions {
  tag?: string;
  /** Rebuild the Debian base even if it exists. */
  rebuildBase?: boolean;
  log?: (line: string) => void;
}

export interface BuildImageResult {
  image: string; // name:version
  tags: string[];
  baseImage: string;
}

function run(
  cmd: string,
  args: string[],
  opts: { input?: Buffer; timeoutMs?: number; cwd?: string } = {},
): string {
  const r = spawnSync(cmd, args, {
    input: opts.input,
    cwd: opts.cwd,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 600_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw new NelError('IMAGE_BUILD', `${cmd} failed: ${r.error.message}`);
  if (r.status !== 0) {
    const tail = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').slice(-3).join(' | ');
    throw new NelError('IMAGE_BUILD', `${cmd} ${args[0] ?? ''} exited with ${r.status}: ${tail}`);
  }
  return r.stdout ?? '';
}

export function imageExists(ref: string): boolean {
  const r = spawnSync('docker', ['image', 'inspect', '--format', '{{.Id}}', ref], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return r.status === 0;
}

/** The Debian mirror the host's apt uses (so the build goes where apt goes); undefined = debootstrap's default. */
export function hostDebianMirror(): string | undefined {
  const files = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];
  for (const f of files) {
    if (!existsSync(f)) continue;
    const text = readFileSync(f, 'utf8');
    const deb822 = /^URIs:\s*(\S+\/debian)\s*$/m.exec(text);
    if (deb822) return deb822[1];
    const classic = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\s+bookworm\b/m.exec(text);
    if (classic) return classic[1];
  }
  return undefined;
}

function ensureDebootstrap(log: (l: string) => void): void {
  if (spawnSync('debootstrap', ['--version'], { encoding: 'utf8' }).status === 0) return;
  if (process.getuid?.() !== 0) {
    throw new NelError('IMAGE_BUILD', 'debootstrap is not installed', {
      hint: 'install it (apt-get install debootstrap) or build from images/engine/Dockerfile where a registry is reachable',
    });
  }
  log('installing debootstrap with apt-get ...');
  run('apt-get', ['install', '-y', '-qq', 'debootstrap']);
}

function buildBaseImage(log: (l: string) => void): void {
  ensureDebootstrap(log);
  const work = mkdtempSync(join(tmpdir(), 'nel-base-'));
  const root = join(work, 'rootfs');
  try {
    log(
      `creating a Debian bookworm rootfs with ${BASE_PACKAGES.join(', ')} (debootstrap, about a minute) ...`,
    );
    const args = ['--variant=minbase', `--include=${BASE_PACKAGES.join(',')}`, 'bookworm', root];
    const mirror = hostDebianMirror();
    if (mirror) args.push(mirror);
    run('debootstrap', args, { timeoutMs: 900_000 });
    for (const d of [
      'var/cache/apt/archives',
      'var/lib/apt/lists',
      'usr/share/doc',
      'usr/share/man',
      'usr/share/info',
    ]) {
      const p = join(root, d);
      if (existsSync(p)) for (const e of readdirSync(p)) rmSync(join(p, e), { recursive: true, force: true });
    }
    log(`importing ${BASE_IMAGE} ...`);
    const tar = execFileSync('tar', ['-C', root, '--numeric-owner', '-c', '.'], {
      maxBuffer: 2 * 1024 * 1024 * 1024,
    });
    run('docker', ['import', '-c', 'CMD ["/bin/bash"]', '-c', 'ENV LANG=C.UTF-8', '-', BASE_IMAGE], {
      input: tar,
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Nested node_modules are copied by their own entries; native build intermediates are not needed. */
function keepModuleFile(pkgDir: string, rel: string): boolean {
  // llama.cpp: only the prebuilt CPU binary of the image's own architecture; not the sources of a rebuild
  const build = /\/@node-llama-cpp\/([^/]+)$/.exec(pkgDir);
  if (build) return build[1] === `linux-${process.arch === 'arm' ? 'armv7l' : process.arch}`;
  if (pkgDir.endsWith('/node-llama-cpp') && rel === 'llama/gitRelease.bundle') return false;
  if (rel === '') return true;
  if (rel === 'node_modules' || rel.startsWith('node_modules/')) return false;
  if (pkgDir.endsWith('/better-sqlite3')) {
    return !/^(deps|src)(\/|$)|^build\/Release\/(obj|obj\.target|\.deps|sqlite3\.a|test_extension)/.test(rel);
  }
  return true;
}

/** Production dependencies only (what `npm ls --omit=dev` lists), copied from the installed node_modules. */
function copyProductionModules(root: string, dest: string): void {
  const out = run('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root });
  const dirs = out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && l !== root && l.includes('node_modules'));
  for (const dir of dirs) {
    const rel = relative(root, dir);
    cpSync(dir, join(dest, rel), {
      recursive: true,
      dereference: true,
      filter: (src) => keepModuleFile(dir, relative(dir, src)),
    });
  }
}

export function buildEngineImage(opts: BuildImageOptions = {}): BuildImageResult {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const docker = dockerAvailableSync();
  if (!docker.ok) {
    throw new NelError('DOCKER_UNAVAILABLE', `the Docker engine is not reachable (${docker.reason})`, {
      hint: 'start dockerd (or install docker.io), or run evaluations on the host with `nel run --no-docker`',
    });
  }
  const root = packageRoot();
  const dist = join(root, 'dist', 'src');
  if (!existsSync(join(dist, 'bin', 'nemo-evaluator.js'))) {
    throw new NelError('IMAGE_BUILD', `the engine is not built (${dist} is missing)`, {
      hint: 'run `npm run build` first',
    });
  }
  if (opts.rebuildBase || !imageExists(BASE_IMAGE)) buildBaseImage(log);
  else log(`reusing base image ${BASE_IMAGE}`);

  const version = packageVersion();
  const image = opts.tag ?? `${ENGINE_IMAGE_NAME}:${version}`;
  const latest = `${image.split(':')[0]}:latest`;
  const ctx = mkdtempSync(join(tmpdir(), 'nel-image-'));
  try {
    const app = join(ctx, 'app');
    mkdirSync(app, { recursive: true });
    cpSync(join(root, 'package.json'), join(app, 'package.json'));
    cpSync(dist, join(app, 'dist', 'src'), {
      recursive: true,
      filter: (s) => !/\.(test\.js|map|d\.ts)$/.test(s),
    });
    copyProductionModules(root, app);
    cpSync(realpathSync(process.execPath), join(ctx, 'node'));
    cpSync(join(root, 'images', 'engine', 'nemo-evaluator.sh'), join(ctx, 'nemo-evaluator.sh'));
    cpSync(join(root, 'images', 'engine', 'Dockerfile.offline'), join(ctx, 'Dockerfile'));
    log(`building ${image} ...`);
    run(
      'docker',
      ['build', '-q', '--build-arg', `BASE_IMAGE=${BASE_IMAGE}`, '-t', image, '-t', latest, ctx],
      {
        timeoutMs: 900_000,
      },
    );
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
  // smoke check: the image runs the engine
  run('docker', ['run', '--rm', image, 'nemo-evaluator', 'ls'], { timeoutMs: 120_000 });
  return { image, tags: [image, latest], baseImage: BASE_IMAGE };
}
