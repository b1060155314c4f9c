/**
 * Headless Chromium for the report tests, driven by playwright-core: Debian's `chromium` (installed by
 * scripts/ensure-chromium.sh; no browser is ever downloaded), a fresh profile per launch, no network
 * services of its own. NEL_TEST_BROWSER=0 skips the tests; with CI=true a missing browser fails them.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { repoRoot } from './paths.js';

export const CHROMIUM = process.env.NEL_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests are skipped, or false when they run. */
export function browserSkipReason(): string | false {
  if (process.env.NEL_TEST_BROWSER === '0') return 'NEL_TEST_BROWSER=0';
  if (existsSync(CHROMIUM) || process.env.CI === 'true') return false;
  return `no Chromium at ${CHROMIUM} (run scripts/ensure-chromium.sh, or npm test, which does)`;
}

/** Where tests keep what they produce for people to look at (screenshots): <repo>/test-artifacts. */
export function testArtifactsDir(): string {
  const dir = join(repoRoot(), 'test-artifacts');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function launchBrowser(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'nel-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
