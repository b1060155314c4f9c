import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DiskCacheStore, MODE_RAW, keyFingerprint } from './disk-cache-store.js';

const rowsOnDisk = (dir: string): { key: string; value: Buffer }[] => {
  const db = new Database(join(dir, 'cache.db'), { readonly: true });
  try {
    return db.prepare('SELECT key, value FROM Cache ORDER BY rowid').all() as {
      key: string;
      value: Buffer;
    }[];
  } finally {
    db.close();
  }
};

const settings = (dir: string): Record<string, unknown> => {
  const db = new Database(join(dir, 'cache.db'), { readonly: true });
  try {
    const rows = db.prepare('SELECT key, value FROM Settings').all() as { key: string; value: unknown }[];
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  } finally {
    db.close();
  }
};

test('write-behind: queued rows are readable at once and on disk after flush/close', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dcs-'));
  try {
    const store = new DiskCacheStore(dir, { writeBehind: { batchRows: 100, flushMs: 60_000 } });
    store.put('a', 'one', MODE_RAW);
    store.put('b', 'two', MODE_RAW);
    assert.equal(store.getBuffer('a')?.toString(), 'one');
    assert.equal(store.has('b'), true);
    assert.equal(rowsOnDisk(dir).length, 0, 'nothing written before a flush');
    store.flush();
    assert.deepEqual(
      rowsOnDisk(dir).map((r) => [r.key, r.value.toString()]),
      [
        ['a', 'one'],
        ['b', 'two'],
      ],
    );
    store.put('a', 'uno', MODE_RAW); // overwrite: not a new row
    store.put('c', 'three', MODE_RAW);
    assert.equal(store.count(), 3, 'count() flushes first');
    store.put('d', 'four', MODE_RAW);
    store.close();
    const rows = Object.fromEntries(rowsOnDisk(dir).map((r) => [r.key, r.value.toString()]));
    assert.deepEqual(rows, { a: 'uno', b: 'two', c: 'three', d: 'four' });
    assert.equal(settings(dir).count, 4);
    const reopened = new DiskCacheStore(dir);
    assert.equal(reopened.getBuffer('a')?.toString(), 'uno');
    assert.equal(reopened.getBuffer('zz'), undefined);
    reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('write-behind: a full batch is written without an explicit flush', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dcs-'));
  try {
    const store = new DiskCacheStore(dir, { writeBehind: { batchRows: 3, flushMs: 60_000 } });
    for (const k of ['k1', 'k2', 'k3', 'k4']) store.put(k, k, MODE_RAW);
    assert.deepEqual(
      rowsOnDisk(dir).map((r) => r.key),
      ['k1', 'k2', 'k3'],
    );
    store.close();
    assert.equal(rowsOnDisk(dir).length, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without write-behind every put is on disk at once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dcs-'));
  try {
    const store = new DiskCacheStore(dir);
    store.putJson('state', { n: 1 });
    assert.deepEqual(
      rowsOnDisk(dir).map((r) => [r.key, r.value.toString()]),
      [['state', '{"n":1}']],
    );
    assert.deepEqual(store.getJson('state'), { n: 1 });
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rows already in the file (written by another program) are found; absent keys miss', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dcs-'));
  try {
    new DiskCacheStore(dir).close(); // creates the tables
    const db = new Database(join(dir, 'cache.db'));
    const ins = db.prepare(
      'INSERT INTO Cache (key, raw, store_time, access_time, size, mode, value) VALUES (?, 1, 0, 0, ?, 1, ?)',
    );
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    for (const k of keys) ins.run(k, 3, Buffer.from(`v-${k}`));
    db.close();
    const store = new DiskCacheStore(dir, { writeBehind: { batchRows: 100, flushMs: 60_000 } });
    for (const k of keys) assert.equal(store.getBuffer(k)?.toString(), `v-${k}`);
    for (let i = 200; i < 400; i++) {
      assert.equal(store.getBuffer(`k${i}`), undefined);
      assert.equal(store.has(`k${i}`), false);
    }
    store.put('new', 'x', MODE_RAW);
    store.flush();
    assert.equal(store.getBuffer('new')?.toString(), 'x');
    assert.equal(store.has('k7'), true);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('key fingerprints are small non-negative integers and spread out', () => {
  const seen = new Set<number>();
  for (let i = 0; i < 10_000; i++) {
    const f = keyFingerprint(`key-${i}`);
    assert.ok(Number.isInteger(f) && f >= 0 && f < 2 ** 30);
    seen.add(f);
  }
  assert.ok(seen.size > 9_990, `only ${seen.size} distinct fingerprints`);
});

test('a file SQLite rejects is moved aside with one warning and an empty cache takes its place', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nel-dcs-corrupt-'));
  try {
    writeFileSync(join(dir, 'cache.db'), 'not a database '.repeat(500));
    const warnings: string[] = [];
    const store = new DiskCacheStore(dir, { onWarning: (m) => warnings.push(m) });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /cache\.db is damaged .*moved it to .*cache\.db\.corrupt-/);
    assert.ok(readdirSync(dir).some((f) => f.startsWith('cache.db.corrupt-')));
    store.put('k', 'v', MODE_RAW);
    assert.equal(store.getBuffer('k')?.toString(), 'v');
    store.close();
    // A database that is fine opens without a warning.
    new DiskCacheStore(dir, { onWarning: (m) => warnings.push(m) }).close();
    assert.equal(warnings.length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
