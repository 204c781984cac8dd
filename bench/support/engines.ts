/**
 * Fresh, empty databases for each measurement: the layer's connection and the hand-written
 * baseline, on SQLite (a file in a temporary folder) and PostgreSQL (a database of its own,
 * created and dropped here, so a benchmark never touches anyone's data; or one database
 * given to the benchmarks, emptied before each use: CHAINSTORE_BENCH_POSTGRES_IN_PLACE).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Connection, connect, schema } from '../../lib';
import { HandWrittenPostgres } from '../handwritten/postgres';
import { HandWrittenSqlite } from '../handwritten/sqlite';

export type EngineName = 'sqlite' | 'postgres';

/** The server the PostgreSQL benchmarks create their databases on. */
export const POSTGRES_SERVER = process.env.CHAINSTORE_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let made = 0;

/** A temporary database: its layer URL/name, and how to remove it. */
interface Scratch {
  location: string;
  remove(): Promise<void>;
}

/**
 * With CHAINSTORE_BENCH_POSTGRES_IN_PLACE=1, the benchmarks use the database
 * CHAINSTORE_BENCH_POSTGRES_URL names, emptied (its public schema dropped and made anew)
 * before each measurement, instead of creating databases of their own: for a server where
 * the benchmarks may use one database and no other.
 */
const IN_PLACE = process.env.CHAINSTORE_BENCH_POSTGRES_IN_PLACE === '1';

async function emptiedPostgres(): Promise<Scratch> {
  const empty = async () => {
    const client = new pg.Client(POSTGRES_SERVER);
    await client.connect();
    try {
      await client.query('DROP SCHEMA IF EXISTS public CASCADE');
      await client.query('CREATE SCHEMA public');
    } finally {
      await client.end();
    }
  };
  await empty();
  return { location: POSTGRES_SERVER, remove: empty };
}

async function scratchPostgres(): Promise<Scratch> {
  if (IN_PLACE) return emptiedPostgres();
  const name = `chainstore_bench_${process.pid}_${made++}`;
  const admin = new pg.Client(POSTGRES_SERVER);
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_SERVER);
  url.pathname = `/${name}`;
  return {
    location: url.toString(),
    async remove() {
      const client = new pg.Client(POSTGRES_SERVER);
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => client.end());
    },
  };
}

function scratchSqlite(): Scratch {
  const dir = mkdtempSync(join(tmpdir(), 'chainstore-bench-'));
  return {
    location: join(dir, 'bench.db'),
    async remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh, empty database of `engine` (a SQLite file path or a PostgreSQL URL), and how to remove it. */
export const scratch = (engine: EngineName): Promise<Scratch> => (engine === 'sqlite' ? Promise.resolve(scratchSqlite()) : scratchPostgres());

/** The layer on a fresh database of `engine`, initialised. */
export async function openLayer(engine: EngineName): Promise<{ conn: Connection; close(): Promise<void> }> {
  const db = await scratch(engine);
  const conn = await connect(engine === 'sqlite' ? { backend: 'sqlite', name: db.location } : { backend: 'postgres', url: db.location }, {});
  await schema.initDatabase(conn);
  return {
    conn,
    async close() {
      await conn.close();
      await db.remove();
    },
  };
}

/** A hand-written baseline on a fresh database of `engine`. */
export interface Baseline {
  writeTransactions(txs: readonly import('../../lib').Transaction[]): unknown;
  getTransaction(id: string): unknown;
  close(): Promise<void>;
}

export async function openBaseline(engine: EngineName): Promise<Baseline> {
  const db = await scratch(engine);
  if (engine === 'sqlite') {
    const store = new HandWrittenSqlite(db.location);
    return {
      writeTransactions: (txs) => store.writeTransactions(txs),
      getTransaction: (id) => store.getTransaction(id),
      async close() {
        store.close();
        await db.remove();
      },
    };
  }
  const store = await HandWrittenPostgres.open(db.location);
  return {
    writeTransactions: (txs) => store.writeTransactions(txs),
    getTransaction: (id) => store.getTransaction(id),
    async close() {
      await store.close();
      await db.remove();
    },
  };
}

/** Whether a PostgreSQL server answers at POSTGRES_SERVER. */
export async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_SERVER, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}
