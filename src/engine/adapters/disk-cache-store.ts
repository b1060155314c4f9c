/**
 * A key/value store in python-diskcache's SQLite layout (engine-spec 6.6): `<dir>/cache.db` with the
 * `Settings` and `Cache` tables, string keys stored with raw=1, values as BLOBs with mode 1 (raw bytes)
 * or 2 (JSON text). Upstream's modified diskcache reads these rows without pickle.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

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

export class DiskCacheStore {
  private readonly db: Database.Database;
  private readonly getStmt: Database.Statement;
  private readonly putStmt: Database.Statement;
  private readonly countStmt: Database.Statement;
  private readonly bumpCount: Database.Statement;
  private readonly bumpSize: Database.Statement;
  private readonly putTx: (key: string, buf: Buffer, mode: number, isNew: boolean) => void;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.db = new Database(join(dir, 'cache.db'), { timeout: 60_000 });
    this.db.pragma('journal_mode = wal');
    this.db.pragma('synchronous = 1');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS Settings (key TEXT NOT NULL UNIQUE, value);
      CREATE TABLE IF NOT EXISTS Cache (
        rowid INTEGER PRIMARY KEY, key BLOB, raw INTEGER, store_time REAL, expire_time REAL,
        access_time REAL, access_count INTEGER DEFAULT 0, tag BLOB, size INTEGER DEFAULT 0,
        mode INTEGER DEFAULT 0, filename TEXT, value BLOB);
      CREATE UNIQUE INDEX IF NOT EXISTS Cache_key_raw ON Cache(key, raw);
      CREATE INDEX IF NOT EXISTS Cache_expire_time ON Cache (expire_time);
      CREATE INDEX IF NOT EXISTS Cache_store_time ON Cache (store_time);
    `);
    const ins = this.db.prepare('INSERT OR IGNORE INTO Settings (key, value) VALUES (?, ?)');
    for (const [k, v] of [...SETTINGS, ['count', 0], ['size', 0], ['hits', 0], ['misses', 0]] as [
      string,
      number | string,
    ][]) {
      ins.run(k, v);
    }
    this.getStmt = this.db.prepare('SELECT value, mode FROM Cache WHERE key = ? AND raw = 1');
    this.putStmt = this.db.prepare(
      `INSERT INTO Cache (key, raw, store_time, expire_time, access_time, access_count, tag, size, mode, filename, value)
       VALUES (?, 1, ?, NULL, ?, 0, NULL, ?, ?, NULL, ?)
       ON CONFLICT(key, raw) DO UPDATE SET store_time = excluded.store_time, access_time = excluded.access_time,
         size = excluded.size, mode = excluded.mode, value = excluded.value`,
    );
    this.countStmt = this.db.prepare('SELECT COUNT(*) AS n FROM Cache');
    this.bumpCount = this.db.prepare("UPDATE Settings SET value = value + 1 WHERE key = 'count'");
    this.bumpSize = this.db.prepare("UPDATE Settings SET value = value + ? WHERE key = 'size'");
    this.putTx = this.db.transaction((key: string, buf: Buffer, mode: number, isNew: boolean) => {
      const now = Date.now() / 1000;
      this.putStmt.run(key, now, now, buf.length, mode, buf);
      if (isNew) this.bumpCount.run();
      this.bumpSize.run(buf.length);
    });
  }

  getBuffer(key: string): Buffer | undefined {
    const row = this.getStmt.get(key) as { value: Buffer | string } | undefined;
    if (!row) return undefined;
    return Buffer.isBuffer(row.value) ? row.value : Buffer.from(String(row.value), 'utf8');
  }

  getJson(key: string): unknown {
    const b = this.getBuffer(key);
    return b === undefined ? undefined : (JSON.parse(b.toString('utf8')) as unknown);
  }

  has(key: string): boolean {
    return this.getStmt.get(key) !== undefined;
  }

  put(key: string, value: Buffer | string, mode: number): void {
    const buf = Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
    this.putTx(key, buf, mode, !this.has(key));
  }

  putJson(key: string, value: unknown): void {
    this.put(key, JSON.stringify(value), MODE_JSON);
  }

  count(): number {
    return (this.countStmt.get() as { n: number }).n;
  }

  keys(): string[] {
    return (
      this.db.prepare('SELECT key FROM Cache WHERE raw = 1 ORDER BY rowid').all() as {
        key: Buffer | string;
      }[]
    ).map((r) => (Buffer.isBuffer(r.key) ? r.key.toString('utf8') : String(r.key)));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
