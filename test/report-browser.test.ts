/**
 * The HTML reports in a real browser (headless Chromium through playwright-core): a job report written by
 * the engine at the end of a real GSM8K run against the reference endpoint, where one reply carries
 * markup and a script; the invocation report of `nel report` and its links; `nel compare --html`; and a
 * 15,000-sample report for scale. Screenshots are kept in test-artifacts/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { nel, nelAsync, scratch } from './support/cli.js';
import { invocationIdOfDir, launchedDir, startEndpoint, taskDirs, writeE2eConfig } from './support/e2e.js';
import { browserSkipReason, launchBrowser, testArtifactsDir } from './support/browser.js';
import { isCorrectAt, type ReferenceEndpoint } from '../src/reference-endpoint/index.js';
import { writeJobReport } from '../src/results/report/job.js';
import { runEvaluation } from '../src/engine/evaluate.js';
import { resolveRunConfig } from '../src/engine/run-config.js';
import { getBenchmark } from '../src/engine/benchmarks/index.js';
import { silentLogger } from '../src/engine/logging.js';
import { startReferenceEndpoint } from '../src/reference-endpoint/index.js';
import { sharedPath } from './support/paths.js';

const LIMIT = 40;
const HOSTILE =
  '<script>window.__pwned=1</script><b>bold</b><img src=x onerror="window.__pwned=2"> &amp; </pre></script>';
/** The GSM8K question whose reply the proxy makes hostile (sample 0; wrong at accuracy 0.7). */
const MARKED = 'Janet’s ducks lay 16 eggs';

const skip = browserSkipReason();

/** A proxy in front of a reference endpoint that puts HOSTILE at the start of one reply. */
async function hostileProxy(target: ReferenceEndpoint): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      fetch(target.url + req.url, {
        method: req.method,
        headers: { 'content-type': 'application/json' },
        body,
      })
        .then(async (r) => {
          const text = await r.text();
          let out = text;
          if (r.ok && body.includes(MARKED)) {
            const doc = JSON.parse(text) as { choices: { message: { content: string } }[] };
            doc.choices[0]!.message.content = `${HOSTILE}\n${doc.choices[0]!.message.content}`;
            out = JSON.stringify(doc);
          }
          res.writeHead(r.status, { 'content-type': 'application/json' });
          res.end(out);
        })
        .catch((e: Error) => {
          res.writeHead(502);
          res.end(e.message);
        });
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function run(
  s: ReturnType<typeof scratch>,
  name: string,
  accuracy: number,
  hostile: boolean,
): Promise<{ id: string; dir: string }> {
  const ep = await startEndpoint('gsm8k', { accuracy });
  const proxy = hostile ? await hostileProxy(ep) : null;
  try {
    const endpoint = proxy ? ({ url: proxy.url } as ReferenceEndpoint) : ep;
    const cfg = writeE2eConfig(join(s.dir, `${name}.yaml`), {
      outputDir: join(s.dir, 'out', name),
      useDocker: false,
      tasks: [{ benchmark: 'gsm8k', endpoint, limit: LIMIT, parallelism: 8 }],
    });
    const r = await nelAsync(['run', '--config', cfg, '--wait'], {
      cwd: s.dir,
      env: s.env,
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const dir = launchedDir(r);
    return { id: invocationIdOfDir(dir), dir };
  } finally {
    if (proxy) await new Promise((ok) => proxy.server.close(ok));
    await ep.close();
  }
}

const shown = async (page: Page): Promise<number> => Number(await page.getAttribute('#count', 'data-shown'));

async function open(page: Page, file: string): Promise<void> {
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 60_000 });
}

/* page functions run in the browser (no DOM types here) */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type G = any;

/** Wait until the list shows n rows (polled from here: the report's CSP forbids eval in the page). */
async function waitShown(page: Page, n: number, query?: string): Promise<void> {
  const until = Date.now() + 30_000;
  let last = NaN;
  while (Date.now() < until) {
    last = await shown(page);
    const applied = query === undefined || (await page.getAttribute('#count', 'data-query')) === query;
    if (last === n && applied) return;
    await new Promise((ok) => setTimeout(ok, 50));
  }
  assert.fail(`the list shows ${last} rows, expected ${n}${query === undefined ? '' : ` for '${query}'`}`);
}

/** Type a search and wait until the list shows its n rows. */
async function search(page: Page, text: string, n: number): Promise<void> {
  await page.fill('#search', text);
  await waitShown(page, n, text.trim().toLowerCase());
}

test(
  'reports in Chromium: a real run with a hostile reply, the invocation report, compare --html',
  { skip },
  async () => {
    const s = scratch('nel-report-browser-');
    const shots = testArtifactsDir();
    const browser = await launchBrowser();
    const requests: string[] = [];
    try {
      const a = await run(s, 'a', 0.7, true);
      const jobDir = taskDirs(a.dir)[0]!;
      const jobReport = join(jobDir, 'artifacts', 'report.html');
      assert.ok(existsSync(jobReport), 'the engine wrote the job report at the end of the run');
      const html = readFileSync(jobReport, 'utf8');
      assert.ok(!html.includes('<b>bold</b>'), 'no reply markup in the file as markup');

      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (r) => requests.push(r.url()));
      await open(page, jobReport);

      // the score, the rows
      const headline = await page.textContent('#headline');
      assert.match(headline ?? '', /exact_match 0\.7000/);
      assert.match(headline ?? '', /95% CI \[/);
      assert.equal(await shown(page), LIMIT);
      assert.ok((await page.locator('#rows .spacer .row').count()) > 5, 'sample rows are rendered');
      assert.match((await page.textContent('#stats')) ?? '', /avg_completion_tokens/);

      // wrong only: the reference endpoint's answer pattern at accuracy 0.7
      let wrong = 0;
      for (let i = 0; i < LIMIT; i++) if (!isCorrectAt(i, 0.7)) wrong++;
      assert.equal(wrong, 12);
      await page.selectOption('#f-verdict', 'wrong');
      await waitShown(page, wrong);
      const verdicts = (await page.locator('#rows .spacer .row .badge').allTextContents()).filter(Boolean);
      assert.ok(verdicts.length > 0 && verdicts.every((v) => v === 'wrong'), verdicts.join(','));
      await page.selectOption('#f-verdict', 'all');
      await waitShown(page, LIMIT);

      // search: one question by its words
      await search(page, 'robe takes 2 bolts', 1);
      // the hostile reply: found by its text, shown as text, and nothing of it ran
      await search(page, 'window.__pwned', 1);
      await page.click('#rows .spacer .row');
      await page.waitForSelector('#detail pre.response');
      const shownReply = await page.textContent('#detail pre.response');
      assert.ok(shownReply?.startsWith(HOSTILE), `reply shown as text: ${shownReply?.slice(0, 120)}`);
      assert.equal(await page.evaluate(() => typeof (globalThis as G).__pwned), 'undefined');
      assert.equal(await page.evaluate(() => (globalThis as G).document.querySelectorAll('img').length), 0);
      assert.equal(await page.evaluate(() => (globalThis as G).document.scripts.length), 2);
      assert.equal(
        await page.evaluate(
          () =>
            [...(globalThis as G).document.querySelectorAll('b')].filter((b: G) => b.textContent === 'bold')
              .length,
        ),
        0,
      );
      await page.screenshot({ path: join(shots, 'report-job.png'), fullPage: true });
      assert.deepEqual(errors, []);

      // nel report: rebuilds the job report and writes the invocation's, linking it
      const r = nel(['report', a.id.slice(0, 8)], { cwd: s.dir, env: s.env });
      assert.equal(r.code, 0, r.stderr);
      const invReport = join(a.dir, 'report.html');
      assert.match(r.stdout, new RegExp(`Report: ${invReport.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      await open(page, invReport);
      assert.match((await page.textContent('#jobs')) ?? '', /builtin\.gsm8k.*exact_match.*0\.7000/s);
      await page.click('#jobs a');
      await page.waitForSelector('body[data-ready="1"]');
      assert.equal(page.url(), pathToFileURL(jobReport).href);
      assert.match((await page.textContent('#headline')) ?? '', /exact_match 0\.7000/);
      assert.equal(await shown(page), LIMIT);

      // bad ids: one line and a hint
      const bad = nel(['report', 'nosuchid'], { cwd: s.dir, env: s.env });
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^error: Invocation 'nosuchid' not found/m);
      assert.match(bad.stderr, /^hint: /m);

      // nel compare --html: the samples the two runs scored differently, side by side
      const b = await run(s, 'b', 0.8, false);
      let nb = 0;
      let nc = 0;
      for (let i = 0; i < LIMIT; i++) {
        if (isCorrectAt(i, 0.7) && !isCorrectAt(i, 0.8)) nb++;
        if (!isCorrectAt(i, 0.7) && isCorrectAt(i, 0.8)) nc++;
      }
      const cmpFile = join(s.dir, 'compare.html');
      const c = nel(['compare', a.id, b.id, '--html', cmpFile], { cwd: s.dir, env: s.env });
      assert.equal(c.code, 0, c.stderr);
      assert.match(c.stdout, /exact_match/);
      assert.match(c.stdout, /Report: .*compare\.html/);
      await open(page, cmpFile);
      await waitShown(page, nb + nc);
      await page.selectOption('#f-verdict', 'b-better');
      await waitShown(page, nc);
      await page.click('#rows .spacer .row');
      await page.waitForSelector('#detail .cols pre.response');
      assert.equal(await page.locator('#detail .cols pre.response').count(), 2);
      assert.match((await page.textContent('#detail')) ?? '', /A: .*extracted/);
      await page.screenshot({ path: join(shots, 'report-compare.png'), fullPage: true });
      assert.deepEqual(errors, []);
      // nothing but the report files was loaded
      assert.ok(
        requests.every((u) => u.startsWith('file://')),
        requests.filter((u) => !u.startsWith('file://')).join(' '),
      );
    } finally {
      await browser.close();
      rmSync(s.dir, { recursive: true, force: true });
    }
  },
);

test('a 15,000-sample report loads and filters in Chromium', { skip }, async () => {
  const s = scratch('nel-report-scale-');
  const browser = await launchBrowser();
  try {
    const N = 15_000;
    const dir = join(s.dir, 'artifacts');
    mkdirSync(dir, { recursive: true });
    const subjects = ['algebra', 'geometry', 'number theory', 'precalculus', 'probability'];
    const lines: string[] = [];
    let right = 0;
    for (let i = 0; i < N; i++) {
      const ok = isCorrectAt(i, 0.62);
      if (ok) right++;
      const answer = String((i * 7919) % 1000);
      lines.push(
        JSON.stringify({
          sample_id: String(i),
          index: i,
          prompt: [
            {
              role: 'user',
              content: `Question ${i}: ${'compute the value of the expression given. '.repeat(8)}`,
            },
          ],
          responses: [
            `Working through problem ${i} step by step.\n${'We simplify the terms. '.repeat(10)}\nThe final answer is ${ok ? answer : 'x'}`,
          ],
          extracted: [ok ? answer : 'x'],
          scores: { exact_match: ok ? 1 : 0 },
          target: answer,
          category: subjects[i % subjects.length],
        }),
      );
    }
    writeFileSync(join(dir, 'samples.jsonl'), lines.join('\n') + '\n');
    const value = right / N;
    const stderr = Math.sqrt((value * (1 - value)) / (N - 1));
    writeFileSync(
      join(dir, 'results.yml'),
      JSON.stringify({
        results: {
          tasks: {
            math: {
              metrics: { exact_match: { scores: { exact_match: { value, stats: { count: N, stderr } } } } },
            },
          },
        },
      }),
    );
    const { path } = writeJobReport(dir);
    const page = await browser.context.newPage();
    const t0 = Date.now();
    await open(page, path);
    const loadMs = Date.now() - t0;
    assert.equal(await shown(page), N);
    assert.ok(
      (await page.locator('#rows .spacer .row').count()) < 200,
      'only the visible rows are in the DOM',
    );
    const t1 = Date.now();
    await page.selectOption('#f-verdict', 'wrong');
    await waitShown(page, N - right);
    const filterMs = Date.now() - t1;
    await page.selectOption('#f-group', 'geometry');
    await waitShown(page, lines.filter((_, i) => i % 5 === 1 && !isCorrectAt(i, 0.62)).length);
    const t2 = Date.now();
    await search(page, 'question 14999:', isCorrectAt(14999, 0.62) || 14999 % 5 !== 1 ? 0 : 1);
    await page.selectOption('#f-verdict', 'all');
    await page.selectOption('#f-group', '');
    await waitShown(page, 1);
    const searchMs = Date.now() - t2;
    // scrolled to the end, the last rows are drawn
    await search(page, '', N);
    await page.evaluate(() => ((globalThis as G).document.getElementById('rows').scrollTop = 1e9));
    await page.waitForSelector(`#rows .row[data-pos="${N - 1}"]`);
    await page.screenshot({ path: join(testArtifactsDir(), 'report-15000.png') });
    const size = readFileSync(path).length;
    console.log(
      `15,000-sample report: ${(size / 1e6).toFixed(1)} MB, load ${loadMs} ms, wrong-only filter ${filterMs} ms, search ${searchMs} ms`,
    );
    // generous bound: the page must not freeze (timings are diagnostics, see bench/ for goals)
    assert.ok(loadMs < 60_000 && filterMs < 30_000 && searchMs < 30_000);
  } finally {
    await browser.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('an IFEval job report filters by instruction type (a real engine run)', { skip }, async () => {
  const s = scratch('nel-report-ifeval-');
  const browser = await launchBrowser();
  const data = sharedPath('data', 'ifeval', 'input_data.jsonl');
  const ifeval = getBenchmark('ifeval')!;
  const ep = await startReferenceEndpoint({ benchmark: 'ifeval', datasetPath: data, accuracy: 0.6 });
  try {
    const out = join(s.dir, 'artifacts');
    const { evaluation } = resolveRunConfig({
      runConfig: {
        config: {
          type: 'ifeval',
          output_dir: out,
          params: { limit_samples: 30, parallelism: 4, extra: { dataset_path: data } },
        },
        target: { api_endpoint: { url: `${ep.url}/v1/chat/completions`, model_id: 'reference-model' } },
      },
      resolver: { get: (n) => (n === 'ifeval' ? ifeval : undefined), list: () => [ifeval] },
    });
    const outcome = await runEvaluation(evaluation, { log: silentLogger, progressStream: null });
    assert.equal(outcome.status, 'success');
    // the expected counts, from the per-sample lines the engine wrote
    const lines = readFileSync(join(out, 'samples.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { details: { instruction_id_list: string[]; strict: boolean[] } });
    const failedOf = new Map<string, number>();
    const hasOf = new Map<string, number>();
    for (const l of lines) {
      const ids = l.details.instruction_id_list;
      for (const t of new Set(ids)) hasOf.set(t, (hasOf.get(t) ?? 0) + 1);
      for (const t of new Set(ids.filter((_, i) => !l.details.strict[i])))
        failedOf.set(t, (failedOf.get(t) ?? 0) + 1);
    }
    const [type, nFailed] = [...failedOf.entries()].sort((x, y) => y[1] - x[1])[0]!;
    assert.ok(nFailed > 0 && nFailed < hasOf.get(type)!, `${type}: ${nFailed} of ${hasOf.get(type)}`);
    const page = await browser.context.newPage();
    await open(page, join(out, 'report.html'));
    assert.match((await page.textContent('#headline')) ?? '', /prompt_level_strict_acc/);
    assert.equal(await shown(page), 30);
    await page.selectOption('#f-inst', `has:${type}`);
    await waitShown(page, hasOf.get(type)!);
    await page.selectOption('#f-inst', `failed:${type}`);
    await waitShown(page, nFailed);
    await page.click('#rows .spacer .row');
    assert.match(
      (await page.textContent('#detail')) ?? '',
      new RegExp(`not followed \\(strict\\).*${type}`, 's'),
    );
    // details are embedded compact and shown indented
    const details = await page.evaluate(() => {
      const h = [...(globalThis as G).document.querySelectorAll('#detail h3')].find(
        (x: G) => x.textContent === 'Details',
      ) as G;
      return (h?.nextElementSibling?.textContent ?? null) as string | null;
    });
    assert.match(details ?? '', /^\{\n {2}"instruction_id_list": \[\n {4}"/);
    await page.screenshot({ path: join(testArtifactsDir(), 'report-ifeval.png'), fullPage: true });
  } finally {
    await ep.close();
    await browser.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
});
