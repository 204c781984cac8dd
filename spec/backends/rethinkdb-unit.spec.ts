/**
 * The rethinkdb backend without a RethinkDB server: configuration and the driver settings it
 * becomes, lazy connecting and the retry policy (against an unreachable port, and against a
 * peer that speaks only the protocol's handshake and hangs up at the first query), error
 * mapping with the driver's own error class, the table and index definitions, the ReQL each
 * generic sends (compared as wire terms, `r.serialize(term)`), and the text-search matcher.
 *
 * What needs a server (that the queries do what they say, the changefeed) is the conformance
 * run of rethinkdb.spec.ts.
 */
import { sideRecordsOf } from '../../lib/model';
import { inspect } from 'node:util';
import { expect } from 'chai';
import { type RDatum, type RQuery, r } from 'rethinkdb-ts';
import { RethinkDBError } from 'rethinkdb-ts/lib/error/error';
import { ErrorType, TermType } from 'rethinkdb-ts/lib/proto/enums';
import { RethinkDBErrorType } from 'rethinkdb-ts';
import {
  BackendError,
  ChangeFeed,
  ConfigurationError,
  ConnectionError,
  OperationError,
  type Transaction,
  UnsupportedOperationError,
  admin,
  capabilities,
  connect,
  coverage,
  query,
  schema,
} from '../../lib';
import { resolveConfig } from '../../lib/config';
import { parseSearch } from '../../lib/search';
import { RethinkConnection } from '../../backends/rethinkdb';
import { configTerm, layoutTerm, reconfigureTerm } from '../../backends/rethinkdb/admin';
import { type ChangeEntry, type Position, comparePositions, entriesAfter, entriesById, liveEntries, logChanges, overlapEntries, pruneEntries, tailRead } from '../../backends/rethinkdb/changelog';
import { assetDoc, electionKey, lastByKey, stamp, transactionDoc, utxoKey } from '../../backends/rethinkdb/documents';
import { indeterminateWrite, isConnectionFailure, mapRethinkError } from '../../backends/rethinkdb/errors';
import { LogReader, SETTLE_MS, isBehind, rawTime } from '../../backends/rethinkdb/logreader';
import { connectOptions, rethinkOptions } from '../../backends/rethinkdb/options';
import { createDatabaseTerm, createIndexTerm, createTableTerm, dropDatabaseTerm, isInitializedTerm } from '../../backends/rethinkdb/schema';
import { type SearchPlan, planFor, searchPlan, textSearchTerm } from '../../backends/rethinkdb/search';
import { STORED_TABLES, TABLE_DEFINITIONS, table } from '../../backends/rethinkdb/tables';
import * as terms from '../../backends/rethinkdb/terms';
import { createTx, freshId, output, publicKey, spend, transferTx } from '../conformance/fixtures';
import { HandshakePeer } from '../support/rethinkdb-peer';

const DB = 'ledger';
const PASSWORD = 's3cret-Pa55';

const config = (options: Record<string, unknown>) => resolveConfig('rethinkdb', options, {}, { host: 'localhost', port: 28015, name: 'chainstore' });

/** Compares what two terms would send. */
function expectTerm(actual: RQuery, expected: RQuery): void {
  expect(JSON.parse(r.serialize(actual))).to.deep.equal(JSON.parse(r.serialize(expected)));
}

/** A writer with a counter of its own, as a connection has. */
function writer(id = 'w0') {
  let n = 0;
  return { id, next: () => ++n };
}

type Wire = unknown;

/** Every function's variables are new in its scope, and every variable used is bound. */
function checkScopes(term: Wire, bound: ReadonlySet<number> = new Set()): void {
  if (!Array.isArray(term)) {
    if (term !== null && typeof term === 'object') for (const value of Object.values(term)) checkScopes(value, bound);
    return;
  }
  const [type, args, optargs] = term as [number, Wire[] | undefined, Record<string, Wire> | undefined];
  expect(type, 'no implicit variable (r.row) anywhere').to.not.equal(TermType.IMPLICIT_VAR);
  if (type === TermType.FUNC) {
    const params = (args![0] as [number, number[]])[1];
    for (const param of params) expect(bound.has(param), `variable ${param} shadows an enclosing one`).to.equal(false);
    checkScopes(args![1], new Set([...bound, ...params]));
    return;
  }
  if (type === TermType.VAR) {
    expect(bound.has(args![0] as number), `variable ${String(args![0])} is bound`).to.equal(true);
    return;
  }
  for (const arg of args ?? []) checkScopes(arg, bound);
  for (const value of Object.values(optargs ?? {})) checkScopes(value, bound);
}

/** The terms of `type` anywhere in a wire term (a term is `[type, args?, optargs?]`). */
function find(term: Wire, type: number, found: Wire[][] = []): Wire[][] {
  if (Array.isArray(term) && typeof term[0] === 'number') {
    if (term[0] === type) found.push(term);
    for (const arg of (term[1] as Wire[] | undefined) ?? []) find(arg, type, found);
    for (const value of Object.values((term[2] as Record<string, Wire> | undefined) ?? {})) find(value, type, found);
  } else if (term !== null && typeof term === 'object') {
    for (const value of Object.values(term)) find(value, type, found);
  }
  return found;
}

const wire = (term: RQuery): Wire => JSON.parse(r.serialize(term));

/** The table an INSERT or DELETE writes to. */
const target = (write: Wire[]): string => ((write[1] as Wire[])[0] as [number, [unknown, string]])[1][1];

describe('rethinkdb backend without a server', function () {
  describe('configuration', function () {
    it('turns a rethinkdb:// URL into driver settings: server, database, user, timeout in seconds, silent', function () {
      const options = connectOptions(config({ url: `rethinkdb://app:${PASSWORD}@db.internal:28016/ledger`, connectionTimeout: 2500 })) as Record<string, unknown>;
      expect(options.server).to.deep.equal({ host: 'db.internal', port: 28016 });
      expect(options.db).to.equal('ledger');
      expect(options.user).to.equal('app');
      expect(options.timeout).to.equal(2.5);
      expect(options.silent).to.equal(true);
      expect(options).to.not.have.property('host');
      expect(options.password, 'the driver reads the password by name').to.equal(PASSWORD);
    });

    it('never shows the password in a printable form of the driver settings', function () {
      const options = connectOptions(config({ url: `rethinkdb://app:${PASSWORD}@db.internal/ledger` }));
      for (const form of [JSON.stringify(options), inspect(options), inspect(options, { showHidden: true, depth: 5 }), String(Object.keys(options)), JSON.stringify({ ...options })]) {
        expect(form).to.not.include(PASSWORD);
      }
      expect(JSON.stringify(options)).to.include('***');
    });

    it('defaults to localhost:28015, user admin, no password and no TLS', function () {
      const options = connectOptions(config({})) as Record<string, unknown>;
      expect(options.server).to.deep.equal({ host: 'localhost', port: 28015 });
      expect(options.user).to.equal('admin');
      expect(options.password).to.equal('');
      expect(options.db).to.equal('chainstore');
    });

    it('turns ssl into TLS settings of the server', function () {
      expect((connectOptions(config({ ssl: true })) as { server: unknown }).server).to.deep.equal({ host: 'localhost', port: 28015, tls: true });
      const ca = '-----BEGIN CERTIFICATE-----';
      expect((connectOptions(config({ ssl: { ca, rejectUnauthorized: true } })) as { server: unknown }).server).to.deep.equal({
        host: 'localhost',
        port: 28015,
        ca,
        rejectUnauthorized: true,
        tls: true,
      });
    });

    it('resolves the backend options with their defaults, and refuses bad ones with ConfigurationError', async function () {
      expect(rethinkOptions(config({}))).to.deep.equal({
        poolSize: 4,
        pollInterval: 1000,
        feedOverlap: 60_000,
        changeLogRetention: 86_400_000,
        shards: undefined,
        replicas: undefined,
      });
      expect(rethinkOptions(config({ poolSize: 2, shards: 3, replicas: 2 }))).to.include({ poolSize: 2, shards: 3, replicas: 2 });
      for (const bad of [{ poolSize: 0 }, { pollInterval: 'soon' }, { shards: 65 }, { replicas: 1.5 }, { feedOverlap: -1 }]) {
        await expect(connect({ backend: 'rethinkdb', ...bad }), JSON.stringify(bad)).to.be.rejectedWith(ConfigurationError, /\[rethinkdb\] option/);
      }
    });

    it('names its location host:port/db and prints no password', async function () {
      const conn = await connect({ backend: 'rethinkdb', url: `rethinkdb://app:${PASSWORD}@db.internal:28016/ledger` });
      expect(conn).to.be.an.instanceOf(RethinkConnection);
      expect(conn.backend).to.equal('rethinkdb');
      expect(conn.location).to.equal('db.internal:28016/ledger');
      for (const form of [inspect(conn), JSON.stringify(conn), inspect(conn.config), JSON.stringify(conn.config)]) expect(form).to.not.include(PASSWORD);
      await conn.close();
    });
  });

  describe('connecting', function () {
    it('connect() touches no network; the first operation fails with ConnectionError after maxTries, without the password', async function () {
      const conn = await connect({ backend: 'rethinkdb', url: `rethinkdb://admin:${PASSWORD}@127.0.0.1:1/ledger`, maxTries: 2, connectionTimeout: 200 });
      expect(conn.closed).to.equal(false);
      expect(capabilities(conn).backend, 'capabilities need no server').to.equal('rethinkdb');
      const started = Date.now();
      const error = await query.getLatestBlock(conn).then(
        () => expect.fail('resolved'),
        (e: unknown) => e as ConnectionError,
      );
      expect(error).to.be.an.instanceOf(ConnectionError);
      expect(error.message).to.match(/^\[rethinkdb\] get latest block: could not reach 127\.0\.0\.1:1\/ledger after 2 tries: .*ECONNREFUSED/);
      expect(error.message).to.not.include(PASSWORD);
      expect(error.cause).to.be.an.instanceOf(Error);
      expect(Date.now() - started, 'one pause between the two tries').to.be.at.least(90);
      await conn.close();
    });

    it('makes one try with maxTries 1, and every generic rejects (never throws) on an unreachable server', async function () {
      const conn = await connect({ backend: 'rethinkdb', host: '127.0.0.1', port: 1, maxTries: 1, connectionTimeout: 200 });
      await expect(schema.isInitialized(conn)).to.be.rejectedWith(ConnectionError, /after 1 try:/);
      await expect(query.writeTransaction(conn, createTx())).to.be.rejectedWith(ConnectionError);
      await expect(admin.countRecords(conn)).to.be.rejectedWith(ConnectionError);
      await conn.close();
    });

    it('rejects every operation on a closed connection with ConnectionError', async function () {
      const conn = await connect({ backend: 'rethinkdb', host: '127.0.0.1', port: 1, maxTries: 1 });
      await conn.close();
      await conn.close();
      await expect(query.getBlock(conn, 1)).to.be.rejectedWith(ConnectionError, /connection is closed/);
    });

    describe('against a peer that completes the handshake and hangs up at the first query', function () {
      let peer: HandshakePeer;

      beforeEach(async function () {
        peer = await HandshakePeer.start('app', PASSWORD);
      });

      afterEach(async function () {
        await peer.stop();
      });

      const open = (options: Record<string, unknown> = {}) =>
        connect({ backend: 'rethinkdb', url: `rethinkdb://app:${PASSWORD}@127.0.0.1:${peer.port}/${DB}`, connectionTimeout: 2000, ...options });

      it('logs in with the password and sends exactly the term the generic builds', async function () {
        const conn = await open({ maxTries: 1 });
        await expect(query.getBlock(conn, 7)).to.be.rejectedWith(ConnectionError);
        expect(peer.logins, 'the SCRAM proof matched the password').to.equal(1);
        const [sent] = peer.queries;
        expect(sent.message[0], 'a START query').to.equal(1);
        expect(sent.message[1]).to.deep.equal(wire(terms.getRecordTerm(DB, 'blocks', 7)));
        await conn.close();
      });

      it('retries a read on a new connection until maxTries', async function () {
        const conn = await open({ maxTries: 3 });
        const error = await query.getTransaction(conn, freshId()).catch((e: Error) => e);
        expect(error).to.be.an.instanceOf(ConnectionError);
        expect((error as Error).message).to.match(/after 3 tries/);
        expect(peer.queries).to.have.length(3);
        expect(peer.logins).to.equal(3);
        await conn.close();
      });

      it('does not retry a write whose connection was lost after it was sent, and says its outcome is unknown', async function () {
        const conn = await open({ maxTries: 3 });
        const error = await query.storeBlock(conn, { height: 1, app_hash: 'ab', transactions: [] }).catch((e: Error) => e);
        expect(error).to.be.an.instanceOf(ConnectionError);
        expect((error as Error).message).to.match(/^\[rethinkdb\] store block: the connection was lost while the write ran; it may or may not have been applied/);
        expect(peer.queries, 'sent once').to.have.length(1);
        await conn.close();
      });

      it('reports a refused login as ConnectionError at once, without retrying and without the password', async function () {
        const conn = await connect({ backend: 'rethinkdb', url: `rethinkdb://app:wrong-${PASSWORD}@127.0.0.1:${peer.port}/${DB}`, maxTries: 3 });
        const error = await query.getBlock(conn, 1).catch((e: Error) => e);
        expect(error).to.be.an.instanceOf(ConnectionError);
        expect((error as Error).message).to.include('Wrong password');
        expect((error as Error).message).to.not.include(PASSWORD);
        expect(peer.refusals).to.equal(1);
        expect(peer.queries).to.have.length(0);
        await conn.close();
      });
    });
  });

  describe('error mapping', function () {
    it('maps connection-level driver errors to ConnectionError and the rest to OperationError, keeping the cause', function () {
      const lost = new RethinkDBError('The connection was closed before the query could be completed', { type: RethinkDBErrorType.CONNECTION });
      const mappedLost = mapRethinkError(lost, 'get block');
      expect(mappedLost).to.be.an.instanceOf(ConnectionError);
      expect(mappedLost.cause).to.equal(lost);
      expect(isConnectionFailure(lost)).to.equal(true);
      expect(isConnectionFailure(new RethinkDBError('slow', { type: RethinkDBErrorType.TIMEOUT }))).to.equal(true);

      const failed = new RethinkDBError('Cannot perform write: primary replica for shard ["", +inf) not available', { responseErrorType: ErrorType.OP_FAILED });
      const mappedFailed = mapRethinkError(failed, 'store block');
      expect(mappedFailed).to.be.an.instanceOf(OperationError).and.not.an.instanceOf(ConnectionError);
      expect(mappedFailed.message).to.equal('[rethinkdb] store block failed: Cannot perform write: primary replica for shard ["", +inf) not available (ReqlOpFailedError)');
      expect(isConnectionFailure(failed)).to.equal(false);
    });

    it('treats a refused login as a ConnectionError that is not worth retrying', function () {
      const refused = new RethinkDBError('Wrong password', { errorCode: 12 });
      expect(mapRethinkError(refused, 'get block')).to.be.an.instanceOf(ConnectionError);
      expect(isConnectionFailure(refused)).to.equal(false);
    });

    it('maps socket errors, says how to fix a missing database, and passes chainstore errors through', function () {
      const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:28015'), { code: 'ECONNREFUSED' });
      expect(mapRethinkError(refused, 'get block')).to.be.an.instanceOf(ConnectionError);
      const missing = new RethinkDBError('Database `ledger` does not exist.', { responseErrorType: ErrorType.OP_FAILED });
      expect(mapRethinkError(missing, 'get block').message).to.match(/does not exist\. \(ReqlOpFailedError\); run schema\.initDatabase\(conn\)/);
      const own = new UnsupportedOperationError('rethinkdb', 'no');
      expect(mapRethinkError(own, 'x')).to.equal(own);
    });

    it("keeps the driver's printout of the query out of the message", function () {
      const term = table(DB, 'transactions').insert(Array.from({ length: 50 }, () => ({ body: 'x'.repeat(100) })));
      const error = new RethinkDBError('Query size (70MB) over limit (64MB).', { responseErrorType: ErrorType.RESOURCE_LIMIT, term: JSON.parse(r.serialize(term)) });
      expect(error.message.length, 'the driver prints the query').to.be.greaterThan(5000);
      const mapped = mapRethinkError(error, 'write transactions');
      expect(mapped.message).to.equal('[rethinkdb] write transactions failed: Query size (70MB) over limit (64MB). (ReqlResourceError)');
    });

    it('names an interrupted write as of unknown outcome', function () {
      const error = indeterminateWrite('store block', new RethinkDBError('closed', { type: RethinkDBErrorType.CONNECTION }));
      expect(error).to.be.an.instanceOf(ConnectionError).and.an.instanceOf(BackendError);
      expect(error.message).to.match(/may or may not have been applied/);
    });
  });

  describe('registration and capabilities', function () {
    it('implements every generic; commitBlock is the step-by-step protocol of the base Connection', function () {
      const states = coverage(RethinkConnection);
      expect(Object.entries(states).filter(([, state]) => state === 'missing')).to.deep.equal([]);
      expect(states['query.commitBlock']).to.equal('inherited');
      expect(states['query.writeTransactions']).to.equal('own');
      expect(states['changefeed.getChangefeed']).to.equal('own');
    });

    it('declares no atomic writes, cross-process changefeeds, text search, and table reshaping without membership changes', async function () {
      const conn = await connect({ backend: 'rethinkdb', port: 1, maxTries: 1 });
      const declared = capabilities(conn);
      expect(declared).to.include({ backend: 'rethinkdb', atomicCommit: false, atomicBulkWrite: false, changefeed: true, crossProcessChangefeed: true, textSearch: true });
      expect(declared.admin).to.deep.equal({ getConfig: true, reconfigure: true, setShards: true, setReplicas: true, addReplicas: false, removeReplicas: false });
      const refusal = await admin.addReplicas(conn, ['db4.internal:28015']).catch((e: Error) => e);
      expect(refusal).to.be.an.instanceOf(UnsupportedOperationError);
      expect((refusal as Error).message).to.match(/^\[rethinkdb\] addReplicas is not supported: .*--join/);
      await expect(admin.removeReplicas(conn, ['db4.internal:28015'])).to.be.rejectedWith(UnsupportedOperationError, /rethinkdb/);
      await expect(admin.reconfigure(conn, { shards: 1, replicas: { east: 1, west: 1 } })).to.be.rejectedWith(UnsupportedOperationError, /single tag/);
      await conn.close();
    });
  });

  describe('tables and indexes', function () {
    it('makes every uniqueness rule a primary key', function () {
      const keys = Object.fromEntries(STORED_TABLES.map((name) => [name, TABLE_DEFINITIONS[name].primaryKey]));
      expect(keys).to.deep.equal({
        transactions: 'id',
        assets: 'id',
        metadata: 'id',
        blocks: 'height',
        utxos: 'id',
        pre_commit: 'id',
        validators: 'height',
        elections: 'id',
        abci_chains: 'height',
        changes: 'id',
      });
    });

    it('indexes every lookup, multi indexes for owners, sole owners, spends and block transactions', function () {
      const indexes = Object.fromEntries(
        STORED_TABLES.map((name) => [name, TABLE_DEFINITIONS[name].indexes.map((index) => `${index.name}${index.multi ? ' (multi)' : ''}`)]),
      );
      expect(indexes).to.deep.equal({
        transactions: ['asset_seq', 'owners (multi)', 'asset_owner (multi)', 'spends (multi)'],
        assets: [],
        metadata: [],
        blocks: ['transactions (multi)'],
        utxos: ['transaction_id', 'asset_id'],
        pre_commit: [],
        validators: [],
        elections: ['election_height', 'height'],
        abci_chains: [],
        changes: ['position', 'at'],
      });
    });

    it('computes index keys as documented', function () {
      const index = (name: keyof typeof TABLE_DEFINITIONS, indexName: string) => TABLE_DEFINITIONS[name].indexes.find((i) => i.name === indexName)!;
      const keyTerm = (name: keyof typeof TABLE_DEFINITIONS, indexName: string) => r.expr(null).do(index(name, indexName).key);
      expectTerm(keyTerm('transactions', 'asset_seq'), r.expr(null).do((row: RDatum) => row('seq').prepend(row('asset_id'))));
      expectTerm(keyTerm('transactions', 'spends'), r.expr(null).do((row: RDatum) => row('spends')));
      expectTerm(keyTerm('elections', 'election_height'), r.expr(null).do((row: RDatum) => [row('election_id'), row('height')]));
      expectTerm(keyTerm('changes', 'position'), r.expr(null).do((row: RDatum) => [row('tbl'), row('at'), row('writer'), row('n'), row('chunk')]));
    });

    it('creates databases, tables and indexes only when missing', function () {
      expectTerm(createDatabaseTerm(DB), r.branch(r.dbList().contains(DB), { dbs_created: 0 }, r.dbCreate(DB)));
      expectTerm(dropDatabaseTerm(DB), r.branch(r.dbList().contains(DB), r.dbDrop(DB), { dbs_dropped: 0 }));
      expectTerm(
        createTableTerm(DB, 'blocks', { shards: 2, replicas: undefined }),
        r.branch(r.db(DB).tableList().contains('blocks'), { tables_created: 0 }, r.db(DB).tableCreate('blocks', { primaryKey: 'height', shards: 2 })),
      );
      const owners = TABLE_DEFINITIONS.transactions.indexes[1];
      const transactions = r.db(DB).table('transactions');
      expectTerm(
        createIndexTerm(DB, 'transactions', owners),
        r.branch(transactions.indexList().contains('owners'), { created: 0 }, transactions.indexCreate('owners', (row: RDatum) => row('owners'), { multi: true })),
      );
      expectTerm(isInitializedTerm(DB), r.branch(r.dbList().contains(DB), r.db(DB).tableList().contains('transactions'), false));
    });
  });

  describe('stored documents', function () {
    const alice = publicKey('alice');
    const bob = publicKey('bob');

    it('keeps a transaction whole under body, with the fields its lookups use, each value once', function () {
      const create = createTx({ owner: alice, outputs: [output([alice]), output([alice, bob]), output([alice])] });
      const transfer = transferTx([spend(create, 0), spend(create, 2)], { outputs: [output([bob]), output([bob])] });
      const doc = transactionDoc(transfer, stamp('w0', 9));
      expect(doc.body).to.equal(transfer);
      expect(doc).to.include({ id: transfer.id, operation: 'TRANSFER', asset_id: create.id });
      expect(doc.owners).to.deep.equal([bob]);
      expect(doc.asset_owners).to.deep.equal([[create.id, bob]]);
      expect(doc.spends).to.deep.equal([
        [create.id, 0],
        [create.id, 2],
      ]);
      const createDoc = transactionDoc(create, stamp('w0', 8));
      expect(createDoc.owners).to.deep.equal([alice, bob]);
      expect(createDoc.asset_owners, 'only outputs owned by one key alone').to.deep.equal([[create.id, alice]]);
      expect(createDoc.spends).to.deep.equal([]);
    });

    it('stamps documents with the server time, the writer and its counter', function () {
      expectTerm(r.expr(stamp('w0', 3)), r.expr([r.now(), 'w0', 3]));
      const doc = assetDoc({ id: freshId(), data: { title: 'blue mug', tags: ['kitchen'], n: 2 } }, stamp('w0', 4));
      expect(doc.text, 'the string values the search scans').to.equal('blue mug kitchen');
    });

    it('brings the asset data of a CREATE and non-null metadata of any transaction along', function () {
      const create = createTx({ data: null, metadata: { n: 1 } });
      const transfer = transferTx([spend(create)]);
      expect(sideRecordsOf([create, transfer])).to.deep.equal({ assets: [{ id: create.id, data: null }], metadata: [{ id: create.id, metadata: { n: 1 } }] });
    });

    it('keys UTXOs by reference and elections by a digest of (id, height) that fits a primary key', function () {
      expect(utxoKey({ transaction_id: 'ab', output_index: 3 })).to.equal('ab:3');
      const long = 'e'.repeat(500);
      expect(electionKey(long, 1)).to.match(/^[0-9a-f]{64}$/);
      expect(electionKey('e1', 1)).to.equal(electionKey('e1', 1));
      expect(new Set([electionKey('e1', 1), electionKey('e1', 2), electionKey('e2', 1), electionKey('e1:1', 0)]).size).to.equal(4);
      expect(lastByKey([{ k: 'a', v: 1 }, { k: 'b', v: 2 }, { k: 'a', v: 3 }], (x) => x.k)).to.deep.equal([
        { k: 'a', v: 3 },
        { k: 'b', v: 2 },
      ]);
    });

    it('never looks up a key no document can have', function () {
      expect(terms.isStorableKey('a'.repeat(127))).to.equal(true);
      expect(terms.isStorableKey('a'.repeat(128))).to.equal(false);
      expect(terms.isStorableKey('é'.repeat(64)), '127 bytes, not characters').to.equal(false);
      expect(terms.isStorableKey('nul\u0000inside')).to.equal(false);
    });
  });

  describe('the ReQL of each generic', function () {
    const tx = createTx();
    const transactions = r.db(DB).table('transactions');
    const utxos = r.db(DB).table('utxos');
    const body = (doc: RDatum) => doc('body');

    it('reads transactions by id, by asset in write order, by spent output and by owner', function () {
      expectTerm(terms.getTransactionTerm(DB, tx.id), transactions.get(tx.id).do((doc: RDatum) => r.branch(doc.eq(null), null, doc('body'))));
      expectTerm(terms.getTransactionsTerm(DB, ['a', 'b']), transactions.getAll(r.args(['a', 'b'])).map(body));
      expectTerm(
        terms.getTxidsFilteredTerm(DB, 'asset'),
        transactions.between(['asset', r.minval], ['asset', r.maxval], { index: 'asset_seq' }).orderBy({ index: 'asset_seq' })('id'),
      );
      expectTerm(
        terms.getTxidsFilteredTerm(DB, 'asset', { operation: 'TRANSFER', lastTx: true }),
        transactions
          .between(['asset', r.minval], ['asset', r.maxval], { index: 'asset_seq' })
          .orderBy({ index: r.desc('asset_seq') })
          .filter((doc: RDatum) => doc('operation').eq('TRANSFER'))
          .limit(1)('id'),
      );
      expectTerm(
        terms.spendingTerm(DB, [
          { transaction_id: 'x', output_index: 0 },
          { transaction_id: 'y', output_index: 1 },
        ]),
        transactions.getAll(r.args([['x', 0], ['y', 1]]), { index: 'spends' }).map(body),
      );
      expectTerm(terms.ownedTerm(DB, 'key'), transactions.getAll('key', { index: 'owners' }).map(body));
      expectTerm(terms.assetTokensTerm(DB, 'asset', 'key'), transactions.getAll(['asset', 'key'], { index: 'asset_owner' }).map(body));
      expectTerm(terms.storedIds(DB, 'assets', ['a']), r.db(DB).table('assets').getAll(r.args(['a']))('id'));
    });

    it('reads blocks, the latest record by height, and the heights listing a transaction', function () {
      const record = (doc: RDatum) => ({ height: doc('height'), app_hash: doc('app_hash'), transactions: doc('transactions') });
      expectTerm(terms.getRecordTerm(DB, 'blocks', 7), r.db(DB).table('blocks').get(7).do((doc: RDatum) => r.branch(doc.eq(null), null, record(doc))));
      expectTerm(terms.latestTerm(DB, 'blocks'), r.db(DB).table('blocks').orderBy({ index: r.desc('height') }).limit(1).map(record));
      expectTerm(terms.blocksWithTransactionTerm(DB, 'tx'), r.db(DB).table('blocks').getAll('tx', { index: 'transactions' })('height'));
    });

    it('finds unspent outputs by index, and by owner through the transactions that made them', function () {
      const record = (doc: RDatum) => ({
        transaction_id: doc('transaction_id'),
        output_index: doc('output_index'),
        amount: doc('amount'),
        asset_id: doc('asset_id'),
        condition_uri: doc('condition_uri'),
      });
      expectTerm(terms.utxosTerm(DB), utxos.map(record));
      expectTerm(terms.utxosTerm(DB, { transaction_id: 't', asset_id: 'a' }), utxos.getAll('t', { index: 'transaction_id' }).filter((u: RDatum) => u('asset_id').eq('a')).map(record));
      expectTerm(terms.utxosTerm(DB, { asset_id: 'a' }), utxos.getAll('a', { index: 'asset_id' }).map(record));
      expectTerm(
        terms.utxosTerm(DB, { public_key: 'k', transaction_id: 't' }),
        transactions
          .getAll('k', { index: 'owners' })
          .filter((doc: RDatum) => doc('id').eq('t'))
          .concatMap((doc: RDatum) =>
            doc('body')('outputs')
              .offsetsOf((out: RDatum) => out('public_keys').contains('k'))
              .map((i: RDatum) => utxos.get(doc('id').add(':', i.coerceTo('string')))),
          )
          .filter((u: RDatum) => u.ne(null))
          .map(record),
      );
    });

    it('reads validator sets at or below a height, elections by their highest height, and the pre-commit record', function () {
      const validators = r.db(DB).table('validators');
      const set = (doc: RDatum) => ({ height: doc('height'), validators: doc('validators') });
      expectTerm(terms.validatorSetTerm(DB), validators.orderBy({ index: r.desc('height') }).limit(1).map(set));
      expectTerm(terms.validatorSetTerm(DB, 5), validators.between(r.minval, 5, { rightBound: 'closed' }).orderBy({ index: r.desc('height') }).limit(1).map(set));
      expectTerm(
        terms.electionTerm(DB, 'e1'),
        r
          .db(DB)
          .table('elections')
          .between(['e1', r.minval], ['e1', r.maxval], { index: 'election_height' })
          .orderBy({ index: r.desc('election_height') })
          .limit(1)
          .map((doc: RDatum) => ({ election_id: doc('election_id'), height: doc('height'), is_concluded: doc('is_concluded') })),
      );
      expectTerm(
        terms.getPreCommitTerm(DB),
        r.db(DB).table('pre_commit').get('pre_commit').do((doc: RDatum) => r.branch(doc.eq(null), null, { height: doc('height'), transactions: doc('transactions') })),
      );
      const counts = terms.countRecordsTerm(DB);
      expect(Object.keys((wire(counts) as Record<string, unknown>) ?? {})).to.have.members(['transactions', 'assets', 'metadata', 'blocks', 'utxos', 'pre_commit', 'validators', 'elections', 'abci_chains']);
    });

    it('inserts new records with conflict error, logging them in the same query, and reports the keys inserted when some were not', function () {
      const w = writer();
      const block = { height: 3, app_hash: 'ab', transactions: [tx.id] };
      const blocks = r.db(DB).table('blocks');
      expectTerm(
        terms.storeBlockTerm(DB, block, w),
        blocks
          .insert([{ ...block, seq: stamp('w0', 2) }], { conflict: 'error', returnChanges: true })
          .do((result: RDatum) =>
            logChanges(DB, 'blocks', result('changes'), 'w0', 1).do((_logged: RDatum) => ({
              errors: result('errors'),
              first_error: result('first_error').default(null),
              inserted: r.branch(result('errors').gt(0), result('changes')('new_val')('height'), []),
            })),
          ),
      );
    });

    it('writes transactions, then their asset data and metadata only when all were new', function () {
      const create = createTx({ metadata: { n: 1 } });
      const sent = wire(terms.writeTransactionsTerm(DB, [create], writer())) as Wire;
      const inserts = find(sent, TermType.INSERT);
      const targets = inserts.map(target);
      expect(targets).to.have.members(['transactions', 'changes', 'assets', 'changes', 'metadata', 'changes']);
      const transactionsInsert = inserts.find((_, i) => targets[i] === 'transactions')!;
      expect(transactionsInsert[2]).to.deep.equal({ conflict: 'error', return_changes: true });
      for (const side of inserts.filter((_, i) => targets[i] === 'assets' || targets[i] === 'metadata')) {
        expect(side[2]).to.deep.equal({ conflict: 'replace', return_changes: true });
      }
      expect(find(sent, TermType.BRANCH).length, 'the side records are behind a branch on errors = 0').to.be.greaterThan(0);
      const plain = wire(terms.writeTransactionsTerm(DB, [transferTx([spend(createTx())])], writer()));
      expect(find(plain, TermType.INSERT).map(target)).to.have.members(['transactions', 'changes']);
    });

    it('numbers each write for the log and each document for its seq, from one counter', function () {
      const w = writer('feedface');
      const txs = [createTx(), createTx()];
      const sent = JSON.stringify(wire(terms.writeTransactionsTerm(DB, txs, w)));
      // 1: the transactions' log position; 2, 3: their seq; 4: assets' log; 5, 6: their seq.
      for (const n of [2, 3, 5, 6]) expect(sent).to.include(`[2,[[103],"feedface",${n}]]`);
      expect(sent).to.include('"writer":"feedface","n":1');
      expect(sent).to.include('"writer":"feedface","n":4');
      expect(w.next()).to.equal(7);
    });

    it('upserts by key (the last of a batch wins) and deletes what is asked, logging every change', function () {
      const [first, second] = [createTx(), createTx()];
      const utxo = { transaction_id: first.id, output_index: 0, amount: '1', asset_id: first.id, condition_uri: 'ni:///x' };
      const upsertSent = wire(terms.storeUtxosTerm(DB, [utxo, { ...utxo, amount: '2' }, { ...utxo, transaction_id: second.id }], writer()));
      const [upsert] = find(upsertSent, TermType.INSERT).filter((insert) => target(insert) === 'utxos');
      expect(upsert[2]).to.deep.equal({ conflict: 'replace', return_changes: true });
      const docs = ((upsert[1] as Wire[])[1] as [number, Record<string, unknown>[]])[1];
      expect(docs.map((doc) => [doc.id, doc.amount])).to.deep.equal([
        [`${first.id}:0`, '2'],
        [`${second.id}:0`, '1'],
      ]);

      const deleteSent = wire(terms.deleteUtxosTerm(DB, [{ transaction_id: 'x', output_index: 1 }, { transaction_id: 'x', output_index: 1 }], writer()));
      const [deletion] = find(deleteSent, TermType.DELETE);
      expect(deletion[1]).to.deep.equal([wire(utxos.getAll(r.args(['x:1'])))]);
      expect(deletion[2]).to.deep.equal({ return_changes: true });
      expect(find(deleteSent, TermType.INSERT), 'the log entry').to.have.length(1);

      const gone = find(wire(terms.deleteTransactionsTerm(DB, ['a'], writer())), TermType.DELETE);
      expect(gone.map((deletion) => deletion[1])).to.have.deep.members(
        ['transactions', 'assets', 'metadata'].map((name) => [wire(r.db(DB).table(name).getAll(r.args(['a'])))]),
      );
      expectTerm(
        terms.deleteElectionsTerm(DB, 4, writer()),
        r.db(DB).table('elections').getAll(4, { index: 'height' }).delete({ returnChanges: true }).do((result: RDatum) =>
          logChanges(DB, 'elections', result('changes').default([]), 'w0', 1).do((_logged: RDatum) => result.without('changes')),
        ),
      );
    });

    it('logs changes sorted by seq, as INSERT, UPDATE or DELETE with the public record, in entries of at most 500 events', function () {
      const changesTable = r.db(DB).table('changes');
      expectTerm(
        logChanges(DB, 'validators', r.expr([]), 'w0', 5),
        r
          .expr([])
          .orderBy((c: RDatum) => r.branch(c('new_val').eq(null), c('old_val')('seq'), c('new_val')('seq')))
          .map((c: RDatum) =>
            r.branch(
              c('new_val').eq(null),
              { op: 2, record: { height: c('old_val')('height'), validators: c('old_val')('validators') } },
              { op: r.branch(c('old_val').eq(null), 1, 4), record: { height: c('new_val')('height'), validators: c('new_val')('validators') } },
            ),
          )
          .do((events: RDatum) =>
            r.branch(
              events.isEmpty(),
              { inserted: 0 },
              r.range(events.count().add(499).div(500).floor()).forEach((chunk: RDatum) =>
                changesTable.insert({
                  id: r.expr('w0:5:validators:').add(chunk.coerceTo('string')),
                  tbl: 'validators',
                  at: r.now(),
                  writer: 'w0',
                  n: 5,
                  chunk,
                  events: events.slice(chunk.mul(500), chunk.add(1).mul(500)),
                }),
              ),
            ),
          ),
      );
    });

    it('never shadows or leaves unbound a variable, and always names the database of a table', function () {
      const w = writer();
      const create = createTx({ metadata: { n: 1 } });
      const all: RQuery[] = [
        terms.writeTransactionsTerm(DB, [create, transferTx([spend(create)], { metadata: 'm' })], w),
        terms.sideRecordsTerm(DB, [create], w)!,
        terms.deleteTransactionsTerm(DB, [create.id], w),
        terms.getTxidsFilteredTerm(DB, 'a', { operation: 'CREATE', lastTx: true }),
        terms.storeAssetsTerm(DB, [{ id: freshId(), data: 1 }], w),
        terms.storeMetadatasTerm(DB, [{ id: freshId(), metadata: 1 }], w),
        terms.storeBlockTerm(DB, { height: 1, app_hash: '', transactions: [] }, w),
        terms.storeUtxosTerm(DB, [], w),
        terms.deleteUtxosTerm(DB, [{ transaction_id: 'x', output_index: 0 }], w),
        terms.utxosTerm(DB, { public_key: 'k', transaction_id: 't', asset_id: 'a' }),
        terms.storePreCommitTerm(DB, { height: 1, transactions: [] }, w),
        terms.storeValidatorSetTerm(DB, { height: 1, validators: [] }, w),
        terms.deleteAtHeightTerm(DB, 'abci_chains', 1, w),
        terms.storeElectionsTerm(DB, [{ election_id: 'e', height: 1, is_concluded: true }], w),
        terms.deleteElectionsTerm(DB, 1, w),
        terms.electionTerm(DB, 'e'),
        terms.storeAbciChainTerm(DB, { height: 1, chain_id: 'c', is_synced: true }, w),
        terms.recordsTerm(DB, 'metadata', ['a']),
        textSearchTerm(DB, planFor('coffee "fair trade" -decaf')!, { limit: 3 }),
        tailRead(DB, 'blocks', { at: { $reql_type$: 'TIME', epoch_time: 1, timezone: '+00:00' } }, 10),
        overlapEntries(DB, 'blocks', { $reql_type$: 'TIME', epoch_time: 1, timezone: '+00:00' }, { at: { $reql_type$: 'TIME', epoch_time: 2, timezone: '+00:00' } }, undefined, 10),
        liveEntries(DB, 'blocks'),
        pruneEntries(DB, 1000),
        layoutTerm(DB, STORED_TABLES),
        configTerm(DB),
      ];
      for (const term of all) {
        const sent = wire(term);
        checkScopes(sent);
        for (const tableTerm of find(sent, TermType.TABLE)) {
          const [dbTerm, name] = tableTerm[1] as Wire[];
          const system = ['server_status', 'table_config', 'table_status'].includes(name as string);
          expect(dbTerm, `table ${JSON.stringify(name)} names its database`).to.deep.equal([TermType.DB, [system ? 'rethinkdb' : DB]]);
        }
      }
    });
  });

  describe('the change log read by feeds', function () {
    const at = (epoch: number) => ({ $reql_type$: 'TIME' as const, epoch_time: epoch, timezone: '+00:00' });
    const changesTable = r.db(DB).table('changes');

    it('orders positions by time, writer, write number and chunk', function () {
      const p = (epoch: number, writer: string, n: number, chunk: number): Position => ({ at: at(epoch), writer, n, chunk });
      const sorted = [p(2, 'a', 1, 0), p(1, 'b', 9, 0), p(1, 'a', 2, 1), p(1, 'a', 2, 0), p(1, 'a', 10, 0)].sort(comparePositions);
      expect(sorted).to.deep.equal([p(1, 'a', 2, 0), p(1, 'a', 2, 1), p(1, 'a', 10, 0), p(1, 'b', 9, 0), p(2, 'a', 1, 0)]);
    });

    it('reads the entries after a position, or after a time, in index order', function () {
      const last = { at: at(5.25), writer: 'w', n: 3, chunk: 1 };
      expectTerm(
        entriesAfter(DB, 'utxos', last, 100),
        changesTable
          .between(['utxos', at(5.25), 'w', 3, 1], ['utxos', r.maxval, r.maxval, r.maxval, r.maxval], { index: 'position', leftBound: 'open', rightBound: 'closed' })
          .orderBy({ index: 'position' })
          .limit(100),
      );
      expectTerm(
        entriesAfter(DB, 'utxos', { at: at(5) }, 100),
        changesTable
          .between(['utxos', at(5), r.maxval, r.maxval, r.maxval], ['utxos', r.maxval, r.maxval, r.maxval, r.maxval], { index: 'position', leftBound: 'open', rightBound: 'closed' })
          .orderBy({ index: 'position' })
          .limit(100),
      );
      expectTerm(
        overlapEntries(DB, 'utxos', at(4), last, undefined, 50),
        changesTable
          .between(['utxos', at(4), r.minval, r.minval, r.minval], ['utxos', at(5.25), 'w', 3, 1], { index: 'position', leftBound: 'closed', rightBound: 'closed' })
          .orderBy({ index: 'position' })
          .limit(50),
      );
      expectTerm(entriesById(DB, ['a', 'b']), changesTable.getAll(r.args(['a', 'b'])));
    });

    it('wakes feeds with the positions of new entries of their table only', function () {
      expectTerm(
        liveEntries(DB, 'blocks'),
        changesTable.filter((entry: RDatum) => entry('tbl').default(null).eq('blocks')).pluck('id', 'tbl', 'at', 'writer', 'n', 'chunk').changes(),
      );
    });

    it('records the pruning cut before deleting older entries', function () {
      expectTerm(
        pruneEntries(DB, 60_000),
        r.now().sub(60).do((cutoff: RDatum) =>
          changesTable.insert({ id: 'watermark', pruned_before: cutoff }, { conflict: 'replace' }).do((_recorded: RDatum) => changesTable.between(r.minval, cutoff, { index: 'at' }).delete()),
        ),
      );
    });

    it('reshapes every table through reconfigure, as a dry run when asked', function () {
      expectTerm(
        reconfigureTerm(DB, { blocks: { shards: 2, replicas: 3 } }, true),
        r.expr({ blocks: r.db(DB).table('blocks').reconfigure({ shards: 2, replicas: 3, dryRun: true }) }),
      );
    });
  });

  describe('the changefeed reader', function () {
    const WINDOW = 60_000;
    const entry = (at: number, writer: string, n: number, records: unknown[] = [`r${n}`], op = ChangeFeed.INSERT): ChangeEntry => ({
      id: `${writer}:${n}:blocks:0`,
      tbl: 'blocks',
      at: rawTime(at),
      writer,
      n,
      chunk: 0,
      events: records.map((record) => ({ op, record })),
    });
    const report = (e: ChangeEntry) => ({ new_val: { id: e.id, at: e.at, writer: e.writer, n: e.n, chunk: e.chunk }, old_val: null });
    const records = (events: { record: unknown }[]) => events.map((event) => event.record);
    const tail = (now: number, entries: ChangeEntry[], watermark: number | null = null) => ({ now: rawTime(now), watermark: watermark === null ? null : rawTime(watermark), entries });

    function started(now = 1000, visible: ChangeEntry[] = []): LogReader {
      const reader = new LogReader('blocks', ChangeFeed.ALL, WINDOW);
      reader.begin(rawTime(now), visible);
      return reader;
    }

    it('starts a settling margin behind the server, and never delivers what was visible then', function () {
      const before = entry(999.5, 'w', 1);
      const reader = started(1000, [before]);
      expect(reader.position).to.deep.equal({ at: rawTime(1000 - SETTLE_MS / 1000) });
      const { events } = reader.acceptTail(tail(1001, [before, entry(1000.5, 'w', 2)]), 100);
      expect(records(events)).to.deep.equal(['r2']);
      expect(reader.position).to.deep.include({ writer: 'w', n: 2 });
    });

    it('delivers the events of its operations only, in entry order, and says when a read was full', function () {
      const reader = new LogReader('blocks', ChangeFeed.DELETE, WINDOW);
      reader.begin(rawTime(1000), []);
      const mixed: ChangeEntry = { ...entry(1000.1, 'w', 1), events: [{ op: ChangeFeed.INSERT, record: 'in' }, { op: ChangeFeed.DELETE, record: 'out' }, { op: ChangeFeed.UPDATE, record: 'up' }] };
      const read = reader.acceptTail(tail(1001, [mixed, entry(1000.2, 'w', 2, ['gone'], ChangeFeed.DELETE)]), 2);
      expect(read.events).to.deep.equal([
        { operation: ChangeFeed.DELETE, table: 'blocks', record: 'out' },
        { operation: ChangeFeed.DELETE, table: 'blocks', record: 'gone' },
      ]);
      expect(read.full).to.equal(true);
    });

    it('follows the server clock a margin behind while idle, never backwards', function () {
      const reader = started(1000);
      reader.acceptTail(tail(1010, []), 100);
      expect(reader.position).to.deep.equal({ at: rawTime(1010 - SETTLE_MS / 1000) });
      reader.acceptTail(tail(1005, []), 100);
      expect(reader.position).to.deep.equal({ at: rawTime(1010 - SETTLE_MS / 1000) });
    });

    it('delivers an entry that landed behind its position once, when the wake-up reports it', function () {
      const reader = started(1000);
      const slow = entry(1000.1, 'w', 1, ['slow']);
      const quick = entry(1000.2, 'w', 2, ['quick']);
      expect(records(reader.acceptTail(tail(1001, [quick]), 100).events)).to.deep.equal(['quick']);
      expect(reader.report(report(quick)), 'read already').to.equal('ignored');
      expect(reader.report(report(slow))).to.equal('late');
      expect(reader.report(report(slow)), 'reported twice, fetched once').to.equal('late');
      const ids = reader.takeLate();
      expect(ids).to.deep.equal([slow.id]);
      expect(records(reader.acceptLate([slow]))).to.deep.equal(['slow']);
      expect(reader.acceptLate([slow]), 'never twice').to.deep.equal([]);
      expect(reader.report(report(slow))).to.equal('ignored');
      expect(reader.report(report(entry(1000.3, 'w', 3)))).to.equal('ahead');
      expect(reader.report({ error: 'Changefeed cache exceeded array size limit, skipped 7 elements.' })).to.equal('overflow');
      expect(reader.report({ new_val: null, old_val: {} }), 'a pruned entry').to.equal('ignored');
    });

    it('delivers late entries in position order', function () {
      const reader = started(1000);
      reader.acceptTail(tail(1001, [entry(1000.9, 'w', 9)]), 100);
      const [a, b] = [entry(1000.1, 'w', 1, ['a']), entry(1000.2, 'w', 2, ['b'])];
      reader.report(report(b));
      reader.report(report(a));
      expect(reader.takeLate()).to.have.members([a.id, b.id]);
      expect(records(reader.acceptLate([b, a]))).to.deep.equal(['a', 'b']);
    });

    it('re-reads the overlap window behind its position after a lost wake-up, delivering only what it missed', function () {
      const reader = started(1000);
      const seen = entry(1100, 'w', 1, ['seen']);
      reader.acceptTail(tail(1200, [seen]), 100);
      expect(reader.overlapFrom()).to.deep.equal(rawTime(1100 - WINDOW / 1000));
      const missed = entry(1090, 'v', 7, ['missed']);
      expect(records(reader.acceptOverlap([missed, seen]))).to.deep.equal(['missed']);
      expect(started(1000).overlapFrom(), 'never before the start').to.deep.equal(rawTime(1000 - SETTLE_MS / 1000));
    });

    it('fails loudly when the log was pruned past its position', function () {
      const reader = started(1000);
      expect(() => reader.acceptTail(tail(1001, [], 999), 100)).to.throw(OperationError, /\[rethinkdb\] changefeed on blocks fell behind/);
      expect(() => started(1000).acceptTail(tail(1001, [], 990), 100)).to.not.throw();
    });

    it('tells whether a position is at or behind a bound', function () {
      const at = (epoch: number, n = 1): Position => ({ at: rawTime(epoch), writer: 'w', n, chunk: 0 });
      expect(isBehind(at(10), { at: rawTime(10) })).to.equal(true);
      expect(isBehind(at(10.001), { at: rawTime(10) })).to.equal(false);
      expect(isBehind(at(10, 1), at(10, 2))).to.equal(true);
      expect(isBehind(at(10, 3), at(10, 2))).to.equal(false);
    });
  });

  describe('text search', function () {
    /** Evaluates a plan on a text the way the server's `match` and `split` would. */
    function evaluate(plan: SearchPlan, text: string): number | null {
      const regex = (pattern: string) => (pattern.startsWith('(?i)') ? new RegExp(pattern.slice(4), 'iu') : new RegExp(pattern, 'u'));
      if (plan.anyOf && !regex(plan.anyOf).test(text)) return null;
      if (!plan.allOf.every((pattern) => regex(pattern).test(text))) return null;
      if (plan.noneOf && regex(plan.noneOf).test(text)) return null;
      const tokens = text.split(/\s+/).filter(Boolean);
      return plan.scoreWords.reduce((score, pattern) => score + tokens.filter((token) => regex(pattern).test(token)).length, 0);
    }

    function search(texts: string[], searchText: string, options: { caseSensitive?: boolean; language?: string } = {}): string[] {
      const plan = planFor(searchText, options);
      if (!plan) return [];
      return texts
        .map((text) => ({ text, score: evaluate(plan, text) }))
        .filter((hit): hit is { text: string; score: number } => hit.score !== null)
        .sort((a, b) => b.score - a.score)
        .map((hit) => hit.text);
    }

    it('matches whole words, any of them, ignoring case by default', function () {
      expect(search(['blue coffee mug', 'green teapot', 'Coffee cup', 'coffeehouse'], 'coffee', { language: 'none' })).to.have.members(['blue coffee mug', 'Coffee cup']);
      expect(search(['Espresso machine', 'espresso beans'], 'Espresso', { caseSensitive: true })).to.deep.equal(['Espresso machine']);
      expect(search(['X-1 serial', 'X-10 serial'], 'X-1', { language: 'none' })).to.deep.equal(['X-1 serial']);
      expect(search(['Ünïcødé ☕ café', 'cafe'], 'café', { language: 'none' })).to.deep.equal(['Ünïcødé ☕ café']);
    });

    it('lets an English search word match longer words beginning with it, and none with language none', function () {
      expect(search(['running shoes', 'walking boots'], 'run')).to.deep.equal(['running shoes']);
      expect(search(['running shoes', 'walking boots'], 'run', { language: 'none' })).to.deep.equal([]);
      expect(search(['running shoes', 'walking boots'], 'running', { language: 'none' })).to.deep.equal(['running shoes']);
      expect(search(['a shoe', 'running'], 'running shoes'), 'no stemming: a longer search word finds no shorter form').to.deep.equal(['running']);
    });

    it('requires every phrase as written, lets phrases alone decide, and excludes -words', function () {
      expect(search(['a blue mug', 'a blue cup and a red mug', 'mug blue'], '"blue mug"')).to.deep.equal(['a blue mug']);
      expect(search(['fair trade tea', 'coffee beans'], 'coffee "fair trade"')).to.deep.equal(['fair trade tea']);
      expect(search(['a blue mug', 'a red mug'], 'mug -red')).to.deep.equal(['a blue mug']);
      expect(search(['tea', 'green tea'], 'tea -"green tea"')).to.deep.equal(['tea']);
      expect(planFor('-decaf')).to.equal(null);
      expect(planFor('')).to.equal(null);
    });

    it('scores by how often the words occur, best first', function () {
      expect(search(['coffee tea water', 'coffee coffee coffee'], 'coffee')).to.deep.equal(['coffee coffee coffee', 'coffee tea water']);
      expect(search(['coffee cup', 'coffee mug', 'tea mug'], 'coffee mug')[0]).to.equal('coffee mug');
    });

    it('treats query syntax and injection-shaped strings as text, always making valid expressions', function () {
      const odd = ["'; DROP TABLE assets; --", '{"$gt": ""}', "r.db('x')", '"unbalanced', 'NEAR(a b)', 'title:coffee', '*', 'AND OR NOT', '%_\\', '(?i)', '[a-z]+', '\\p{L}', '$^', 'a|b'];
      for (const text of odd) {
        const plan = planFor(text);
        if (!plan) continue;
        for (const pattern of [plan.anyOf, plan.noneOf, ...plan.allOf, ...plan.scoreWords].filter((p): p is string => p !== undefined)) {
          expect(() => new RegExp(pattern.replace(/^\(\?i\)/, ''), 'u'), pattern).to.not.throw();
        }
        expect(search(['coffee mug', text], text), JSON.stringify(text)).to.include(text);
        expect(search(['coffee mug'], text), JSON.stringify(text)).to.deep.equal([]);
      }
    });

    it('accepts english and none, and refuses other languages (there is no stemming)', function () {
      expect(() => planFor('x', { language: 'french' })).to.throw(UnsupportedOperationError, /\[rethinkdb\] text search language 'french' is not supported/);
    });

    it('builds the expressions documented, and scans with them ordered by score then write order', function () {
      const plan = searchPlan(parseSearch('"blue mug"'), { caseSensitive: true, language: 'none' })!;
      expect(plan).to.deep.equal({
        allOf: ['(?:^|[^\\p{L}\\p{N}])blue[^\\p{L}\\p{N}]+mug(?:$|[^\\p{L}\\p{N}])'],
        scoreWords: ['(?:^|[^\\p{L}\\p{N}])blue(?:$|[^\\p{L}\\p{N}])', '(?:^|[^\\p{L}\\p{N}])mug(?:$|[^\\p{L}\\p{N}])'],
      });
      const scan = planFor('tea', { language: 'none' })!;
      const text = (doc: RDatum) => doc('text').default('');
      expectTerm(
        textSearchTerm(DB, scan, { table: 'metadata', limit: 5 }),
        r
          .db(DB)
          .table('metadata')
          .filter((doc: RDatum) => r.and(text(doc).match(scan.anyOf!).ne(null)))
          .map((doc: RDatum) => ({
            id: doc('id'),
            metadata: doc('metadata'),
            score: text(doc)
              .split()
              .filter((token: RDatum) => token.match(scan.scoreWords[0]).ne(null))
              .count(),
            seq: doc('seq'),
          }))
          .orderBy(r.desc('score'), r.asc('seq'))
          .limit(5)
          .without('seq'),
      );
    });
  });

  it('builds a transaction document for every kind of transaction the model accepts', function () {
    const vote: Transaction = { ...transferTx([spend(createTx())]), operation: 'VOTE', inputs: [] };
    expect(transactionDoc(vote, stamp('w', 1)).spends).to.deep.equal([]);
  });
});
