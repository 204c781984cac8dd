/**
 * Database, tables, indexes and triggers of the postgres backend. The tables mirror the
 * sqlite backend's (the SQL family's queries run on both), with jsonb for documents and
 * generated tsvector columns with GIN indexes for text search.
 *
 * The change log: statement-level triggers (with transition tables, so a bulk insert costs
 * one extra INSERT ... SELECT, not one per row) append every change to `changes` in the same
 * transaction. They first take a transaction-scoped advisory lock, so sequence numbers are
 * drawn in commit order: when a reader sees event N committed, every event before N is
 * committed too (or rolled back for good), and reading "after the last seq I saw" can
 * neither miss nor repeat an event. A NOTIFY per statement wakes the feeds up; it carries
 * nothing they depend on.
 *
 * All DDL is idempotent (IF NOT EXISTS / OR REPLACE), so creating the tables is additive.
 */
import type { HandlerMap } from '../../lib/dispatch';
import type * as schema from '../../lib/schema';
import { TABLES } from '../../lib/tables';
import { CHANGE_LOG_LOCK, type PostgresConnection } from './connection';
import { pg } from './driver';
import { mapPostgresError } from './errors';

/** The channel the change-log triggers notify. */
export const CHANGES_CHANNEL = 'chainstore_changes';

/** A table's row (as jsonb) as its public record, by table. */
const RECORD_FUNCTION = `
CREATE OR REPLACE FUNCTION chainstore_record(tbl text, r jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE tbl
    WHEN 'transactions' THEN r -> 'body'
    WHEN 'assets' THEN jsonb_build_object('id', r -> 'id', 'data', r -> 'data')
    WHEN 'metadata' THEN jsonb_build_object('id', r -> 'id', 'metadata', r -> 'metadata')
    WHEN 'pre_commit' THEN r - 'id'
    ELSE r
  END
$$;`;

const LOG_FUNCTION = `
CREATE OR REPLACE FUNCTION chainstore_log_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF NOT EXISTS (SELECT 1 FROM old_rows) THEN RETURN NULL; END IF;
    PERFORM pg_advisory_xact_lock(${CHANGE_LOG_LOCK});
    INSERT INTO changes (tbl, op, record) SELECT TG_TABLE_NAME, 2, chainstore_record(TG_TABLE_NAME, to_jsonb(o)) FROM old_rows o;
  ELSE
    IF NOT EXISTS (SELECT 1 FROM new_rows) THEN RETURN NULL; END IF;
    PERFORM pg_advisory_xact_lock(${CHANGE_LOG_LOCK});
    INSERT INTO changes (tbl, op, record)
      SELECT TG_TABLE_NAME, CASE TG_OP WHEN 'INSERT' THEN 1 ELSE 4 END, chainstore_record(TG_TABLE_NAME, to_jsonb(n)) FROM new_rows n;
  END IF;
  PERFORM pg_notify('${CHANGES_CHANNEL}', '');
  RETURN NULL;
END
$$;`;

/** The block index: which blocks list a transaction. */
const BLOCK_INDEX_FUNCTION = `
CREATE OR REPLACE FUNCTION chainstore_index_blocks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM block_transactions b USING old_rows o
      WHERE b.height = o.height AND b.transaction_id IN (SELECT jsonb_array_elements_text(o.transactions));
  ELSE
    INSERT INTO block_transactions (transaction_id, height)
      SELECT t, n.height FROM new_rows n, jsonb_array_elements_text(n.transactions) t ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END
$$;`;

/** `CREATE TRIGGER` has no IF NOT EXISTS before PostgreSQL 14's OR REPLACE: drop, then create. */
function statementTrigger(name: string, table: string, event: 'INSERT' | 'UPDATE' | 'DELETE', fn: string): string {
  const transition = event === 'DELETE' ? 'OLD TABLE AS old_rows' : 'NEW TABLE AS new_rows';
  return `DROP TRIGGER IF EXISTS ${name} ON ${table};
CREATE TRIGGER ${name} AFTER ${event} ON ${table} REFERENCING ${transition} FOR EACH STATEMENT EXECUTE FUNCTION ${fn}();`;
}

const changeLogTriggers = (table: string) =>
  (['INSERT', 'UPDATE', 'DELETE'] as const).map((event) => statementTrigger(`${table}_log_${event.toLowerCase()}`, table, event, 'chainstore_log_changes')).join('\n');

/**
 * The text a document is searched by: its string values, at most 256 KiB of them (a tsvector
 * holds at most 1 MiB), with `@`, `/`, `\` and `"` turned into spaces: PostgreSQL's parser
 * recurses on long runs of address-like text (`@p0@p0...`) until its stack runs out, and a
 * document must never fail to store because of what it says. Earlier versions indexed this
 * text as it is; it stays for their columns until `initDatabase` rebuilds them.
 */
const SEARCH_TEXT_FUNCTION = `
CREATE OR REPLACE FUNCTION chainstore_search_text(doc jsonb) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT regexp_replace(left(jsonb_path_query_array(COALESCE(doc, 'null'::jsonb), 'strict $.** ? (@.type() == "string")')::text, 262144), '[@/\\\\"]', ' ', 'g')
$$;`;

/** Combining diacritical marks (the block, its supplement, its extension, and for symbols). */
const COMBINING_MARKS = '[\\u0300-\\u036f\\u1ab0-\\u1aff\\u1dc0-\\u1dff\\u20d0-\\u20ff\\ufe20-\\ufe2f]';

/**
 * Accent folding (SQLite's index folds Latin accents with `remove_diacritics 2`, MongoDB's
 * text index is diacritic-insensitive; unaccent folds a little more than SQLite, `ł`, `ø` and
 * Greek accents too): `chainstore_search_fold(text)` removes accents with the contrib
 * extension `unaccent` (which also spells out ligatures, `ß`, `æ`, ...), then the combining
 * marks its rules do not list (so that `сы́рники`, with U+0301 after the `ы`, is `сырники`
 * whatever the server's rules), then cuts the parser-hostile characters as
 * chainstore_search_text does (unaccent writes `½` as `1/2` and `“` as `"`). Queries pass
 * through it; `chainstore_search_text_folded(doc)` is the indexed text. (Decomposing to NFD
 * first would also fold the few accented letters unaccent keeps, such as `й`, but on
 * PostgreSQL 15 normalizing to NFD and back cost more than to_tsvector itself.)
 *
 * Generated columns need IMMUTABLE functions and unaccent() is only STABLE (it finds its
 * dictionary by name, through search_path): the wrapper names the dictionary and the schema
 * the extension is in (looked up here), and the document function names its own schema, so
 * that neither depends on search_path (a restore computes generated columns with an empty one).
 * Where the extension cannot be created, neither are the tables: the error says what to do.
 * What these functions compute must not change under the same name: the upgrade check below
 * recognises the indexed text by the name of the function in the column's expression.
 */
const SEARCH_FOLD_FUNCTIONS = `
DO $do$
DECLARE
  unaccent_schema text := (SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'unaccent');
  unaccented text;
BEGIN
  IF unaccent_schema IS NULL THEN
    BEGIN
      CREATE EXTENSION unaccent;
    EXCEPTION WHEN OTHERS THEN
      RAISE EXCEPTION 'text search needs the PostgreSQL extension unaccent, which could not be created (%): '
        'install the server''s contrib modules (e.g. the postgresql-contrib package) if they are missing, then run '
        '"CREATE EXTENSION unaccent" in this database as a superuser, or grant this role CREATE on the database', SQLERRM
        USING ERRCODE = SQLSTATE;
    END;
    unaccent_schema := (SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'unaccent');
  END IF;
  unaccented := format('%s.unaccent(%L::regdictionary, t)', unaccent_schema, unaccent_schema || '.unaccent');
  EXECUTE format($f$
    CREATE OR REPLACE FUNCTION chainstore_search_fold(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $b$
      SELECT regexp_replace(regexp_replace(%s, %L, '', 'g'), '[@/\\\\"]', ' ', 'g')
    $b$$f$, unaccented, '${COMBINING_MARKS}');
  EXECUTE format($f$
    CREATE OR REPLACE FUNCTION chainstore_search_text_folded(doc jsonb) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $b$
      SELECT left(%1$I.chainstore_search_fold(%1$I.chainstore_search_text(doc)), 262144)
    $b$$f$, current_schema());
END $do$;`;

/** Text search over the string values of a document, accents folded, English stemming. */
const SEARCH_EXPRESSION = (column: string) => `to_tsvector('english', chainstore_search_text_folded(${column}))`;
const searchColumn = (column: string) => `search tsvector GENERATED ALWAYS AS (${SEARCH_EXPRESSION(column)}) STORED`;

/**
 * Databases made by an earlier version index search text differently (as it is, without
 * folding accents, `chainstore_search_text(...)`, or before that the raw document): their
 * derived column is rebuilt, which rewrites the table (nothing else is touched; the column
 * holds no data of its own), and a missing one is added. The new expression still names
 * chainstore_search_text, so the same check in an earlier version leaves it alone.
 */
const upgradeSearchColumn = (table: string, column: string) => `
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '${table}'
                 AND column_name = 'search' AND generation_expression LIKE '%chainstore_search_text_folded(%') THEN
    ALTER TABLE ${table} DROP COLUMN IF EXISTS search;
    ALTER TABLE ${table} ADD COLUMN ${searchColumn(column)};
  END IF;
END $$;`;

/** The whole schema; every statement is idempotent. */
export const SCHEMA = `
${SEARCH_TEXT_FUNCTION}
${SEARCH_FOLD_FUNCTIONS}

CREATE TABLE IF NOT EXISTS changes (seq BIGSERIAL PRIMARY KEY, tbl TEXT NOT NULL, op SMALLINT NOT NULL, record JSONB NOT NULL);
-- The log's random identity (see ../sql/changefeed.ts), made with the log; createTables holds
-- the change-log lock, so two processes initialising at once cannot both add one.
CREATE TABLE IF NOT EXISTS change_log_identity (id TEXT NOT NULL);
INSERT INTO change_log_identity (id)
  SELECT md5(random()::text || clock_timestamp()::text) WHERE NOT EXISTS (SELECT 1 FROM change_log_identity);

CREATE TABLE IF NOT EXISTS transactions (
  seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, operation TEXT NOT NULL, asset_id TEXT NOT NULL, body JSONB NOT NULL);
CREATE INDEX IF NOT EXISTS transactions_asset ON transactions (asset_id, operation, seq);

CREATE TABLE IF NOT EXISTS outputs (
  public_key TEXT NOT NULL, transaction_id TEXT NOT NULL, output_index INTEGER NOT NULL, sole BOOLEAN NOT NULL,
  PRIMARY KEY (public_key, transaction_id, output_index));

CREATE TABLE IF NOT EXISTS spends (
  fulfills_txid TEXT NOT NULL, fulfills_index INTEGER NOT NULL, transaction_id TEXT NOT NULL,
  PRIMARY KEY (fulfills_txid, fulfills_index, transaction_id));

CREATE TABLE IF NOT EXISTS assets (seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, data JSONB, ${searchColumn('data')});
${upgradeSearchColumn('assets', 'data')}
CREATE INDEX IF NOT EXISTS assets_search ON assets USING GIN (search);
CREATE TABLE IF NOT EXISTS metadata (seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, metadata JSONB, ${searchColumn('metadata')});
${upgradeSearchColumn('metadata', 'metadata')}
CREATE INDEX IF NOT EXISTS metadata_search ON metadata USING GIN (search);

CREATE TABLE IF NOT EXISTS blocks (height BIGINT PRIMARY KEY, app_hash TEXT NOT NULL, transactions JSONB NOT NULL);
CREATE TABLE IF NOT EXISTS block_transactions (transaction_id TEXT NOT NULL, height BIGINT NOT NULL, PRIMARY KEY (transaction_id, height));

CREATE TABLE IF NOT EXISTS utxos (
  transaction_id TEXT NOT NULL, output_index INTEGER NOT NULL, amount TEXT NOT NULL, asset_id TEXT NOT NULL,
  condition_uri TEXT NOT NULL, PRIMARY KEY (transaction_id, output_index));
CREATE INDEX IF NOT EXISTS utxos_asset ON utxos (asset_id);

CREATE TABLE IF NOT EXISTS pre_commit (id INTEGER PRIMARY KEY CHECK (id = 1), height BIGINT NOT NULL, transactions JSONB NOT NULL);
CREATE TABLE IF NOT EXISTS validators (height BIGINT PRIMARY KEY, validators JSONB NOT NULL);
CREATE TABLE IF NOT EXISTS elections (
  election_id TEXT NOT NULL, height BIGINT NOT NULL, is_concluded BOOLEAN NOT NULL, PRIMARY KEY (election_id, height));
CREATE INDEX IF NOT EXISTS elections_height ON elections (height);
CREATE TABLE IF NOT EXISTS abci_chains (height BIGINT PRIMARY KEY, chain_id TEXT NOT NULL, is_synced BOOLEAN NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS abci_chains_chain_id ON abci_chains (chain_id);

${RECORD_FUNCTION}
${LOG_FUNCTION}
${BLOCK_INDEX_FUNCTION}
${statementTrigger('blocks_index_insert', 'blocks', 'INSERT', 'chainstore_index_blocks')}
${statementTrigger('blocks_index_delete', 'blocks', 'DELETE', 'chainstore_index_blocks')}
${TABLES.map(changeLogTriggers).join('\n')}
`;

/** SQLSTATE of "database does not exist". */
const INVALID_CATALOG_NAME = '3D000';

/** An identifier, quoted for SQL (database names come from configuration). */
const identifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Runs `work` on a client of its own connected to `database`, through the connection's
 * retries and error mapping (a refused statement is mapped at once, never shown raw).
 */
async function onDatabase<T>(conn: PostgresConnection, database: string, what: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  return conn.attempt(what, async () => {
    const client = new pg.Client(conn.clientConfig(database));
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  });
}

/** Runs `sql` on the maintenance database (CREATE/DROP DATABASE cannot run inside the target). */
async function onMaintenanceDatabase(conn: PostgresConnection, what: string, sql: string, values: unknown[] = []) {
  return onDatabase(conn, conn.maintenanceDatabase, what, async (client) => (await client.query(sql, values)).rows);
}

/** The tables, made in one transaction under the change-log lock: two processes initialising at once queue. */
async function createTablesIn(client: pg.Client): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [CHANGE_LOG_LOCK]);
    await client.query(SCHEMA);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

const INSPECT_SCHEMA = "SELECT to_regclass('transactions') IS NOT NULL AS present";

/** True when a mapped error says the database does not exist. */
const noSuchDatabase = (error: unknown) => (error as { cause?: { code?: string } }).cause?.code === INVALID_CATALOG_NAME;

/**
 * The schema handlers of the postgres backend, registered by its index. `name` is a database
 * on the connection's server; another one than the connection's own is reached on a client
 * of its own, with the connection's settings.
 */
export const schemaHandlers: HandlerMap<typeof schema, typeof PostgresConnection> = {
  async createDatabase(conn, name = conn.config.name) {
    const [exists] = await onMaintenanceDatabase(conn, 'create database', 'SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists) return;
    try {
      await onMaintenanceDatabase(conn, 'create database', `CREATE DATABASE ${identifier(name)}`);
    } catch (error) {
      // Another process created it between the check and the create: that is what we wanted.
      if (!/already exists|duplicate key/i.test(String((error as Error).message))) throw error;
    }
  },

  async createTables(conn, name = conn.config.name) {
    if (name !== conn.config.name) return onDatabase(conn, name, 'create tables', createTablesIn);
    // One transaction, under the change-log lock (conn.transaction takes it).
    await conn.transaction('create tables', (client) => client.query(SCHEMA).catch((e) => Promise.reject(mapPostgresError(e, 'create tables'))));
  },

  async dropDatabase(conn, name = conn.config.name) {
    // Our own pool first, then every other session (FORCE), then the database.
    if (name === conn.config.name) await conn.endPool();
    await onMaintenanceDatabase(conn, 'drop database', `DROP DATABASE IF EXISTS ${identifier(name)} WITH (FORCE)`);
  },

  async isInitialized(conn, name = conn.config.name) {
    try {
      const [table] =
        name === conn.config.name
          ? await conn.query('inspect schema', INSPECT_SCHEMA)
          : await onDatabase(conn, name, 'inspect schema', async (client) => (await client.query(INSPECT_SCHEMA)).rows);
      return Boolean(table?.present);
    } catch (error) {
      // No database at all is the plainest case of "not initialised".
      if (noSuchDatabase(error)) return false;
      throw error;
    }
  },
};
