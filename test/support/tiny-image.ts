/**
 * A tiny local Docker image for tests, built without any registry: busybox-static (sh, sleep, ...; the
 * host's sleep/cat/ls when busybox cannot be installed) and bash in a rootfs, `tar -c` | `docker import`.
 * Built once per machine (the tag is reused).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const TINY_IMAGE = 'nel-test-tiny:1';

/** Why Docker tests cannot run here, or null when they can. With CI=true Docker is mandatory. */
export function dockerSkipReason(): string | false {
  const r = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], {
    timeout: 15_000,
    encoding: 'utf8',
  });
  if (r.status === 0) return false;
  if (process.env.CI === 'true') throw new Error('CI=true but the Docker engine is not available');
  return 'Docker engine not available (set CI=true to make this a failure)';
}

/** busybox-static, installed with apt-get when missing; null when it cannot be had. */
function findBusybox(): string | null {
  const have = () => ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p)) ?? null;
  if (have()) return have();
  const apt = (args: string[]) =>
    spawnSync('apt-get', args, {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: 'ignore',
      timeout: 180_000,
    }).status === 0;
  if (!apt(['install', '-y', '-qq', 'busybox-static'])) {
    apt(['update', '-qq']);
    apt(['install', '-y', '-qq', 'busybox-static']);
  }
  return have();
}

function copyWithLibs(bin: string, root: string, dest: string): void {
  mkdirSync(join(root, dirname(dest)), { recursive: true });
  copyFileSync(bin, join(root, dest));
  const ldd = spawnSync('ldd', [bin], { encoding: 'utf8' });
  for (const m of (ldd.stdout ?? '').matchAll(/(\/[^\s]+)/g)) {
    const lib = m[1]!;
    if (!existsSync(lib)) continue;
    mkdirSync(join(root, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(root, lib));
  }
}

/** Build the image if it is missing; returns its tag. */
export function ensureTinyImage(): string {
  const have = spawnSync('docker', ['image', 'inspect', TINY_IMAGE], { stdio: 'ignore', timeout: 15_000 });
  if (have.status === 0) return TINY_IMAGE;
  const work = mkdtempSync(join(tmpdir(), 'nel-tiny-'));
  const root = join(work, 'rootfs');
  try {
    for (const d of ['bin', 'tmp', 'etc', 'results', 'work', 'proc', 'sys', 'dev'])
      mkdirSync(join(root, d), { recursive: true });
    const bb = findBusybox();
    if (bb) {
      copyFileSync(bb, join(root, 'bin', 'busybox'));
      const applets = execFileSync(bb, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
      for (const a of applets)
        if (!existsSync(join(root, 'bin', a))) symlinkSync('busybox', join(root, 'bin', a));
    } else {
      // no busybox: the host's own tools, with their libraries
      for (const tool of ['sleep', 'cat', 'ls', 'true', 'env']) {
        const path = ['/bin', '/usr/bin'].map((d) => join(d, tool)).find((p) => existsSync(p));
        if (path) copyWithLibs(path, root, `/bin/${tool}`);
      }
    }
    rmSync(join(root, 'bin', 'bash'), { force: true });
    copyWithLibs('/bin/bash', root, '/bin/bash');
    execFileSync(
      'bash',
      [
        '-c',
        `tar -C "$1" -c . | docker import -c 'ENV PATH=/bin' -c 'WORKDIR /work' - "$2"`,
        'tiny',
        root,
        TINY_IMAGE,
      ],
      { stdio: 'ignore', timeout: 120_000 },
    );
    return TINY_IMAGE;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
