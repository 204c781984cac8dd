/**
 * A PostgreSQL server restarted in the middle of a workload (docs/design.md section 7, issue
 * "Reliability" item 3): operations retry per maxTries and then succeed; after recover(), no
 * partial block is visible and every committed block is there.
 *
 * Restarting the server disturbs every other session on it, so this runs only under
 * `npm run test:reliability` (CHAINSTORE_RELIABILITY_RESTART=1), and only against a local
 * cluster this process may restart (`pg_ctlcluster`); otherwise it says why it skips.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { Connection, connect, query, recover, schema } from '../../lib';
import { LedgerModel } from '../support/ledger-model';
import { POSTGRES_URL, postgresUnavailable } from '../support/postgres';

/** The local cluster to restart, or why there is none. */
function localCluster(): { version: string } | string {
  if (!process.env.CHAINSTORE_RELIABILITY_RESTART) return 'set CHAINSTORE_RELIABILITY_RESTART=1 (npm run test:reliability does) to restart the server';
  if (!/@(127\.0\.0\.1|localhost)[:/]/.test(POSTGRES_URL)) return 'the test server is not local';
  if (!existsSync('/etc/postgresql')) return 'no local PostgreSQL cluster to restart';
  const [version] = readdirSync('/etc/postgresql').sort().reverse();
  return version ? { version } : 'no local PostgreSQL cluster to restart';
}

function restartServer(version: string): void {
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart'], { stdio: 'ignore' });
}

/** A database of this spec's own (restarts aside, it must not share tables with other specs). */
const URL = POSTGRES_URL.replace(/\/[^/?]*(\?.*)?$/, `/chainstore_restart_${process.pid}$1`);

describe('reliability: a PostgreSQL server restart in the middle of a workload', function () {
  this.timeout(180_000);
  let version = '';
  let conn: Connection;

  before(async function () {
    const cluster = localCluster();
    const unavailable = await postgresUnavailable();
    if (typeof cluster === 'string' || unavailable) {
      console.log(`  skipping the server restart spec: ${typeof cluster === 'string' ? cluster : `no server (${unavailable})`}`);
      this.skip();
    }
    version = (cluster as { version: string }).version;
    // maxTries 0: keep trying until the server is back (a restart takes seconds).
    conn = await connect({ backend: 'postgres', url: URL, maxTries: 0 });
    await schema.initDatabase(conn);
  });

  after(async function () {
    if (!conn) return;
    await schema.dropDatabase(conn).catch(() => undefined);
    await conn.close();
  });

  for (const variant of ['atomic', 'steps'] as const) {
    it(`commits every block across two restarts (${variant} commitBlock), and recover() finds no partial block`, async () => {
      await schema.dropDatabase(conn);
      await schema.initDatabase(conn);
      const target = variant === 'atomic' ? conn : stepByStep(conn);
      const ledger = new LedgerModel(variant === 'atomic' ? 11 : 12);
      const errors: unknown[] = [];
      let restarts = 0;
      const writer = (async () => {
        for (let i = 0; i < 60; i++) {
          const entry = ledger.nextBlock(4, 3);
          try {
            await query.commitBlock(target, entry.block, entry.txs);
            ledger.commit(entry);
          } catch (error) {
            errors.push(error);
            return;
          }
          if (i === 15 || i === 40) {
            restartServer(version);
            restarts++;
          }
        }
      })();
      await writer;
      if (target !== conn) await target.close();
      expect(errors, 'no error reaches the writer: operations retry until the server is back').to.deep.equal([]);
      expect(restarts).to.equal(2);
      expect((await recover(conn)).action, 'no partial block to roll back').to.equal('none');
      await ledger.check(conn);
    });
  }
});

/** The same connection, committing step by step (the default commitBlock for Connection). */
function stepByStep(conn: Connection): Connection {
  const Base = conn.constructor as new (config: Connection['config']) => Connection;
  class StepByStep extends Base {}
  query.commitBlock.register(StepByStep, query.commitBlock.dispatch(Connection)!);
  return new StepByStep(conn.config);
}
