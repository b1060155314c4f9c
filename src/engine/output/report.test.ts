import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeHtml, writeReport } from './report.js';
import { embedJson } from '../../results/report/html.js';
import { viewSamples } from '../../results/report/sample-view.js';

const HOSTILE = `</script><script>window.__pwned=1</script><b>bold</b><img src=x onerror=alert(1)> & <!--`;

test('escapeHtml escapes the five HTML specials', () => {
  assert.equal(
    escapeHtml(`<script>"x" & 'y'</script>`),
    '&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;',
  );
});

test('embedded JSON cannot close its script element and reads back unchanged', () => {
  const v = { reply: HOSTILE, sep: '\u2028\u2029' };
  const text = embedJson(v);
  assert.doesNotMatch(text, /[<>&\u2028\u2029]/);
  assert.deepEqual(JSON.parse(text), v);
});

test('the job report: samples, scores and the run in one page; replies never become markup', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nel-report-'));
  try {
    const lines = [
      {
        sample_id: '0',
        index: 0,
        prompt: [{ role: 'user', content: 'q0' }],
        responses: [HOSTILE],
        extracted: ['1'],
        scores: { exact_match: 0 },
        target: '2',
      },
      {
        sample_id: '1',
        index: 1,
        prompt: [{ role: 'user', content: 'q1' }],
        responses: ['The answer is 3'],
        extracted: ['3'],
        scores: { exact_match: 1 },
        target: '3',
      },
    ];
    writeFileSync(join(dir, 'samples.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const score = { value: 0.5, stats: { count: 2, stderr: 0.5 } };
    writeFileSync(
      join(dir, 'results.yml'),
      JSON.stringify({
        results: { tasks: { t: { metrics: { exact_match: { scores: { exact_match: score } } } } } },
      }),
    );
    writeFileSync(
      join(dir, 'run_config.yml'),
      JSON.stringify({
        config: { type: 't', params: { limit_samples: 2, extra: { n_samples: 1 } } },
        target: { api_endpoint: { model_id: 'm<1>' } },
      }),
    );
    const n = writeReport({
      outputDir: dir,
      cacheDir: join(dir, 'cache'),
      endpoint: 'http://h/v1',
      reportTypes: ['html', 'json'],
      size: null,
      title: 'run <1>',
    });
    assert.equal(n, 0); // nothing cached: no report.json, the page still shows the samples
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    assert.match(html, /<title>run &lt;1&gt;<\/title>/);
    assert.doesNotMatch(html, /window\.__pwned=1<\/script>|<b>bold|<img/);
    // exactly the page's own two script elements
    assert.equal(html.match(/<script/g)!.length, 2);
    const json = /<script type="application\/json" id="nel-data">([^<]*)<\/script>/.exec(html)![1]!;
    const data = JSON.parse(json) as {
      lines: unknown[];
      requests: { prompt: string | null }[];
      scores: {
        metric: string;
        score: string;
        value: number;
        stderr: number;
        ci: number[];
        headline: boolean;
      }[];
      params: [string, string][];
      job: { model: string };
    };
    // the samples as the page shows them (its own view of the embedded lines)
    const { samples } = viewSamples(data.lines, data.scores, data.requests);
    assert.equal(samples[0]!.responses[0], HOSTILE);
    assert.deepEqual(
      samples.map((s) => s.verdict),
      ['wrong', 'right'],
    );
    assert.equal(data.scores[0]!.headline, true);
    assert.ok(Math.abs(data.scores[0]!.ci[0]! - (0.5 - 1.96 * 0.5)) < 1e-12);
    assert.deepEqual(data.params, [
      ['limit_samples', '2'],
      ['extra.n_samples', '1'],
    ]);
    assert.equal(data.job.model, 'm<1>');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
