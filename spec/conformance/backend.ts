/**
 * The backend as a whole: its name, that it implements every generic, what it declares it
 * can do, the admin operations, and the schema lifecycle (init, drop, counts).
 */
import { expect } from 'chai';
import { BackendError, type Capabilities, ChainstoreError, type Connection, TABLES, UnsupportedOperationError, admin, capabilities, coverage, query, schema } from '../../lib';
import { rejection } from './assertions';
import { type ConformanceContext, skipBecause } from './context';
import { block, createTx } from './fixtures';

type AdminOperation = keyof Capabilities['admin'];

/** A harmless call of each admin operation: dry runs where there is one. */
const ADMIN_CALLS: Record<AdminOperation, (conn: Connection) => Promise<unknown>> = {
  getConfig: (conn) => admin.getConfig(conn),
  reconfigure: (conn) => admin.reconfigure(conn, { shards: 1, replicas: 1, dryRun: true }),
  setShards: (conn) => admin.setShards(conn, 1, { dryRun: true }),
  setReplicas: (conn) => admin.setReplicas(conn, 1, { dryRun: true }),
  // No dry run exists for membership changes: only their refusal is safe to test.
  addReplicas: (conn) => admin.addReplicas(conn, ['replica.invalid:27017']),
  removeReplicas: (conn) => admin.removeReplicas(conn, ['replica.invalid:27017']),
};
const MUTATES_MEMBERSHIP = new Set<AdminOperation>(['addReplicas', 'removeReplicas']);

export function describeBackend(ctx: ConformanceContext): void {
  describe('backend identity and capabilities', function () {
    it('implements every generic (coverage has no missing handler)', function () {
      const states = coverage(ctx.conn.constructor as typeof Connection);
      const missing = Object.entries(states).filter(([, state]) => state === 'missing').map(([name]) => name);
      expect(missing, 'generics without a handler').to.deep.equal([]);
    });

    it("names itself after the factory: conn.backend and capabilities(conn).backend", function () {
      expect(ctx.conn.backend).to.equal(ctx.factory.name);
      expect(capabilities(ctx.conn).backend).to.equal(ctx.factory.name);
    });

    it('close() is idempotent, and a closed connection rejects operations with a chainstore error', async function () {
      const extra = await ctx.factory.connect();
      await extra.close();
      await extra.close();
      expect(extra.closed).to.equal(true);
      const error = await rejection(() => query.getLatestBlock(extra), ChainstoreError);
      expect(error, 'driver errors never escape raw').to.be.an.instanceOf(BackendError);
      await rejection(() => query.writeTransaction(extra, createTx()), BackendError);
    });

    it('declares every capability as a boolean, synchronously', function () {
      const declared = capabilities(ctx.conn);
      for (const key of ['atomicCommit', 'atomicBulkWrite', 'changefeed', 'crossProcessChangefeed', 'textSearch'] as const) {
        expect(declared[key], key).to.be.a('boolean');
      }
      for (const key of Object.keys(ADMIN_CALLS) as AdminOperation[]) expect(declared.admin[key], `admin.${key}`).to.be.a('boolean');
      expect(declared.notes).to.be.an('array');
    });
  });

  describe('admin', function () {
    for (const operation of Object.keys(ADMIN_CALLS) as AdminOperation[]) {
      it(`${operation}: rejects with UnsupportedOperationError naming the backend, or works, as declared`, async function () {
        const call = ADMIN_CALLS[operation];
        // What the backend itself declares is the contract; the factory may only narrow what is tested.
        if (!capabilities(ctx.conn).admin[operation]) {
          const error = await rejection(() => call(ctx.conn), UnsupportedOperationError);
          expect(error.backend).to.equal(ctx.factory.name);
          expect(error.message).to.include(ctx.factory.name);
          return;
        }
        if (!ctx.capabilities().admin[operation]) skipBecause(this, `the ${ctx.factory.name} factory turns it off`);
        if (MUTATES_MEMBERSHIP.has(operation)) skipBecause(this, 'supported, and it has no dry run to test safely');
        const result = await call(ctx.conn);
        if (operation === 'getConfig') expect(result).to.be.an('object');
      });
    }

    it('countRecords counts the records of every table', async function () {
      const [a, b] = [createTx({ metadata: { n: 1 } }), createTx()];
      await query.writeTransactions(ctx.conn, [a, b]);
      await query.storeBlock(ctx.conn, block(1, [a, b]));
      const counts = await admin.countRecords(ctx.conn);
      expect(Object.keys(counts)).to.have.members([...TABLES]);
      expect(counts.transactions).to.equal(2);
      expect(counts.assets).to.equal(2);
      expect(counts.blocks).to.equal(1);
      expect(counts.utxos).to.equal(0);
    });
  });

  describe('schema', function () {
    it('initDatabase is idempotent and keeps what is stored', async function () {
      const tx = createTx({ metadata: { kept: true } });
      await query.writeTransaction(ctx.conn, tx);
      await query.storeBlock(ctx.conn, block(1, [tx]));
      await schema.initDatabase(ctx.conn);
      await schema.initDatabase(ctx.conn);
      expect(await schema.isInitialized(ctx.conn)).to.equal(true);
      expect(await query.getTransaction(ctx.conn, tx.id)).to.deep.equal(tx);
      expect(await query.getLatestBlock(ctx.conn)).to.deep.equal(block(1, [tx]));
    });

    it('dropDatabase removes everything; initDatabase starts empty again', async function () {
      const tx = createTx();
      await query.writeTransaction(ctx.conn, tx);
      await schema.dropDatabase(ctx.conn, ctx.conn.config.name);
      expect(await schema.isInitialized(ctx.conn)).to.equal(false);
      await schema.initDatabase(ctx.conn);
      expect(await query.getTransaction(ctx.conn, tx.id)).to.equal(null);
      await query.writeTransaction(ctx.conn, tx);
      expect(await query.getTransaction(ctx.conn, tx.id)).to.deep.equal(tx);
    });
  });
}
