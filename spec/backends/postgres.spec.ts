/**
 * The conformance suite on PostgreSQL (skipped with a reason when no server answers), and
 * what is PostgreSQL's own in text search: the upgrade of a database whose search columns an
 * earlier version made, and the `unaccent` extension that folding accents needs.
 */
import { expect } from 'chai';
import pg from 'pg';
import { type Connection, OperationError, connect, query, schema } from '../../lib';
import { runConformance } from '../conformance';
import { POSTGRES_URL, connectPostgres, otherPostgres, skipWithoutPostgres, truncateAll } from '../support/postgres';

describe('postgres backend', function () {
  before(skipWithoutPostgres);

  runConformance({
    name: 'postgres',
    connect: () => connectPostgres(),
    reset: truncateAll,
    otherDatabase: () => otherPostgres('second'),
  });
});

/** A statement on the connection's database, through the backend's own pool. */
const run = (conn: Connection, sql: string): Promise<Record<string, unknown>[]> =>
  (conn as unknown as { query(what: string, text: string): Promise<Record<string, unknown>[]> }).query('test', sql);

/** Statements (several at once) on the test database, on a client of their own; the last result's rows. */
async function runScript(sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    const results = [await client.query(sql)].flat();
    return results[results.length - 1].rows;
  } finally {
    await client.end();
  }
}

/** The search column of an earlier version: the text as it is, no accents folded. */
const EARLIER_SEARCH_COLUMNS = ['assets:data', 'metadata:metadata']
  .map((pair) => pair.split(':'))
  .map(([table, column]) => `ALTER TABLE ${table} DROP COLUMN search;
    ALTER TABLE ${table} ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('english', chainstore_search_text(${column}))) STORED;
    CREATE INDEX IF NOT EXISTS ${table}_search ON ${table} USING GIN (search);`)
  .join('\n');

/** What an earlier version's initDatabase ran to upgrade the search columns. */
const EARLIER_UPGRADE = ['assets:data', 'metadata:metadata']
  .map((pair) => pair.split(':'))
  .map(([table, column]) => `DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '${table}'
               AND column_name = 'search' AND generation_expression NOT LIKE '%chainstore_search_text%') THEN
      ALTER TABLE ${table} DROP COLUMN search;
      ALTER TABLE ${table} ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('english', chainstore_search_text(${column}))) STORED;
    END IF;
  END $$;`)
  .join('\n');

const searchExpressions = async (conn: Connection) =>
  (await run(conn, "SELECT table_name, generation_expression FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'search' ORDER BY table_name"))
    .map((row) => `${row.table_name}: ${row.generation_expression}`);

describe('postgres text search schema upgrade', function () {
  let conn: Connection;

  before(skipWithoutPostgres);
  beforeEach(async function () {
    conn = await connectPostgres();
    await truncateAll(conn);
  });
  afterEach(async function () {
    // Whatever a test left, the next suite finds the current schema.
    await schema.initDatabase(conn);
    await conn.close();
  });

  it('rebuilds search columns that do not fold accents, keeping the data, and only once', async function () {
    await runScript(EARLIER_SEARCH_COLUMNS);
    await query.storeAssets(conn, [{ id: 'a'.repeat(64), data: { subject: 'Café Con Leche' } }]);
    await query.storeMetadatas(conn, [{ id: 'b'.repeat(64), metadata: { city: 'Zürich' } }]);
    expect(await run(conn, "SELECT id FROM assets WHERE search @@ to_tsquery('english', 'cafe')"), 'the earlier column').to.deep.equal([]);

    await schema.initDatabase(conn);
    const upgraded = await searchExpressions(conn);
    expect(upgraded).to.deep.equal([
      "assets: to_tsvector('english'::regconfig, chainstore_search_text_folded(data))",
      "metadata: to_tsvector('english'::regconfig, chainstore_search_text_folded(metadata))",
    ]);
    expect((await query.textSearch(conn, 'cafe')).map((hit) => hit.id)).to.deep.equal(['a'.repeat(64)]);
    expect((await query.textSearch(conn, 'zurich', { table: 'metadata' })).map((hit) => hit.id)).to.deep.equal(['b'.repeat(64)]);
    expect(await run(conn, "SELECT indexname FROM pg_indexes WHERE indexname IN ('assets_search', 'metadata_search') ORDER BY 1")).to.have.length(2);

    // Once upgraded, neither this version's initDatabase nor an earlier one's rebuilds it.
    const positions = "SELECT attrelid::regclass::text AS t, attnum FROM pg_attribute WHERE attname = 'search' AND attrelid IN ('assets'::regclass, 'metadata'::regclass) ORDER BY 1";
    const before = await run(conn, positions);
    await schema.initDatabase(conn);
    await runScript(EARLIER_UPGRADE);
    expect(await run(conn, positions)).to.deep.equal(before);
    expect(await searchExpressions(conn)).to.deep.equal(upgraded);
  });

  it('adds a search column that is missing', async function () {
    await runScript('ALTER TABLE metadata DROP COLUMN search');
    await query.storeMetadatas(conn, [{ id: 'd'.repeat(64), metadata: { note: 'Crème brûlée' } }]);
    await schema.initDatabase(conn);
    expect((await query.textSearch(conn, 'creme brulee', { table: 'metadata' })).map((hit) => hit.id)).to.deep.equal(['d'.repeat(64)]);
  });

  it('names the schema of unaccent and its own, so that search_path does not matter', async function () {
    const [fold] = await run(conn, "SELECT prosrc FROM pg_proc WHERE proname = 'chainstore_search_fold'");
    expect(fold.prosrc).to.match(/\bpublic\.unaccent\('public\.unaccent'::regdictionary, t\)/);
    // An empty search_path (as a restore has, computing generated columns) still folds, and
    // what unaccent spells out (`½` is ` 1/2`) is cut like the rest.
    const [row] = await runScript(`SET search_path = ''; SELECT public.chainstore_search_text_folded('{"s": "Cafe\\u0301 Zürich ½"}') AS text`);
    expect(row.text).to.equal('[ Cafe Zurich 1 2 ]');
  });
});

describe('postgres text search without the unaccent extension', function () {
  // A database of its own (named after the test database) and a role that may create tables
  // but not extensions there; both made here, as the test server's superuser, and removed after.
  const url = new URL(POSTGRES_URL);
  const database = `${decodeURIComponent(url.pathname.slice(1)) || 'test'}_noext`;
  const role = `chainstore_noext_${process.pid}`;
  const asRole = (() => {
    const u = new URL(POSTGRES_URL);
    u.username = role;
    u.password = '';
    u.pathname = `/${database}`;
    return u.toString();
  })();
  const onDatabase = async (sql: string) => {
    const u = new URL(POSTGRES_URL);
    u.pathname = `/${database}`;
    const client = new pg.Client({ connectionString: u.toString() });
    await client.connect();
    await client.query(sql).finally(() => client.end());
  };

  before(skipWithoutPostgres);
  before(async function () {
    const [me] = await runScript('SELECT rolsuper FROM pg_roles WHERE rolname = current_user');
    if (!me.rolsuper) {
      console.log('  skipping the no-unaccent spec: the test role is not a superuser (it makes a role and a database)');
      this.skip();
    }
    await runScript(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await runScript(`DROP ROLE IF EXISTS ${role}`);
    await runScript(`CREATE ROLE ${role} LOGIN`);
    await runScript(`CREATE DATABASE "${database}"`);
    await onDatabase(`GRANT CREATE ON SCHEMA public TO ${role}`);
  });
  after(async function () {
    await runScript(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => undefined);
    await runScript(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  });

  it('fails initDatabase with an OperationError saying what to do, and works once the extension is there', async function () {
    const conn = await connect({ backend: 'postgres', url: asRole, maxTries: 1 });
    try {
      const error = await schema.initDatabase(conn).then(
        () => expect.fail('initDatabase succeeded without unaccent'),
        (e: unknown) => e as Error,
      );
      expect(error).to.be.an.instanceOf(OperationError);
      expect(error.message).to.match(/extension unaccent/).and.match(/postgresql-contrib/).and.match(/CREATE EXTENSION unaccent/);
      expect(error.message).to.match(/permission denied to create extension/);

      await onDatabase('CREATE EXTENSION unaccent');
      await schema.initDatabase(conn);
      await query.storeAssets(conn, [{ id: 'c'.repeat(64), data: { subject: 'Café Con Leche' } }]);
      expect((await query.textSearch(conn, 'cafe')).map((hit) => hit.id)).to.deep.equal(['c'.repeat(64)]);
    } finally {
      await conn.close();
    }
  });
});
