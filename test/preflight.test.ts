/**
 * The preflight check of `nel run` through the real CLI, against real servers on 127.0.0.1: each mistake
 * it exists for is refused with its own line and a hint, and nothing is written (no invocation directory,
 * no exec DB record); a live endpoint passes and the run goes ahead; --skip-preflight and the variable skip
 * it; --dry-run never probes; in Docker, an endpoint the container cannot reach gets its own message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nel, nelAsync, scratch, type CliResult } from './support/cli.js';
import { engineImage } from './support/docker.js';
import { startReferenceEndpoint } from '../src/reference-endpoint/index.js';
import { invocationIdOfDir, launchedDir, removeContainers, scoreOf, taskDirs } from './support/e2e.js';
import { serverPort } from './support/ports.js';

/** A three-question GSM8K data set of the test's own (test.jsonl in a fresh folder). */
function gsm8kData(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nel-preflight-data-'));
  const rows = [
    { question: 'What is 2 + 3?', answer: '2 + 3 = 5\n#### 5' },
    { question: 'What is 4 * 6?', answer: '4 * 6 = 24\n#### 24' },
    { question: 'What is 10 - 7?', answer: '10 - 7 = 3\n#### 3' },
  ];
  writeFileSync(join(dir, 'test.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return dir;
}
const DATA = gsm8kData();
process.on('exit', () => rmSync(DATA, { recursive: true, force: true }));

const startEndpoint = (_b: 'gsm8k', opts: { accuracy: number }) =>
  startReferenceEndpoint({
    benchmark: 'gsm8k',
    datasetPath: join(DATA, 'test.jsonl'),
    accuracy: opts.accuracy,
  });

interface FakeOptions {
  models?: 'list' | 404 | 500;
  ids?: string[];
  /** Bearer token every request must carry (401 otherwise). */
  key?: string;
}

interface Fake {
  url: string;
  port: number;
  requests: { method: string; path: string; auth: string | undefined }[];
  close(): Promise<void>;
}

/** A small OpenAI-compatible server: /v1/models, and both completion paths checking their body's shape. */
async function startFake(opts: FakeOptions = {}): Promise<Fake> {
  const requests: Fake['requests'] = [];
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer((req: IncomingMessage, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push({ method: req.method ?? '', path, auth: req.headers.authorization });
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      if (opts.key !== undefined && req.headers.authorization !== `Bearer ${opts.key}`)
        return json(res, 401, { error: { message: 'Invalid API key', type: 'invalid_request_error' } });
      const ids = opts.ids ?? ['m1', 'm2'];
      if (req.method === 'GET' && path === '/v1/models') {
        const m = opts.models ?? 'list';
        if (m === 404) return json(res, 404, { detail: 'Not Found' });
        if (m === 500) return json(res, 500, { error: { message: 'models listing is broken' } });
        return json(res, 200, { object: 'list', data: ids.map((id) => ({ id, object: 'model' })) });
      }
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        /* empty */
      }
      if (req.method === 'POST' && path === '/v1/chat/completions') {
        if (!Array.isArray(body.messages))
          return json(res, 400, { error: { message: "'messages' is a required property" } });
        return json(res, 200, {
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'length' }],
        });
      }
      if (req.method === 'POST' && path === '/v1/completions') {
        if (typeof body.prompt !== 'string')
          return json(res, 400, { error: { message: "'prompt' is a required property" } });
        return json(res, 200, {
          object: 'text_completion',
          choices: [{ index: 0, text: 'x', finish_reason: 'length' }],
        });
      }
      json(res, 404, { detail: 'Not Found' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

interface Cfg {
  url: string;
  model?: string;
  keyName?: string;
  task?: Record<string, unknown>;
  useDocker?: boolean;
  extraDockerArgs?: string;
  limit?: number;
}

function writeConfig(dir: string, c: Cfg): { cfg: string; out: string } {
  const out = join(dir, 'out');
  const cfg = join(dir, 'run.yaml');
  const config = {
    defaults: [{ execution: 'local' }, { deployment: 'none' }, '_self_'],
    execution: {
      output_dir: out,
      use_docker: c.useDocker ?? false,
      ...(c.extraDockerArgs !== undefined ? { extra_docker_args: c.extraDockerArgs } : {}),
    },
    target: {
      api_endpoint: {
        model_id: c.model ?? 'm1',
        url: c.url,
        ...(c.keyName ? { api_key_name: c.keyName } : {}),
      },
    },
    evaluation: {
      nemo_evaluator_config: {
        config: {
          params: { limit_samples: c.limit ?? 2, parallelism: 2, request_timeout: 30, max_retries: 1 },
        },
      },
      tasks: [{ name: 'builtin.gsm8k', dataset_dir: DATA, ...(c.task ?? {}) }],
    },
  };
  writeFileSync(cfg, JSON.stringify(config, null, 2) + '\n');
  return { cfg, out };
}

/** A refusal: exit 1, `error: preflight: ...` matching `line`, a hint, no stack, nothing written. */
function assertRefused(
  r: CliResult,
  s: ReturnType<typeof scratch>,
  out: string,
  line: RegExp,
  hint?: RegExp,
) {
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(r.code, 1, `exit code ${r.code}; stderr: ${r.stderr}; stdout: ${r.stdout}`);
  assert.equal(lines.length, 2, `expected the error line and its hint, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^error: preflight: /);
  assert.match(lines[0]!, line);
  assert.match(lines[1]!, /^hint: .*--skip-preflight/);
  if (hint) assert.match(lines[1]!, hint);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'stack trace printed');
  assert.doesNotMatch(r.stdout, /Launched/);
  assert.ok(!existsSync(out) || readdirSync(out).length === 0, 'an invocation directory was created');
  assert.ok(!existsSync(s.dbPath), 'an exec DB record was written');
}

/** `nel run` in a scratch dir against config `c` (async: the servers live in this process). */
async function runWith(c: Cfg, extra: string[] = [], env: Record<string, string> = {}) {
  const s = scratch('nel-preflight-');
  mkdirSync(s.dir, { recursive: true });
  const { cfg, out } = writeConfig(s.dir, c);
  const started = Date.now();
  const r = await nelAsync(['run', '--config', cfg, ...extra], {
    cwd: s.dir,
    env: { ...s.env, ...env },
    timeoutMs: 120_000,
  });
  return { s, out, r, ms: Date.now() - started };
}

async function cleanup(s: ReturnType<typeof scratch>, r: CliResult, docker = false): Promise<void> {
  if (/^Launched/m.test(r.stdout)) {
    const inv = invocationIdOfDir(launchedDir(r));
    await nelAsync(['kill', inv], { cwd: s.dir, env: s.env, timeoutMs: 60_000 });
    if (docker) removeContainers(inv);
  }
  rmSync(s.dir, { recursive: true, force: true });
}

test('preflight: connection refused names the URL, ends at once, writes nothing', async () => {
  const port = await serverPort();
  const url = `http://127.0.0.1:${port}/v1/chat/completions`;
  const { s, out, r, ms } = await runWith({ url });
  try {
    assertRefused(
      r,
      s,
      out,
      new RegExp(`cannot connect to ${url.replace(/[./]/g, '\\$&')}: connection refused`),
      /nothing listens on 127\.0\.0\.1/,
    );
    assert.ok(ms < 20_000, `took ${ms} ms`);
  } finally {
    await cleanup(s, r);
  }
});

test('preflight: an unknown host is a DNS failure naming the URL', async () => {
  const url = 'http://nel-preflight-no-such-host.invalid/v1/chat/completions';
  const { s, out, r } = await runWith({ url });
  try {
    assertRefused(r, s, out, /cannot resolve the host of http:\/\/nel-preflight-no-such-host\.invalid\//);
  } finally {
    await cleanup(s, r);
  }
});

test('preflight: a base URL (.../v1) is refused with the completion URL to use', async () => {
  const fake = await startFake();
  const { s, out, r } = await runWith({ url: `${fake.url}/v1` });
  try {
    assertRefused(
      r,
      s,
      out,
      /is a base URL, not the chat endpoint of task builtin\.gsm8k/,
      new RegExp(`use ${fake.url.replace(/[./]/g, '\\$&')}\\/v1\\/chat\\/completions`),
    );
    // the completions type suggests the completions path
    const c = await runWith({ url: `${fake.url}/v1/`, task: { endpoint_type: 'completions' } });
    try {
      assertRefused(c.r, c.s, c.out, /is a base URL/, /\/v1\/completions;/);
    } finally {
      await cleanup(c.s, c.r);
    }
  } finally {
    await cleanup(s, r);
    await fake.close();
  }
});

test('preflight: a wrong path (404 on the completion path) is refused', async () => {
  const fake = await startFake();
  const url = `${fake.url}/v1/chat/completion`;
  const { s, out, r } = await runWith({ url });
  try {
    assertRefused(
      r,
      s,
      out,
      /POST .*\/v1\/chat\/completion answered HTTP 404: the URL path is wrong/,
      /\/v1\/chat\/completions/,
    );
    const posts = fake.requests.filter((q) => q.method === 'POST');
    assert.equal(posts.length, 1, 'one smallest request to the URL');
  } finally {
    await cleanup(s, r);
    await fake.close();
  }
});

test('preflight: 401 names the key variable, never its value', async () => {
  const fake = await startFake({ key: 'right-key-value' });
  const { s, out, r } = await runWith({ url: `${fake.url}/v1/chat/completions`, keyName: 'NEL_PF_KEY' }, [], {
    NEL_PF_KEY: 'wrong-key-value',
  });
  try {
    assertRefused(r, s, out, /answered HTTP 401: the key in NEL_PF_KEY was refused/, /NEL_PF_KEY/);
    assert.doesNotMatch(r.stderr + r.stdout, /wrong-key-value|right-key-value/);
    assert.equal(fake.requests[0]!.auth, 'Bearer wrong-key-value', 'the configured key was sent');
    // the right key passes (the run then goes ahead)
    const ok = await runWith({ url: `${fake.url}/v1/chat/completions`, keyName: 'NEL_PF_KEY' }, [], {
      NEL_PF_KEY: 'right-key-value',
    });
    try {
      assert.equal(ok.r.code, 0, ok.r.stderr);
      assert.match(ok.r.stdout, /^Launched 1 job\(s\) on the host/m);
    } finally {
      await cleanup(ok.s, ok.r);
    }
  } finally {
    await cleanup(s, r);
    await fake.close();
  }
});

test('preflight: a model the server does not list is refused with the ids it lists', async () => {
  const fake = await startFake({ ids: ['meta/llama-3.1-8b-instruct', 'other/model'] });
  const { s, out, r } = await runWith({ url: `${fake.url}/v1/chat/completions`, model: 'meta/llama-3.1-8b' });
  try {
    assertRefused(
      r,
      s,
      out,
      /model meta\/llama-3\.1-8b is not served by .*\/v1\/models; it lists: meta\/llama-3\.1-8b-instruct, other\/model/,
      /model_id/,
    );
  } finally {
    await cleanup(s, r);
    await fake.close();
  }
});

test('preflight: a chat endpoint for a completions task, and the reverse, are refused where the server says so', async () => {
  const fake = await startFake();
  const a = await runWith({ url: `${fake.url}/v1/chat/completions`, task: { endpoint_type: 'completions' } });
  const b = await runWith({ url: `${fake.url}/v1/completions` });
  try {
    assertRefused(
      a.r,
      a.s,
      a.out,
      /task builtin\.gsm8k needs a completions endpoint, but .*\/v1\/chat\/completions is a chat endpoint \(HTTP 400: 'messages' is a required property\)/,
      /use .*\/v1\/completions/,
    );
    assertRefused(
      b.r,
      b.s,
      b.out,
      /task builtin\.gsm8k needs a chat endpoint, but .*\/v1\/completions is a completions endpoint \(HTTP 400: 'prompt' is a required property\)/,
      /use .*\/v1\/chat\/completions/,
    );
  } finally {
    await cleanup(a.s, a.r);
    await cleanup(b.s, b.r);
    await fake.close();
  }
});

test('preflight: a listing that fails (500) but a working completion is a warning, and the run goes ahead', async () => {
  const fake = await startFake({ models: 500 });
  const { s, r } = await runWith({ url: `${fake.url}/v1/chat/completions` });
  try {
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /warning: preflight: GET .*\/v1\/models answered HTTP 500, but the chat request to .* works/,
    );
    assert.match(r.stdout, /^Launched 1 job\(s\)/m);
  } finally {
    await cleanup(s, r);
    await fake.close();
  }
});

test('preflight: a server without /v1/models is checked with the smallest completion', async () => {
  const fake = await startFake({ models: 404 });
  const { s, r } = await runWith({ url: `${fake.url}/v1/chat/completions` });
  try {
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Launched 1 job\(s\)/m);
    const post = fake.requests.find((q) => q.method === 'POST');
    assert.ok(post, `requests: ${JSON.stringify(fake.requests)}`);
  } finally {
    await cleanup(s, r);
    await fake.close();
  }
});

test('preflight: a server that accepts but never answers is a warning within the timeout, not a refusal', async () => {
  const sockets = new Set<import('node:net').Socket>();
  const silent = createServer(() => {
    /* never answers */
  });
  silent.on('connection', (c) => sockets.add(c));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  const port = (silent.address() as { port: number }).port;
  const { s, r, ms } = await runWith({ url: `http://127.0.0.1:${port}/v1/chat/completions` }, [], {
    NEMO_EVALUATOR_PREFLIGHT_TIMEOUT: '1',
  });
  try {
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: preflight: GET .*\/v1\/models gave no answer \(no answer within 1 s\)/);
    assert.match(r.stdout, /^Launched 1 job\(s\)/m);
    assert.ok(ms < 30_000, `took ${ms} ms`);
  } finally {
    await cleanup(s, r);
    for (const c of sockets) c.destroy();
    await new Promise<void>((res) => silent.close(() => res()));
  }
});

test('preflight: a live endpoint passes quickly and the run proceeds to its score (host mode)', async () => {
  const ep = await startEndpoint('gsm8k', { accuracy: 1 });
  const { s, r } = await runWith(
    { url: `${ep.url}/v1/chat/completions`, model: 'reference-model', limit: 3 },
    ['--wait'],
  );
  try {
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stderr, /preflight/);
    const dir = launchedDir(r);
    assert.equal(scoreOf(taskDirs(dir)[0]!, 'gsm8k'), 1);
    assert.ok((ep.stats().by_path['/v1/models'] ?? 0) >= 1, 'the preflight asked the listing');
  } finally {
    await cleanup(s, r);
    await ep.close();
  }
});

test('preflight: --skip-preflight and NEMO_EVALUATOR_SKIP_PREFLIGHT=1 skip it; --dry-run never probes', async () => {
  const port = await serverPort();
  const url = `http://127.0.0.1:${port}/v1/chat/completions`;
  const flag = await runWith({ url }, ['--skip-preflight']);
  const envVar = await runWith({ url }, [], { NEMO_EVALUATOR_SKIP_PREFLIGHT: '1' });
  try {
    for (const x of [flag, envVar]) {
      assert.equal(x.r.code, 0, x.r.stderr);
      assert.match(x.r.stdout, /^Launched 1 job\(s\) on the host/m);
      assert.doesNotMatch(x.r.stderr, /preflight/);
    }
    const s = scratch('nel-preflight-dry-');
    const { cfg } = writeConfig(s.dir, { url });
    const dry = nel(['run', '--config', cfg, '--dry-run'], { cwd: s.dir, env: s.env });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /DRY RUN/);
    assert.doesNotMatch(dry.stderr, /preflight/);
    rmSync(s.dir, { recursive: true, force: true });
  } finally {
    await cleanup(flag.s, flag.r);
    await cleanup(envVar.s, envVar.r);
  }
});

test('docker: an endpoint on 127.0.0.1 without --network host gets the container-specific message', async (t) => {
  if (!engineImage(t)) return;
  const fake = await startFake();
  const { s, out, r } = await runWith({
    url: `${fake.url}/v1/chat/completions`,
    useDocker: true,
    extraDockerArgs: '',
  });
  try {
    assertRefused(
      r,
      s,
      out,
      /answers from this host but not from inside a container \(ECONNREFUSED; no extra_docker_args\)/,
      /127\.0\.0\.1 inside a container is the container itself; add `--network host` to execution\.extra_docker_args, or use an address the container can reach/,
    );
  } finally {
    await cleanup(s, r, true);
    await fake.close();
  }
});

test('docker: with --network host the in-container probe passes and the run proceeds to its score', async (t) => {
  if (!engineImage(t)) return;
  const ep = await startEndpoint('gsm8k', { accuracy: 1 });
  const { s, r } = await runWith(
    {
      url: `${ep.url}/v1/chat/completions`,
      model: 'reference-model',
      useDocker: true,
      extraDockerArgs: '--network host',
      limit: 3,
    },
    ['--wait'],
  );
  try {
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stderr, /preflight/);
    assert.equal(scoreOf(taskDirs(launchedDir(r))[0]!, 'gsm8k'), 1);
    // the host probe and the container's probe both asked the listing
    assert.ok((ep.stats().by_path['/v1/models'] ?? 0) >= 2, JSON.stringify(ep.stats().by_path));
  } finally {
    await cleanup(s, r, true);
    await ep.close();
  }
});

test('docker: a name only the container resolves passes with a note (the container decides reachability)', async (t) => {
  if (!engineImage(t)) return;
  const fake = await startFake();
  const { s, r } = await runWith({
    url: `http://nel-preflight-alias:${fake.port}/v1/chat/completions`,
    useDocker: true,
    extraDockerArgs: '--network host --add-host nel-preflight-alias:127.0.0.1',
  });
  try {
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /warning: preflight: http:\/\/nel-preflight-alias:\d+\/v1\/chat\/completions is not reachable from this host \(cannot resolve .*\) but answers from inside the container/,
    );
    assert.match(r.stdout, /^Launched 1 job\(s\) in Docker/m);
  } finally {
    await cleanup(s, r, true);
    await fake.close();
  }
});
