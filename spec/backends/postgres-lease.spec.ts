/**
 * The writer lease of the postgres backend (backends/postgres/connection.ts): writing
 * sessions hold it shared, recover() takes it exclusively, so that no statement of a dead
 * process lands after recovery; and the keepalive settings that bound a vanished client's
 * session. The crash spec (spec/reliability/crash.spec.ts) tests the same with hundreds of
 * kills; these are the single behaviours, each on its own.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { ConfigurationError, type Connection, LeaseError, query, recover } from '../../lib';
import { WRITER_LEASE } from '../../backends/postgres/connection';
import { POSTGRES_URL, connectPostgres, skipWithoutPostgres, truncateAll } from '../support/postgres';

const ROOT = join(__dirname, '..', '..');

type Raw = { query<R = Record<string, unknown>>(what: string, text: string, values?: unknown[]): Promise<R[]> };
const raw = (conn: Connection) => conn as unknown as Raw;

/** The sessions of the test database that hold the writer lease, by mode. */
async function leaseHolders(monitor: pg.Client): Promise<{ pid: number; mode: string }[]> {
  const { rows } = await monitor.query<{ pid: number; mode: string }>(
    `SELECT pid, mode FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND classid = $1 AND objid = $2 AND objsubid = 1 AND pid <> pg_backend_pid() ORDER BY pid`,
    [Math.floor(WRITER_LEASE / 2 ** 32), WRITER_LEASE % 2 ** 32],
  );
  return rows;
}

const block = (height: number) => ({ height, app_hash: `hash-${height}`, transactions: [] });

describe('postgres writer lease', function () {
  this.timeout(30_000);
  let monitor: pg.Client;
  const opened: Connection[] = [];
  const open = async (options: Record<string, unknown> = {}) => {
    const conn = await connectPostgres(options);
    opened.push(conn);
    return conn;
  };

  before(skipWithoutPostgres);
  before(async () => {
    monitor = new pg.Client({ connectionString: POSTGRES_URL });
    monitor.on('error', () => undefined);
    await monitor.connect();
  });
  after(async () => {
    await monitor?.end();
  });
  beforeEach(async () => {
    const conn = await open();
    await truncateAll(conn);
    await conn.close();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((conn) => conn.close()));
  });

  it('is held shared by every session that has written, and by none that only read', async () => {
    const conn = await open({ poolSize: 1 });
    await query.getLatestBlock(conn);
    expect(await leaseHolders(monitor), 'after a read').to.deep.equal([]);
    await query.storeBlock(conn, block(1));
    const holders = await leaseHolders(monitor);
    expect(holders.map((h) => h.mode)).to.deep.equal(['ShareLock']);
    // Two processes (two connections) write at once: both hold it.
    const other = await open({ poolSize: 1 });
    await query.storeBlock(other, block(2));
    expect((await leaseHolders(monitor)).map((h) => h.mode)).to.deep.equal(['ShareLock', 'ShareLock']);
  });

  it("does not hold up a recover() by the connection's own pooled sessions", async () => {
    const conn = await open({ leaseTimeout: 2000 });
    await query.storeBlock(conn, block(1));
    await query.storePreCommitState(conn, { height: 1, transactions: [] });
    const started = Date.now();
    expect(await recover(conn)).to.deep.include({ action: 'none', height: 1 });
    expect(Date.now() - started).to.be.below(1500);
    // And the connection writes again afterwards.
    await query.storeBlock(conn, block(2));
  });

  it("makes recover() wait for a killed process's last statement, which lands before recovery starts", async () => {
    await monitor.query('DROP TABLE IF EXISTS lease_late; CREATE TABLE lease_late (at timestamptz)');
    try {
      const conn = await open();
      await query.storeBlock(conn, block(1));
      await query.storePreCommitState(conn, { height: 1, transactions: [] });
      await conn.close();
      // A "writer" that holds the lease, sends a slow statement that writes, and is killed.
      const script = `
        const pg = require('pg');
        (async () => {
          const c = new pg.Client({ connectionString: process.env.TARGET });
          await c.connect();
          await c.query('SELECT pg_advisory_lock_shared(${WRITER_LEASE})');
          c.query('SELECT pg_sleep(0.6); INSERT INTO lease_late VALUES (clock_timestamp())').catch(() => undefined);
          setTimeout(() => console.log('sent'), 50);
          setInterval(() => undefined, 1000);
        })();`;
      const child = spawn(process.execPath, ['-e', script], {
        env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules'), TARGET: POSTGRES_URL },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve) => createInterface({ input: child.stdout }).once('line', () => resolve()));
      const closed = new Promise((resolve) => child.once('close', resolve));
      child.kill('SIGKILL');
      await closed;
      // Restarted at once: recover() waits for the dead session, whose statement commits first.
      const restarted = await open();
      const started = Date.now();
      await recover(restarted);
      const waited = Date.now() - started;
      const { rows } = await monitor.query<{ n: number }>('SELECT count(*)::int AS n FROM lease_late');
      expect(rows[0].n, 'the dead process\'s statement landed').to.equal(1);
      expect(waited, 'ms recover() waited').to.be.at.least(300);
    } finally {
      await monitor.query('DROP TABLE IF EXISTS lease_late');
    }
  });

  it('makes recover() fail with LeaseError, naming the sessions, while another process keeps writing', async () => {
    const live = await open();
    await query.storeBlock(live, block(1));
    const conn = await open({ leaseTimeout: 300 });
    const started = Date.now();
    const error = await recover(conn).then(
      () => expect.fail('recover() resolved while another process held the lease'),
      (e: unknown) => e,
    );
    expect(error).to.be.an.instanceOf(LeaseError);
    const lease = error as LeaseError;
    expect(lease.code).to.equal('CHAINSTORE_LEASE');
    expect(lease.holders.map((h) => h.mode)).to.deep.equal(['ShareLock']);
    expect(lease.holders[0].application).to.equal('chainstore');
    expect(lease.message).to.include(`pid ${lease.holders[0].pid}`).and.include('leaseTimeout');
    expect(Date.now() - started).to.be.at.least(300);
    // Once the other process is gone, recovery goes ahead.
    await live.close();
    expect(await recover(conn)).to.deep.include({ action: 'none' });
  });

  it('makes writes of another process wait while a recovery holds it, up to leaseTimeout', async () => {
    const recovering = new pg.Client({ connectionString: POSTGRES_URL });
    await recovering.connect();
    try {
      await recovering.query(`SELECT pg_advisory_lock(${WRITER_LEASE})`);
      const impatient = await open({ leaseTimeout: 300 });
      const error = await query.storeBlock(impatient, block(1)).then(
        () => expect.fail('a write went ahead during a recovery'),
        (e: unknown) => e,
      );
      expect(error).to.be.an.instanceOf(LeaseError);
      expect((error as LeaseError).holders.map((h) => h.mode)).to.deep.equal(['ExclusiveLock']);
      expect(await query.getBlock(impatient, 1), 'reads go on').to.equal(null);

      const patient = await open();
      const started = Date.now();
      const write = query.storeBlock(patient, block(1));
      setTimeout(() => void recovering.query(`SELECT pg_advisory_unlock(${WRITER_LEASE})`), 300);
      await write;
      expect(Date.now() - started).to.be.at.least(250);
      expect(await query.getBlock(patient, 1)).to.deep.include({ height: 1 });
    } finally {
      await recovering.end();
    }
  });

  it('sets keepalives on every session so that a vanished client host is noticed within deadSessionTimeout', async () => {
    const settings = async (conn: Connection) =>
      (
        await raw(conn).query<{ idle: string; interval: string; count: string; user: string }>(
          'settings',
          "SELECT current_setting('tcp_keepalives_idle') AS idle, current_setting('tcp_keepalives_interval') AS interval, " +
            "current_setting('tcp_keepalives_count') AS count, current_setting('tcp_user_timeout') AS user",
        )
      )[0];
    expect(await settings(await open())).to.deep.equal({ idle: '5', interval: '1', count: '3', user: '10000' });
    expect(await settings(await open({ deadSessionTimeout: 60_000 }))).to.deep.equal({ idle: '30', interval: '10', count: '3', user: '60000' });
    const serverDefaults = await settings(await open({ deadSessionTimeout: 0 }));
    expect(serverDefaults.user).to.not.equal('10000');
  });

  it('refuses bad lease and keepalive options', async () => {
    for (const bad of [{ leaseTimeout: -1 }, { leaseTimeout: 'soon' }, { deadSessionTimeout: 1000 }, { deadSessionTimeout: 4000.5 }]) {
      const error = await connectPostgres(bad).then(
        (conn) => conn.close().then(() => null),
        (e: unknown) => e,
      );
      expect(error, JSON.stringify(bad)).to.be.an.instanceOf(ConfigurationError);
    }
  });
});
