import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Keyv, { type KeyvStoreAdapter } from 'keyv';
import KeyvSqlite from '@keyv/sqlite';
import { Collection, type CollectionSchema } from './collection.js';
import { StoreError } from './errors.js';

/**
 * The one place the rest of dreamcord keeps data: named collections of validated JSON records, on SQLite
 * (a file, WAL mode) by default or Redis when the URL says so.
 */
export class Store {
  readonly #makeAdapter: (namespace: string) => Promise<KeyvStoreAdapter>;
  readonly #open = new Map<string, Keyv>();

  private constructor(makeAdapter: (namespace: string) => Promise<KeyvStoreAdapter>) {
    this.#makeAdapter = makeAdapter;
  }

  /**
   * Opens the store at `url`: `sqlite://path/to/file.sqlite` (relative to the working directory; the folder is
   * created) or `redis://host:port[/db]`.
   */
  static async open(url: string): Promise<Store> {
    if (url.startsWith('sqlite://')) {
      const file = url.slice('sqlite://'.length);
      if (file === '') throw new StoreError('Expected `STORE_URL` sqlite://<file>, got an empty file name.');
      if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
      const store = new Store((namespace) => openSqlite(file, namespace));
      const meta = await store.#connect('meta');
      try {
        await checkSqlite(meta.store as KeyvSqlite, file);
      } catch (error) {
        // Not awaited: closing a connection to a damaged file can wait for ever, and the caller must hear now.
        void store.close().catch(() => undefined);
        throw error;
      }
      return store;
    }
    if (url.startsWith('redis://') || url.startsWith('rediss://')) {
      const store = new Store((namespace) => openRedis(url, namespace));
      await store.#connect('meta');
      return store;
    }
    throw new StoreError(`Expected \`STORE_URL\` to start with sqlite:// or redis://, got "${url}".`);
  }

  /** The collection `name` (letters, digits, `-`, `_`), created on first use. */
  async collection<T>(name: string, spec: CollectionSchema<T>): Promise<Collection<T>> {
    if (!/^[a-z][a-z0-9_-]*$/i.test(name)) throw new StoreError(`Invalid collection name "${name}".`);
    const keyv = await this.#connect(name);
    return new Collection<T>(keyv as Keyv<never>, name, spec);
  }

  /** Closes every connection. The store is unusable afterwards. */
  async close(): Promise<void> {
    const open = [...this.#open.values()];
    this.#open.clear();
    // One after another: SQLite checkpoints the WAL into the file when the last connection closes, which
    // connections closing at the same moment can each leave to the other.
    for (const keyv of open) await keyv.disconnect();
  }

  async #connect(namespace: string): Promise<Keyv> {
    const existing = this.#open.get(namespace);
    if (existing) return existing;
    const adapter = await this.#makeAdapter(namespace);
    // keyv hides backend errors by default; a lost job record must never look like an empty one.
    const keyv = new Keyv({ store: adapter, namespace, throwOnErrors: true });
    keyv.on('error', () => undefined); // errors are thrown to the caller; the event would crash the process
    this.#open.set(namespace, keyv);
    return keyv;
  }
}

/** One SQLite connection per namespace (keyv keys iteration off the adapter's namespace), sharing one WAL file. */
async function openSqlite(file: string, namespace: string): Promise<KeyvStoreAdapter> {
  const adapter = new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: 5000 });
  adapter.on('error', () => undefined); // surfaced through the failing query instead
  try {
    // WAL lets readers and the writer work at once and keeps the file consistent after a kill -9. With WAL,
    // `synchronous = NORMAL` syncs at checkpoints rather than at every write: a killed process loses nothing that
    // was written; only a power cut can undo the last writes, and it leaves the file consistent.
    await adapter.query('PRAGMA journal_mode = WAL');
    await adapter.query('PRAGMA synchronous = NORMAL');
  } catch (error) {
    throw new StoreError(`Cannot open the SQLite store at ${file}: ${(error as Error).message}`, { cause: error });
  }
  adapter.namespace = namespace;
  return adapter;
}

/**
 * SQLite's own check of the file (`PRAGMA quick_check`), run at every start: WAL keeps the file consistent after a
 * kill -9, but a full disk or a copied-away half of the file can still damage it, and a damaged store must not
 * start quietly and lose jobs later.
 */
async function checkSqlite(adapter: KeyvSqlite, file: string): Promise<void> {
  let problems: string[];
  try {
    const rows = (await adapter.query('PRAGMA quick_check')) as { quick_check?: unknown }[];
    problems = rows.map((row) => String(row.quick_check)).filter((text) => text !== 'ok');
  } catch (error) {
    problems = [(error as Error).message]; // too damaged to check at all
  }
  if (problems.length > 0) {
    throw new StoreError(
      `The SQLite store at ${file} is damaged (${problems.slice(0, 3).join('; ')}). Restore it from a backup, or move it away to start with an empty store.`,
    );
  }
}

async function openRedis(url: string, namespace: string): Promise<KeyvStoreAdapter> {
  // Imported here, not at the top: the Redis client takes ~0.3 s to import, which a bot on SQLite need not pay at start.
  const { default: KeyvRedis } = await import('@keyv/redis');
  const adapter = new KeyvRedis(url, { namespace, throwOnConnectError: true });
  adapter.on('error', () => undefined);
  try {
    await adapter.getClient();
  } catch (error) {
    throw new StoreError(`Cannot connect to Redis at ${redactUrl(url)}: ${(error as Error).message}`, { cause: error });
  }
  return adapter;
}

/** A Redis URL may carry a password; never print it. */
function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
