/**
 * A key/value store in python-diskcache's SQLite layout (engine-spec 6.6): `<dir>/cache.db` with the
 * `Settings` and `Cache` tables, string keys stored with raw=1, values as BLOBs with mode 1 (raw bytes)
 * or 2 (JSON text). Upstream's modified diskcache reads these rows without pickle.
 */
import type Database from 'better-sqlite3';
import { existsSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { mkdirp } from '../../common/fs.js';

/** The native SQLite binding, loaded when the first store opens (not when the engine CLI starts). */
let sqlite: typeof Database | undefined;
const openSqlite = (file: string, opts: Database.Options): Database.Database =>
  new (sqlite ??= createRequire(import.meta.url)('better-sqlite3') as typeof Database)(file, opts);

export const MODE_RAW = 1;
export const MODE_JSON = 2;

const SETTINGS: [string, number | string][] = [
  ['statistics', 0],
  ['tag_index', 0],
  ['eviction_policy', 'least-recently-stored'],
  ['size_limit', 1073741824],
  ['cull_limit', 10],
  ['sqlite_auto_vacuum', 1],
  ['sqlite_cache_size', 8192],
  ['sqlite_journal_mode', 'wal'],
  ['sqlite_mmap_size', 67108864],
  ['sqlite_synchronous', 1],
  ['disk_min_file_size', 32768],
  ['disk_pickle_protocol', 5],
];

export interface DiskCacheStoreOptions {
  /**
   * Write-behind: `put` queues rows in memory (reads see them at once) and writes them in one
   * transaction when `batchRows` rows are queued, `flushMs` after the first queued row, or on
   * flush()/count()/keys()/close(). Off by default: every put is written at once.
   */
  writeBehind?: { batchRows?: number; flushMs?: number };
  /**
   * Told (once per store) when the database file is not one SQLite can use: the file is moved aside to
   * `cache.db.corrupt-<time>` and an empty cache is created in its place.
   */
  onWarning?: (message: string) => void;
}

/** SQLite's "this file is not a usable database" errors (as opposed to busy/locked/permission). */
function isDatabaseDamage(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return (
    code === 'SQLITE_NOTADB' ||
    code === 'SQLITE_CORRUPT' ||
    (typeof code === 'string' && code.startsWith('SQLITE_CORRUPT'))
  );
}

/** A 30-bit FNV-1a fingerprint of a key (a small integer, so a Set of them stays compact). */
export function keyFingerprint(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h & 0x3fffffff;
}

interface QueuedRow {
  buf: Buffer;
  mode: number;
}

export class DiskCacheStore {
  private readonly db: Database.Database;
  /** The database file (named in warnings). */
  readonly file: string;
  private readonly getStmt: Database.Statement;
  private readonly deleteStmt: Database.Statement;
  private readonly insertStmt: Database.Statement;
  private readonly updateStmt: Database.Statement;
  private readonly countStmt: Database.Statement;
  private readonly bumpCount: Database.Statement;
  private readonly bumpSize: Database.Statement;
  private readonly writeRows: (rows: Map<string, QueuedRow>) => void;
  private readonly batchRows: number;
  private readonly flushMs: number;
  private queued = new Map<string, QueuedRow>();
  /**
   * Fingerprints of the keys in the table (read at open, added on put): a key whose fingerprint is
   * absent is certainly absent, so a miss costs no query. Rows another process adds after the open are
   * not seen (a missed cache hit at worst).
   */
  private readonly present: Set<number>;
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly dir: string,
    opts: DiskCacheStoreOptions = {},
  ) {
    this.batchRows = opts.writeBehind ? Math.max(1, opts.writeBehind.batchRows ?? 512) : 1;
    this.flushMs = opts.writeBehind?.flushMs ?? 50;
    mkdirp(dir);
    const file = join(dir, 'cache.db');
    this.file = file;
    let opened: { db: Database.Database; present: Set<number> };
    try {
      opened = DiskCacheStore.openDatabase(file, !!opts.writeBehind);
    } catch (e) {
      if (!isDatabaseDamage(e)) throw e;
      const aside = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      renameSync(file, aside);
      for (const ext of ['-wal', '-shm']) if (existsSync(file + ext)) renameSync(file + ext, aside + ext);
      opts.onWarning?.(
        `the cache database ${file} is damaged (${(e as Error).message}); moved it to ${aside} and started an empty cache (its requests are sent again)`,
      );
      opened = DiskCacheStore.openDatabase(file, !!opts.writeBehind);
    }
    this.db = opened.db;
    this.present = opened.present;
    this.getStmt = this.db.prepare('SELECT value FROM Cache WHERE key = ? AND raw = 1').pluck();
    this.deleteStmt = this.db.prepare('DELETE FROM Cache WHERE key = ? AND raw = 1');
    const ins = this.db.prepare('INSERT OR IGNORE INTO Settings (key, value) VALUES (?, ?)');
    const settings = [...SETTINGS, ['count', 0], ['size', 0], ['hits', 0], ['misses', 0]] as [
      string,
      number | string,
    ][];
    this.db.transaction(() => {
      for (const [k, v] of settings) ins.run(k, v);
    })();
    this.insertStmt = this.db.prepare(
      `INSERT OR IGNORE INTO Cache (key, raw, store_time, expire_time, access_time, access_count, tag, size, mode, filename, value)
       VALUES (?, 1, ?, NULL, ?, 0, NULL, ?, ?, NULL, ?)`,
    );
    this.updateStmt = this.db.prepare(
      'UPDATE Cache SET store_time = ?, access_time = ?, size = ?, mode = ?, value = ? WHERE key = ? AND raw = 1',
    );
    this.countStmt = this.db.prepare('SELECT COUNT(*) AS n FROM Cache');
    this.bumpCount = this.db.prepare("UPDATE Settings SET value = value + ? WHERE key = 'count'");
    this.bumpSize = this.db.prepare("UPDATE Settings SET value = value + ? WHERE key = 'size'");
    this.writeRows = this.db.transaction((rows: Map<string, QueuedRow>) => {
      const now = Date.now() / 1000;
      let added = 0;
      let size = 0;
      for (const [key, { buf, mode }] of rows) {
        if (this.insertStmt.run(key, now, now, buf.length, mode, buf).changes > 0) added++;
        else this.updateStmt.run(now, now, buf.length, mode, buf, key);
        size += buf.length;
      }
      if (added > 0) this.bumpCount.run(added);
      this.bumpSize.run(size);
    });
  }

  /**
   * Open (or create) the database and its tables and read the key fingerprints; throws SQLite's error
   * for a file it cannot use.
   */
  private static openDatabase(
    file: string,
    writeBehind: boolean,
  ): { db: Database.Database; present: Set<number> } {
    const db = openSqlite(file, { timeout: 60_000 });
    try {
      // Responses are about a kilobyte: 8 KiB pages take fewer page splits per row than SQLite's 4 KiB
      // (applies when the file is created; any reader handles either size).
      db.pragma('page_size = 8192');
      // A write-behind store is a cache that a rerun can refill: skip the fsync of WAL checkpoints. Set
      // before the journal mode, so that switching a new file to WAL does not wait for an fsync either.
      db.pragma(writeBehind ? 'synchronous = 0' : 'synchronous = 1');
      db.pragma('journal_mode = wal');
      // Rows are appended and looked up at most once per request: a small page cache is enough (the
      // driver's default is 16 MB per connection, and a run keeps four open).
      db.pragma('cache_size = -2000');
      // One transaction for the schema: a new file is created with one commit, not five.
      db.exec(`
        BEGIN;
        CREATE TABLE IF NOT EXISTS Settings (key TEXT NOT NULL UNIQUE, value);
        CREATE TABLE IF NOT EXISTS Cache (
          rowid INTEGER PRIMARY KEY, key BLOB, raw INTEGER, store_time REAL, expire_time REAL,
          access_time REAL, access_count INTEGER DEFAULT 0, tag BLOB, size INTEGER DEFAULT 0,
          mode INTEGER DEFAULT 0, filename TEXT, value BLOB);
        CREATE UNIQUE INDEX IF NOT EXISTS Cache_key_raw ON Cache(key, raw);
        CREATE INDEX IF NOT EXISTS Cache_expire_time ON Cache (expire_time);
        CREATE INDEX IF NOT EXISTS Cache_store_time ON Cache (store_time);
        COMMIT;
      `);
      const present = new Set<number>();
      for (const k of db.prepare('SELECT key FROM Cache WHERE raw = 1').pluck().iterate()) {
        present.add(keyFingerprint(Buffer.isBuffer(k) ? k.toString('utf8') : String(k)));
      }
      return { db, present };
    } catch (e) {
      db.close();
      throw e;
    }
  }

  getBuffer(key: string): Buffer | undefined {
    const queued = this.queued.get(key);
    if (queued) return queued.buf;
    if (!this.present.has(keyFingerprint(key))) return undefined;
    const value = this.getStmt.get(key) as Buffer | string | undefined;
    if (value === undefined || value === null) return undefined;
    return Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
  }

  /** Remove a row (e.g. one that cannot be read); it is simply absent afterwards. */
  delete(key: string): void {
    this.queued.delete(key);
    if (!this.db.open) return;
    try {
      this.deleteStmt.run(key);
    } catch {
      /* a row that cannot be deleted is at worst read (and dropped) again */
    }
  }

  getJson(key: string): unknown {
    const b = this.getBuffer(key);
    return b === undefined ? undefined : (JSON.parse(b.toString('utf8')) as unknown);
  }

  has(key: string): boolean {
    if (this.queued.has(key)) return true;
    return this.present.has(keyFingerprint(key)) && this.getStmt.get(key) !== undefined;
  }

  put(key: string, value: Buffer | string, mode: number): void {
    const buf = Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
    this.queued.delete(key); // keep insertion order = latest write order
    this.present.add(keyFingerprint(key));
    this.queued.set(key, { buf, mode });
    if (this.queued.size >= this.batchRows) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flushQuietly(), this.flushMs).unref();
  }

  /** Write the queued rows (write-behind) in one transaction. */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.queued.size === 0 || !this.db.open) return;
    const rows = this.queued;
    this.queued = new Map();
    try {
      this.writeRows(rows);
    } catch (e) {
      // Keep the rows (newer puts win) for the next flush.
      for (const [k, v] of this.queued) rows.set(k, v);
      this.queued = rows;
      throw e;
    }
  }

  private flushQuietly(): void {
    try {
      this.flush();
    } catch {
      // A busy or failing database: the rows stay queued and the next flush (at the latest close) retries.
    }
  }

  putJson(key: string, value: unknown): void {
    this.put(key, JSON.stringify(value), MODE_JSON);
  }

  count(): number {
    this.flush();
    return (this.countStmt.get() as { n: number }).n;
  }

  keys(): string[] {
    this.flush();
    return (
      this.db.prepare('SELECT key FROM Cache WHERE raw = 1 ORDER BY rowid').all() as {
        key: Buffer | string;
      }[]
    ).map((r) => (Buffer.isBuffer(r.key) ? r.key.toString('utf8') : String(r.key)));
  }

  close(): void {
    this.flush();
    if (this.db.open) this.db.close();
  }
}
