/**
 * The backend as a whole: its name, that it implements every generic, what it declares it
 * can do, the admin operations, and the schema lifecycle (init, drop, counts; another
 * database made and dropped through the connection, by name).
 */
import { expect } from './expect';
import { BackendError, type Capabilities, ChainstoreError, type Connection, TABLES, UnsupportedOperationError, admin, capabilities, coverage, query, schema } from '../../lib';
import { rejection } from './assertions';
import { type ConformanceContext, requireOtherDatabase, skipBecause } from './context';
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
      for (const key of ['atomicCommit', 'atomicBulkWrite', 'changefeed', 'crossProcessChangefeed', 'textSearch', 'linguisticSearch'] as const) {
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

    it("initDatabase(conn, name) makes another database and dropDatabase(conn, name) drops it; the connection's own keeps every record", async function () {
      // Creating a server database and its tables takes a while on some engines.
      this.timeout(120_000);
      const other = requireOtherDatabase(this, ctx);
      const own = createTx({ metadata: { database: 'own' } });
      await query.writeTransaction(ctx.conn, own);
      await query.storeBlock(ctx.conn, block(1, [own]));
      const theirs = createTx({ metadata: { database: 'other' } });
      try {
        // Left by an earlier run that failed half way, maybe.
        await schema.dropDatabase(ctx.conn, other.name);
        expect(await schema.isInitialized(ctx.conn, other.name), 'before initDatabase').to.equal(false);
        await schema.initDatabase(ctx.conn, other.name);
        expect(await schema.isInitialized(ctx.conn, other.name), 'after initDatabase').to.equal(true);
        const second = await other.connect();
        try {
          await query.writeTransaction(second, theirs);
          await query.storeBlock(second, block(7, [theirs]));
          expect(await query.getTransaction(second, theirs.id)).to.deep.equal(theirs);
          expect(await query.getLatestBlock(second)).to.deep.equal(block(7, [theirs]));
          expect(await query.getTransaction(second, own.id), 'the other database is another one').to.equal(null);
        } finally {
          await second.close();
        }
        expect(await query.getTransaction(ctx.conn, theirs.id), "nothing was written to the connection's own").to.equal(null);
        await schema.dropDatabase(ctx.conn, other.name);
        expect(await schema.isInitialized(ctx.conn, other.name), 'after dropDatabase').to.equal(false);
      } finally {
        await schema.dropDatabase(ctx.conn, other.name).catch(() => undefined);
      }
      expect(await schema.isInitialized(ctx.conn), "the connection's own").to.equal(true);
      expect(await query.getTransaction(ctx.conn, own.id)).to.deep.equal(own);
      expect(await query.getLatestBlock(ctx.conn)).to.deep.equal(block(1, [own]));
      const counts = await admin.countRecords(ctx.conn);
      expect([counts.transactions, counts.assets, counts.metadata, counts.blocks]).to.deep.equal([1, 1, 1, 1]);
    });
  });
}
