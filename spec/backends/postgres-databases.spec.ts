/**
 * What `name` means in the schema generics on PostgreSQL: a database on the connection's
 * server. Another one than the connection's own gets its tables on a client connected to
 * it, in one transaction under that database's change-log lock; asking about it, or about
 * one that does not exist, creates nothing; failures are typed and show no password.
 */
import { expect } from 'chai';
import { inspect } from 'node:util';
import pg from 'pg';
import { CHANGE_LOG_LOCK } from '../../backends/postgres/connection';
import { type Connection, BackendError, connect, query, schema } from '../../lib';
import { createTx } from '../conformance/fixtures';
import { POSTGRES_URL, otherPostgres, postgresUrlFor, skipWithoutPostgres, truncateAll } from '../support/postgres';

const PASSWORD = 's3cret-Pw';

describe('postgres schema generics: `name` is a database on the server', function () {
  this.timeout(60_000);
  const other = otherPostgres('names');
  let conn: Connection;

  before(skipWithoutPostgres);

  beforeEach(async function () {
    conn = await connect({ backend: 'postgres', url: POSTGRES_URL });
    await truncateAll(conn);
    await schema.dropDatabase(conn, other.name);
  });

  afterEach(async function () {
    if (!conn) return;
    await schema.dropDatabase(conn, other.name).catch(() => undefined);
    await conn.close();
  });

  it('makes the tables of another database in that database, under its change-log lock', async function () {
    await schema.createDatabase(conn, other.name);
    expect(await schema.isInitialized(conn, other.name), 'created, without tables').to.equal(false);
    // A writer of the other database holds its change-log lock: createTables waits for it.
    const holder = new pg.Client({ connectionString: postgresUrlFor(other.name) });
    await holder.connect();
    let made = false;
    let creating: Promise<void> | undefined;
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1)', [CHANGE_LOG_LOCK]);
      creating = schema.createTables(conn, other.name).then(() => {
        made = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(made, 'made while the lock was held').to.equal(false);
      await holder.query('COMMIT');
      await creating;
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
    expect(await schema.isInitialized(conn, other.name)).to.equal(true);
    const second = await other.connect();
    try {
      const tx = createTx();
      await query.writeTransaction(second, tx);
      expect(await query.getTransaction(second, tx.id)).to.deep.equal(tx);
      expect(await query.getTransaction(conn, tx.id)).to.equal(null);
    } finally {
      await second.close();
    }
  });

  it('says a database that does not exist is not initialised, and creates nothing asking', async function () {
    expect(await schema.isInitialized(conn, other.name)).to.equal(false);
    const probe = new pg.Client({ connectionString: postgresUrlFor('postgres') });
    await probe.connect();
    try {
      const { rows } = await probe.query('SELECT 1 FROM pg_database WHERE datname = $1', [other.name]);
      expect(rows).to.deep.equal([]);
    } finally {
      await probe.end();
    }
  });

  it('fails createTables on a database that does not exist with a chainstore error that shows no password', async function () {
    const url = new URL(POSTGRES_URL);
    url.password = PASSWORD;
    const withPassword = await connect({ backend: 'postgres', url: url.toString(), maxTries: 1 });
    try {
      const error = await schema.createTables(withPassword, other.name).then(
        () => expect.fail('resolved on a database that does not exist'),
        (e: unknown) => e as BackendError,
      );
      expect(error, String(error)).to.be.an.instanceOf(BackendError);
      expect(error.message).to.match(/^\[postgres\] create tables/).and.to.include(other.name);
      expect(`${inspect(error)}\n${error.message}`).not.to.include(PASSWORD);
    } finally {
      await withPassword.close();
    }
  });
});
