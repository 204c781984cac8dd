/**
 * The localmongodb backend without a server: how the configuration becomes the driver's
 * settings, the exact documents sent (indexes, filters, pipelines, text queries, change
 * stream options, replica set configurations), how driver errors are mapped, what a change
 * event becomes, and the lazy connection (made without a server, failing after maxTries with
 * a ConnectionError that shows no password). The conformance suite runs the rest against a
 * real server (localmongodb.spec.ts).
 */
import { type Json, MAX_NESTING, sideRecordsOf } from '../../lib/model';
import { expect } from 'chai';
import net from 'node:net';
import { inspect } from 'node:util';
import {
  ChangeFeed,
  ConfigurationError,
  ConnectionError,
  DuplicateKeyError,
  OperationError,
  UnsupportedOperationError,
  ValidationError,
  admin,
  capabilities,
  changefeed,
  connect,
  coverage,
  query,
  schema,
} from '../../lib';
import { TABLES } from '../../lib/tables';
import { resolveConfig } from '../../lib/config';
import { parseSearch } from '../../lib/search';
import { MongoConnection } from '../../backends/localmongodb';
import { type MongoCapabilities } from '../../backends/localmongodb/admin';
import {
  MAX_TRANSACTION_BYTES,
  MAX_TRANSACTION_DOCUMENTS,
  TRANSACTION_LIMITS,
  TransactionBudget,
  bsonSize,
  chunksWithin,
  slices,
} from '../../backends/localmongodb/budget';
import { FragmentJoiner, changeEvent, nextTimestamp } from '../../backends/localmongodb/changefeed';
import {
  MongoBulkWriteError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  ObjectId,
  Timestamp,
} from '../../backends/localmongodb/driver';
import {
  duplicateKeyDetails,
  isConnectionFailure,
  isDuplicateKeyError,
  isHistoryLost,
  isResumable,
  isRetryable,
  mapMongoError,
} from '../../backends/localmongodb/errors';
import {
  assetTokensFilter,
  changeStreamOptions,
  changeStreamPipeline,
  keyIn,
  ownedFilter,
  ownedOutputs,
  ownerTransactionsFilter,
  spendingFilter,
  spentFilter,
  isCompound,
  textSearchQuery,
  textSearchStrings,
  txidsFilter,
  utxoFilter,
  utxoRefsFilter,
  validatorSetFilter,
  writeOrder,
} from '../../backends/localmongodb/filters';
import { INDEXES, TEXT_LANGUAGE_FIELD } from '../../backends/localmongodb/indexes';
import { mergeHits } from '../../backends/localmongodb/search';
import { clientSettings, declaresReplicaSet, declaresTransactions, urlParameters, withCredentials } from '../../backends/localmongodb/options';
import { PRE_COMMIT_ID, RECORD_PROJECTION, blockDocument, publicRecord, transactionDocument } from '../../backends/localmongodb/records';
import { MAX_MEMBERS, MAX_VOTING_MEMBERS, normalizeHost, votingMembers, withMemberAdded, withMemberRemoved } from '../../backends/localmongodb/replset';
import { PRE_IMAGES_REFUSALS, keepsImages, preImagesCommand, preImagesFailure } from '../../backends/localmongodb/schema';
import { describeServer, splitsLargeEvents } from '../../backends/localmongodb/server';
import { DELETE_CHUNK, commitFitsOneTransaction, sideDocuments } from '../../backends/localmongodb/query';
import { MONGODB_MAX_NESTING, STORED_DEPTH, unstorable } from '../../backends/localmongodb/storable';
import { duplicateCandidates, sortRefusals, transactionChunks } from '../../backends/localmongodb/writes';
import { block, createTx, freshId, output, publicKey, spend, transferTx } from '../conformance/fixtures';
import { expectStartupRetries } from '../support/silent-server';

// The driver does not export its WriteError and BulkWriteResult classes; the real ones are
// taken from its bulk module so the bulk errors below are built exactly as the driver builds them.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { WriteError, BulkWriteResult } = require('mongodb/lib/bulk/common') as {
  WriteError: new (err: { index: number; code: number; errmsg: string; errInfo: object; op: object }) => unknown;
  BulkWriteResult: new (bulkResult: object, isOrdered: boolean) => unknown;
};

const PASSWORD = 'Sup3r-s3cret:pw';
const DEFAULTS = { host: 'localhost', port: 27017, name: 'chainstore' };
const config = (options: Record<string, unknown>) => resolveConfig('localmongodb', options, {}, DEFAULTS);
const alice = publicKey('alice');
const bob = publicKey('bob');

/** Every printable form of a value, to check that a password appears in none. */
function printed(value: unknown): string {
  return `${inspect(value, { depth: 10, showHidden: false })}\n${JSON.stringify(value) ?? ''}\n${String(value)}`;
}

function bulkError(writeErrors: { index: number; code: number; errmsg: string }[]): MongoBulkWriteError {
  const errors = writeErrors.map((e) => new WriteError({ ...e, errInfo: {}, op: {} }));
  const result = new BulkWriteResult({ ok: 1, writeErrors: errors, writeConcernErrors: [], insertedIds: [], nInserted: 0, nUpserted: 0, nMatched: 0, nModified: 0, nRemoved: 0, upserted: [] }, false);
  return new MongoBulkWriteError({ message: writeErrors[0].errmsg, code: writeErrors[0].code, writeErrors: errors as never }, result as never);
}

const duplicateMessage = (collection: string, index: string, key: string) =>
  `E11000 duplicate key error collection: chainstore.${collection} index: ${index} dup key: { ${key} }`;

describe('localmongodb backend (no server)', function () {
  describe('configuration -> driver settings', function () {
    it('builds a URL from host and port, and gives the login apart, never the password in a printable form', function () {
      const resolved = config({ host: 'db.internal', port: 27018, login: 'app', password: PASSWORD, connectionTimeout: 1234 });
      const settings = clientSettings(resolved);
      expect(settings).to.deep.equal({
        url: 'mongodb://db.internal:27018/',
        urlGiven: false,
        options: {
          appName: 'chainstore',
          maxPoolSize: 10,
          serverSelectionTimeoutMS: 1234,
          connectTimeoutMS: 1234,
          ignoreUndefined: true,
          writeConcern: { w: 'majority', journal: true },
          auth: { username: 'app' },
          authSource: 'admin',
        },
      });
      expect(printed(settings)).not.to.include(PASSWORD);
      expect(printed(resolved)).not.to.include(PASSWORD);
    });

    it('gives the password to the client it makes, and only there', async function () {
      const conn = new MongoConnection(config({ host: 'db.internal', login: 'app', password: PASSWORD, authSource: 'ledger' }));
      const client = conn.newClient();
      try {
        expect(client.options.credentials?.username).to.equal('app');
        expect(client.options.credentials?.password).to.equal(PASSWORD);
        expect(client.options.credentials?.source).to.equal('ledger');
        expect(client.options.hosts.map(String)).to.deep.equal(['db.internal:27017']);
      } finally {
        await client.close();
        await conn.close();
      }
      const options = clientSettings(conn.config).options;
      const withPassword = withCredentials(options, conn.config);
      expect(withPassword.auth).to.deep.equal({ username: 'app', password: PASSWORD });
      expect(options.auth, 'the settings are not changed').to.deep.equal({ username: 'app' });
      expect(printed(conn)).not.to.include(PASSWORD);
    });

    it('passes a given URL to the driver as it is, host list and parameters included', function () {
      const url = `mongodb://app:${encodeURIComponent(PASSWORD)}@db1:27017,db2:27017,db3:27017/ledger?replicaSet=rs0&authSource=admin`;
      const resolved = config({ url, poolSize: 20 });
      const settings = clientSettings(resolved);
      expect(settings.url).to.equal(url);
      expect(settings.urlGiven).to.equal(true);
      expect(settings.options.auth, 'credentials stay in the URL').to.equal(undefined);
      expect(settings.options.maxPoolSize).to.equal(20);
      expect(resolved.name).to.equal('ledger');
      expect(printed(settings.options)).not.to.include(PASSWORD);
      expect(printed(resolved)).not.to.include(PASSWORD);
      expect(printed(resolved)).not.to.include(encodeURIComponent(PASSWORD));
    });

    it('gives the driver an explicit host over the URL of CHAINSTORE_DATABASE_URL (explicit options > environment)', function () {
      const env = { CHAINSTORE_DATABASE_URL: `mongodb://app:${encodeURIComponent(PASSWORD)}@env-db1:27017,env-db2:27017/ledger?replicaSet=rs0` };
      const resolved = resolveConfig('localmongodb', { host: 'db.internal' }, env, DEFAULTS);
      const settings = clientSettings(resolved);
      expect(settings.url).to.equal(`mongodb://app:${encodeURIComponent(PASSWORD)}@db.internal:27017/ledger?replicaSet=rs0`);
      expect(new MongoConnection(resolved).location).to.equal('mongodb://app:***@db.internal:27017/ledger?replicaSet=rs0');
      expect(clientSettings(resolveConfig('localmongodb', {}, env, DEFAULTS)).url, 'without one, the URL as it is').to.equal(env.CHAINSTORE_DATABASE_URL);
    });

    it("does not override what the URL spells out with chainstore's defaults", function () {
      const settings = clientSettings(config({ url: 'mongodb://h/db?serverSelectionTimeoutMS=300&maxPoolSize=5&appName=node-7' }));
      expect(settings.options).not.to.have.any.keys('serverSelectionTimeoutMS', 'maxPoolSize', 'appName');
      expect(settings.options.connectTimeoutMS).to.equal(5000);
      expect([...urlParameters('mongodb://h/db?replicaSet=rs0&maxPoolSize=5#x')]).to.deep.equal(['replicaset', 'maxpoolsize']);
      expect(urlParameters('mongodb://h/db').size).to.equal(0);
    });

    it('acknowledges writes once a majority has journaled them, unless the URL or the writeConcern option says otherwise', async function () {
      expect(clientSettings(config({ host: 'h' })).options.writeConcern).to.deep.equal({ w: 'majority', journal: true });
      expect(clientSettings(config({ url: 'mongodb://h/db?w=2' })).options, "the URL's word").not.to.have.property('writeConcern');
      expect(clientSettings(config({ url: 'mongodb://h/db?journal=false' })).options).not.to.have.property('writeConcern');
      expect(clientSettings(config({ url: 'mongodb://h/db?w=2', writeConcern: { w: 3, wtimeoutMS: 5000 } })).options.writeConcern, 'the option wins').to.deep.equal({ w: 3, wtimeoutMS: 5000 });
      // What the driver makes of it: transactions and every write inherit the client's.
      const conn = new MongoConnection(config({ host: 'h' }));
      const client = conn.newClient();
      try {
        expect(client.writeConcern).to.deep.include({ w: 'majority', journal: true });
      } finally {
        await client.close();
        await conn.close();
      }
    });

    it('refuses an unacknowledged or malformed write concern at connect()', async function () {
      for (const writeConcern of [{ w: 0 }, { w: -1 }, { w: 'most' }, { journal: 'yes' }, { wtimeoutMS: 1.5 }, { fsync: true }, 'majority', null]) {
        const error = await connect({ backend: 'localmongodb', writeConcern }).then(
          () => expect.fail(`connect({ writeConcern: ${JSON.stringify(writeConcern)} }) resolved`),
          (e: unknown) => e as Error,
        );
        expect(error, JSON.stringify(writeConcern)).to.be.an.instanceOf(ConfigurationError);
        expect(error.message).to.match(/^\[localmongodb\] option writeConcern/);
      }
    });

    it('maps poolSize, replicaSet and an IPv6 host', function () {
      const settings = clientSettings(config({ host: '::1', poolSize: 3, replicaSet: 'rs0' }));
      expect(settings.url).to.equal('mongodb://[::1]:27017/');
      expect(settings.options).to.include({ maxPoolSize: 3, replicaSet: 'rs0' });
      expect(settings.options.auth).to.equal(undefined);
    });

    it('maps ssl to the driver TLS options', function () {
      expect(clientSettings(config({ ssl: true })).options.tls).to.equal(true);
      expect(clientSettings(config({ ssl: false })).options).not.to.have.property('tls');
      const ca = Buffer.from('ca');
      const options = clientSettings(config({ ssl: { ca, cert: 'cert', key: 'key', rejectUnauthorized: false } })).options;
      expect(options).to.deep.include({ tls: true, ca, cert: 'cert', key: 'key', tlsAllowInvalidCertificates: true });
      expect(clientSettings(config({ ssl: { rejectUnauthorized: true } })).options).not.to.have.property('tlsAllowInvalidCertificates');
    });

    it('refuses bad options and URLs at connect(), naming the backend and never the password', async function () {
      for (const [options, fragment] of [
        [{ poolSize: 0 }, 'poolSize'],
        [{ poolSize: 'ten' }, 'poolSize'],
        [{ replicaSet: '' }, 'replicaSet'],
        [{ authSource: 5 }, 'authSource'],
        [{ url: `mongodb+srv://app:${encodeURIComponent(PASSWORD)}@h1,h2/ledger` }, 'multiple service names'],
        [{ url: `mongodb://app:${encodeURIComponent(PASSWORD)}@h/ledger?tls=maybe` }, 'tls'],
      ] as const) {
        const error = await connect({ backend: 'localmongodb', ...options }).then(
          () => expect.fail(`connect(${JSON.stringify(options)}) resolved`),
          (e: unknown) => e as Error,
        );
        expect(error, String(error)).to.be.an.instanceOf(ConfigurationError);
        expect(error.message).to.include('[localmongodb]').and.to.include(fragment);
        expect(printed(error)).not.to.include(PASSWORD);
        expect(printed(error)).not.to.include(encodeURIComponent(PASSWORD));
      }
      // A scheme no backend owns is refused before the backend is asked, listing the known ones.
      const foreign = await connect({ backend: 'localmongodb', url: `http://app:${encodeURIComponent(PASSWORD)}@db/ledger` }).then(
        () => expect.fail('connect() with an http:// URL resolved'),
        (e: unknown) => e as Error,
      );
      expect(foreign, String(foreign)).to.be.an.instanceOf(ConfigurationError);
      expect(foreign.message).to.include("no backend owns the scheme 'http:'").and.to.include('mongodb://, mongodb+srv:// (localmongodb)');
      expect(printed(foreign)).not.to.include(PASSWORD);
      expect(printed(foreign)).not.to.include(encodeURIComponent(PASSWORD));
    });

    it('is what connect() makes for the backend name and for a mongodb:// or mongodb+srv:// URL', async function () {
      for (const options of [{ backend: 'localmongodb' }, { url: 'mongodb://127.0.0.1:27017/ledger' }, { url: 'mongodb+srv://cluster0.example.net/ledger' }]) {
        const conn = await connect(options);
        expect(conn).to.be.an.instanceOf(MongoConnection);
        expect(conn.backend).to.equal('localmongodb');
        await conn.close();
      }
    });

    it('tells a declared replica set (option, URL parameter) and transactions (also mongodb+srv://)', function () {
      expect(declaresReplicaSet(config({ replicaSet: 'rs0' }))).to.equal(true);
      expect(declaresReplicaSet(config({ url: 'mongodb://h/db?w=1&replicaSet=rs0' }))).to.equal(true);
      expect(declaresReplicaSet(config({ url: 'mongodb://h/db' }))).to.equal(false);
      expect(declaresReplicaSet(config({ url: 'mongodb+srv://cluster0.example.net/db' }))).to.equal(false);
      expect(declaresTransactions(config({ url: 'mongodb+srv://cluster0.example.net/db' }))).to.equal(true);
      expect(declaresTransactions(config({ host: 'h' }))).to.equal(false);
    });
  });

  describe('indexes', function () {
    it('creates exactly these indexes (the documents createIndexes receives)', function () {
      const text = { key: { '$**': 'text' }, name: 'text', default_language: 'english', language_override: '_chainstore_text_language' };
      expect(INDEXES).to.deep.equal({
        transactions: [
          { key: { id: 1 }, name: 'id_unique', unique: true },
          { key: { asset_id: 1, _id: 1 }, name: 'asset_id' },
          { key: { 'body.outputs.public_keys': 1 }, name: 'outputs_public_keys' },
          { key: { 'body.inputs.fulfills.transaction_id': 1, 'body.inputs.fulfills.output_index': 1 }, name: 'inputs_fulfills' },
        ],
        assets: [{ key: { id: 1 }, name: 'id_unique', unique: true }, text],
        metadata: [{ key: { id: 1 }, name: 'id_unique', unique: true }, text],
        blocks: [
          { key: { height: 1 }, name: 'height_unique', unique: true },
          { key: { transactions: 1 }, name: 'transactions' },
        ],
        utxos: [
          { key: { transaction_id: 1, output_index: 1 }, name: 'output_unique', unique: true },
          { key: { asset_id: 1 }, name: 'asset_id' },
        ],
        pre_commit: [],
        validators: [{ key: { height: 1 }, name: 'height_unique', unique: true }],
        elections: [
          { key: { election_id: 1, height: 1 }, name: 'election_unique', unique: true },
          { key: { height: 1 }, name: 'height' },
        ],
        abci_chains: [
          { key: { height: 1 }, name: 'height_unique', unique: true },
          { key: { chain_id: 1 }, name: 'chain_id_unique', unique: true },
        ],
      });
      expect(TEXT_LANGUAGE_FIELD, 'not a key asset data plausibly has').not.to.equal('language');
    });

    it('keeps the pre-commit record single by its fixed _id, and turns change stream images on where asked', function () {
      expect(PRE_COMMIT_ID).to.be.a('string');
      expect(preImagesCommand('utxos')).to.deep.equal({ collMod: 'utxos', changeStreamPreAndPostImages: { enabled: true } });
      expect(keepsImages({ changeStreamPreAndPostImages: { enabled: true } })).to.equal(true);
      expect(keepsImages({ changeStreamPreAndPostImages: { enabled: false } })).to.equal(false);
      expect(keepsImages({})).to.equal(false);
      expect(keepsImages(undefined)).to.equal(false);
    });

    it('lives with a collMod the user may not run or the deployment does not offer, and fails on any other refusal', function () {
      const refusal = (code: number, errmsg: string) => preImagesFailure(new MongoServerError({ code, errmsg }), 'utxos');
      expect(refusal(13, 'not authorized on chainstore to execute command { collMod: ... }')).to.equal('unauthorized');
      expect(refusal(72, 'unknown option to collMod: changeStreamPreAndPostImages')).to.equal('unsupported');
      expect(refusal(40415, "BSON field 'collMod.changeStreamPreAndPostImages' is an unknown field.")).to.equal('unsupported');
      expect(refusal(115, 'collMod is not supported')).to.equal('unsupported');
      expect(refusal(8000, 'CMD_NOT_ALLOWED: collMod')).to.equal('unsupported');
      const driverError = new MongoServerError({ code: 26, errmsg: 'ns does not exist' });
      const failure = preImagesFailure(driverError, 'utxos');
      expect(failure).to.be.an.instanceOf(OperationError);
      expect((failure as Error).message).to.equal(
        '[localmongodb] create tables: turning on change stream pre- and post-images of utxos (collMod) failed: ns does not exist (code 26)',
      );
      expect((failure as Error).cause).to.equal(driverError);
      // A lost connection is thrown as it is, so the operation is tried again.
      const lost = new MongoNetworkError('connection reset');
      expect(preImagesFailure(lost, 'utxos')).to.equal(lost);
      expect([...PRE_IMAGES_REFUSALS.keys()].sort((a, b) => a - b)).to.deep.equal([13, 59, 72, 115, 8000, 40415]);
    });
  });

  describe('documents', function () {
    it('stores a transaction whole under body, with its lookup fields and an _id in write order', function () {
      const create = createTx();
      const transfer = transferTx([spend(create)]);
      const [a, b] = [transactionDocument(create), transactionDocument(transfer)];
      expect(a).to.deep.include({ id: create.id, asset_id: create.id, body: create });
      expect(b).to.deep.include({ id: transfer.id, asset_id: create.id, body: transfer });
      expect(a._id).to.be.an.instanceOf(ObjectId);
      expect(a._id.toHexString() < b._id.toHexString(), 'ObjectIds of one process increase').to.equal(true);
      expect(publicRecord('transactions', a)).to.equal(create);
    });

    it('reads every table back in its public shape', function () {
      const block = { height: 3, app_hash: 'ab', transactions: [freshId()] };
      expect(publicRecord('blocks', blockDocument(block))).to.deep.equal(block);
      expect(publicRecord('pre_commit', { _id: PRE_COMMIT_ID, height: 3, transactions: [] })).to.deep.equal({ height: 3, transactions: [] });
      expect(RECORD_PROJECTION.transactions).to.deep.equal({ _id: 0, body: 1 });
      for (const table of ['assets', 'metadata', 'blocks', 'utxos', 'pre_commit', 'validators', 'elections', 'abci_chains'] as const) {
        expect(RECORD_PROJECTION[table], table).to.deep.equal({ _id: 0 });
      }
    });

    it('brings the asset data of transactions that carry some, and the metadata of every transaction, null included', function () {
      const create = createTx({ data: { serial: 'S' }, metadata: { n: 1 } });
      const transfer = transferTx([spend(create)], { metadata: null });
      const nullData = createTx({ data: null, metadata: 0 });
      expect(sideRecordsOf([create, transfer, nullData])).to.deep.equal({
        assets: [
          { id: create.id, data: { serial: 'S' } },
          { id: nullData.id, data: null },
        ],
        metadata: [
          { id: create.id, metadata: { n: 1 } },
          { id: transfer.id, metadata: null },
          { id: nullData.id, metadata: 0 },
        ],
      });
    });
  });

  describe('what one transaction holds', function () {
    const txPlan = (txs: ReturnType<typeof createTx>[]) => ({ collection: { name: 'transactions' as const, key: 'id' as const }, docs: txs.map(transactionDocument) });
    const many = (n: number, options: Parameters<typeof createTx>[0] = {}) => Array.from({ length: n }, () => createTx(options));

    it('caps a transaction at 1,000 documents and 8 MiB, named and exported', function () {
      expect([MAX_TRANSACTION_DOCUMENTS, MAX_TRANSACTION_BYTES]).to.deep.equal([1000, 8 * 1024 * 1024]);
      expect(TRANSACTION_LIMITS).to.deep.equal({ documents: 1000, bytes: 8 * 1024 * 1024 });
      expect(Object.isFrozen(TRANSACTION_LIMITS)).to.equal(true);
      expect(DELETE_CHUNK * 3, 'a deleted transaction takes its asset data and metadata along').to.be.at.most(MAX_TRANSACTION_DOCUMENTS);
    });

    it('cuts work into chunks within the document and the byte limits, keeping order', function () {
      const docs = Array.from({ length: 7 }, (_, n) => ({ n }));
      const size = bsonSize({ n: 0 });
      expect(chunksWithin(docs, (d) => [d], { documents: 3, bytes: 1e9 })).to.deep.equal([docs.slice(0, 3), docs.slice(3, 6), docs.slice(6)]);
      expect(chunksWithin(docs, (d) => [d], { documents: 100, bytes: 2 * size })).to.deep.equal([docs.slice(0, 2), docs.slice(2, 4), docs.slice(4, 6), docs.slice(6)]);
      // Each item writes two documents: two items per chunk of four.
      expect(chunksWithin(docs, (d) => [d, d], { documents: 4, bytes: 1e9 }).map((c) => c.length)).to.deep.equal([2, 2, 2, 1]);
      expect(chunksWithin([], (d: object) => [d])).to.deep.equal([]);
    });

    it('gives an item too big for any transaction a chunk of its own', function () {
      const big = { blob: 'x'.repeat(100) };
      const small = { n: 1 };
      const limits = { documents: 10, bytes: 50 };
      expect(chunksWithin([small, big, small], (d) => [d], limits)).to.deep.equal([[small], [big], [small]]);
    });

    it('counts a budget until it is exceeded', function () {
      const budget = new TransactionBudget({ documents: 2, bytes: 1e9 });
      expect(budget.add([{ a: 1 }, { b: 2 }])).to.equal(true);
      expect(budget.exceeded).to.equal(false);
      expect(budget.addCount(1)).to.equal(false);
      expect(budget.exceeded).to.equal(true);
      const bytes = new TransactionBudget({ documents: 100, bytes: 20 });
      expect(bytes.add([{ s: 'a long enough string' }])).to.equal(false);
      expect(slices([1, 2, 3, 4, 5], 2)).to.deep.equal([[1, 2], [3, 4], [5]]);
    });

    it('counts the asset data and metadata a transaction brings in its transaction', function () {
      const withBoth = createTx({ data: { serial: 'S' }, metadata: { note: 'm' } });
      const withNone = createTx({ data: null, metadata: null });
      expect(sideDocuments(transactionDocument(withBoth))).to.deep.equal([
        { id: withBoth.id, data: { serial: 'S' } },
        { id: withBoth.id, metadata: { note: 'm' } },
      ]);
      expect(sideDocuments(transactionDocument(withNone))).to.deep.equal([
        { id: withNone.id, data: null },
        { id: withNone.id, metadata: null },
      ]);
      const plan = txPlan(many(4, { metadata: { n: 1 } }));
      // Three documents per transaction: two transactions per transaction of six.
      const chunks = transactionChunks(plan, { companionDocuments: sideDocuments, limits: { documents: 6, bytes: 1e9 } });
      expect(chunks.map((c) => c.map((d) => d.id))).to.deep.equal([plan.docs.slice(0, 2).map((d) => d.id), plan.docs.slice(2).map((d) => d.id)]);
    });

    it('plans a batch of 100,000 transactions as transactions of at most 1,000 documents and 8 MiB', function () {
      this.timeout(60000);
      const plan = txPlan(many(100_000, { metadata: { n: 1 } }));
      const chunks = transactionChunks(plan, { companionDocuments: sideDocuments });
      expect(chunks.length).to.be.greaterThan(100);
      expect(chunks.flat(), 'every transaction once, in order').to.deep.equal(plan.docs);
      for (const chunk of chunks) {
        const documents = chunk.flatMap((doc) => [doc, ...sideDocuments(doc)]);
        expect(documents.length).to.be.at.most(MAX_TRANSACTION_DOCUMENTS);
        expect(documents.reduce((sum, doc) => sum + bsonSize(doc), 0)).to.be.at.most(MAX_TRANSACTION_BYTES);
      }
      expect(transactionChunks(txPlan(many(300)), { companionDocuments: sideDocuments }), '300 CREATEs and their asset data: one transaction').to.have.length(1);
    });

    it('tells a block that fits in one transaction from one that must be committed step by step', function () {
      const small = many(10);
      expect(commitFitsOneTransaction(block(2, small), small)).to.equal(true);
      // Each CREATE: its document, its asset data, its metadata record (null too), its output:
      // 4 documents; 300 of them and the pre-commit record and the block are past 1,000.
      const large = many(300);
      expect(commitFitsOneTransaction(block(2, large), large)).to.equal(false);
      expect(commitFitsOneTransaction(block(2, small), small, { documents: 41, bytes: 1e9 }), '10 x 4 + pre-commit + block = 42').to.equal(false);
      expect(commitFitsOneTransaction(block(2, small), small, { documents: 42, bytes: 1e9 })).to.equal(true);
      const heavy = [createTx({ data: { blob: 'x'.repeat(5 * 1024 * 1024) } })];
      expect(commitFitsOneTransaction(block(2, heavy), heavy), 'two copies of 5 MiB of asset data').to.equal(false);
    });
  });

  describe('what MongoDB cannot store, refused before the server is reached', function () {
    /** `{ s: { s: ... { s: 1 } } }` with `objects` objects. */
    const nest = (objects: number): Json => (objects === 1 ? { s: 1 } : { s: nest(objects - 1) });
    const unreachable = () => new MongoConnection(config({ host: '127.0.0.1', port: 1, maxTries: 1, connectionTimeout: 200 }));

    async function refusal(call: () => Promise<unknown>): Promise<ValidationError> {
      const error = await call().then(
        () => expect.fail('resolved'),
        (e: unknown) => e as Error,
      );
      // A ValidationError, not the ConnectionError reaching for the server would give.
      expect(error, String(error)).to.be.an.instanceOf(ValidationError);
      return error as ValidationError;
    }

    it('counts levels as MongoDB does: a top-level field at 1, arrays and objects alike, empty ones not', function () {
      expect(MONGODB_MAX_NESTING).to.equal(100);
      expect(unstorable(nest(100), 1), '100 objects: the innermost field at level 100').to.equal(null);
      expect(unstorable(nest(101), 1)).to.deep.equal({ path: 's.'.repeat(100) + 's', reason: 'is nested 101 levels deep as stored; MongoDB stores at most 100' });
      const arrays = (n: number): unknown => (n === 0 ? 'x' : [arrays(n - 1)]);
      expect(unstorable({ a: arrays(99) }, 1)).to.equal(null);
      expect(unstorable({ a: arrays(100) }, 1)?.path).to.equal('a' + '[0]'.repeat(100));
      expect(unstorable({ a: nest(99), b: {} }, 1), 'an empty object adds no level').to.equal(null);
      expect(unstorable({ a: [{ 'b\u0000c': 1 }] }, 1)).to.deep.equal({ path: 'a[0].b\u0000c', reason: 'has a key holding NUL (U+0000), which MongoDB cannot store' });
      expect(unstorable({ 'nul in a value': 'a\u0000b' }, 1), 'BSON strings carry NUL').to.equal(null);
    });

    it('refuses a transaction whose asset data has a key holding NUL, naming the field', async function () {
      const conn = unreachable();
      try {
        const tx = createTx({ data: { serial: 'S', nested: { 'x\u0000y': 1 } } });
        const error = await refusal(() => query.writeTransaction(conn, tx));
        expect(error.path).to.equal('asset.data.nested.x\u0000y');
        expect(error.message).to.equal('[localmongodb] invalid transaction: "asset.data.nested.x\\u0000y" has a key holding NUL (U+0000), which MongoDB cannot store');
        const batch = await refusal(() => query.writeTransactions(conn, [createTx(), tx]));
        expect(batch.path).to.equal('[1].asset.data.nested.x\u0000y');
        const committed = await refusal(() => query.commitBlock(conn, block(5, [tx]), [tx]));
        expect(committed.path).to.equal('[0].asset.data.nested.x\u0000y');
        await refusal(() => query.storeMetadatas(conn, [{ id: freshId(), metadata: { '\u0000': true } }]));
        await refusal(() => query.storeValidatorSet(conn, { height: 3, validators: [{ 'power\u0000': 1 }] }));
      } finally {
        await conn.close();
      }
    });

    it('refuses records nested deeper than every backend stores before MongoDB is reached; its own check counts the levels the layout adds', async function () {
      const conn = unreachable();
      try {
        // A transaction is stored under body: its asset data's fields sit at level 4.
        expect(unstorable(createTx({ data: nest(97) }), 1 + STORED_DEPTH.transaction)).to.equal(null);
        expect(unstorable(createTx({ data: nest(98) }), 1 + STORED_DEPTH.transaction)?.reason).to.include('101 levels deep as stored; MongoDB stores at most 100');
        // Asset data stored alone sits one level higher.
        expect(unstorable({ id: freshId(), data: nest(99) }, 1 + STORED_DEPTH.record)).to.equal(null);
        // The limit every backend shares (lib/model.ts, MAX_NESTING) is the one a transaction
        // fits in here: the generics refuse past it, whatever the record.
        const deep = createTx({ data: nest(98) });
        const error = await refusal(() => query.writeTransaction(conn, deep));
        expect(error.path).to.equal('asset.data' + '.s'.repeat(97));
        expect(error.message).to.include(`deeper than ${MAX_NESTING} levels`);
        const asset = await refusal(() => query.storeAsset(conn, { id: deep.id, data: nest(99) }));
        expect(asset.path).to.equal('data' + '.s'.repeat(98));
        await refusal(() => query.storeAssets(conn, [{ id: freshId(), data: 1 }, { id: deep.id, data: nest(99) }]));
      } finally {
        await conn.close();
      }
    });
  });

  describe('exact duplicates of an unordered insert', function () {
    const plan = () => ({ collection: { name: 'transactions' as const, key: 'id' as const }, docs: [createTx(), createTx(), createTx(), createTx()].map(transactionDocument) });

    it('names exactly the documents refused because another record holds their key', function () {
      const insert = plan();
      const [a, b, c, d] = insert.docs;
      const writeErrors = [
        { index: 1, code: 11000 },
        { index: 3, code: 11000 },
      ];
      expect(duplicateCandidates(insert, writeErrors)).to.deep.equal([b.id, d.id]);
      const owners = new Map([
        [b.id, new ObjectId().toHexString()],
        [d.id, new ObjectId().toHexString()],
      ]);
      expect(sortRefusals(insert, writeErrors, owners)).to.deep.equal({ inserted: [a, c], duplicates: [b.id, d.id], otherRefusal: false });
    });

    it('counts a key held under our own _id as stored by our earlier try, not as a duplicate', function () {
      const insert = plan();
      const [a, b, c, d] = insert.docs;
      const writeErrors = [
        { index: 0, code: 11000 },
        { index: 2, code: 11000 },
      ];
      const owners = new Map([
        [a.id, a._id.toHexString()],
        [c.id, new ObjectId().toHexString()],
      ]);
      expect(sortRefusals(insert, writeErrors, owners)).to.deep.equal({ inserted: [a, b, d], duplicates: [c.id], otherRefusal: false });
    });

    it('tells a refusal for another reason apart, and never calls it a duplicate', function () {
      const insert = plan();
      const [a, b, c, d] = insert.docs;
      const writeErrors = [
        { index: 1, code: 10334 },
        { index: 2, code: 11000 },
      ];
      expect(duplicateCandidates(insert, writeErrors)).to.deep.equal([c.id]);
      const outcome = sortRefusals(insert, writeErrors, new Map([[c.id, new ObjectId().toHexString()]]));
      expect(outcome).to.deep.equal({ inserted: [a, d], duplicates: [c.id], otherRefusal: true });
      expect(outcome.inserted, 'the refused one is not stored').not.to.include(b);
    });
  });

  describe('filters', function () {
    const [a, b] = [freshId(), freshId()];

    it('selects by key list, asset, operation and write order', function () {
      expect(keyIn('id', [a, b])).to.deep.equal({ id: { $in: [a, b] } });
      expect(txidsFilter(a)).to.deep.equal({ asset_id: a });
      expect(txidsFilter(a, 'TRANSFER')).to.deep.equal({ asset_id: a, 'body.operation': 'TRANSFER' });
      expect(writeOrder()).to.deep.equal({ _id: 1 });
      expect(writeOrder(true)).to.deep.equal({ _id: -1 });
    });

    it('matches a spent output on one input (both fields together)', function () {
      expect(spentFilter(a, 2)).to.deep.equal({ 'body.inputs': { $elemMatch: { 'fulfills.transaction_id': a, 'fulfills.output_index': 2 } } });
    });

    it('matches exact (transaction_id, output_index) pairs, grouped by transaction, never their cross product', function () {
      const refs = [
        { transaction_id: a, output_index: 0 },
        { transaction_id: b, output_index: 1 },
        { transaction_id: a, output_index: 2 },
        { transaction_id: a, output_index: 0 },
      ];
      expect(spendingFilter(refs)).to.deep.equal({
        $or: [
          { 'body.inputs': { $elemMatch: { 'fulfills.transaction_id': a, 'fulfills.output_index': { $in: [0, 2] } } } },
          { 'body.inputs': { $elemMatch: { 'fulfills.transaction_id': b, 'fulfills.output_index': { $in: [1] } } } },
        ],
      });
      expect(utxoRefsFilter(refs)).to.deep.equal({
        $or: [
          { transaction_id: a, output_index: { $in: [0, 2] } },
          { transaction_id: b, output_index: { $in: [1] } },
        ],
      });
    });

    it('finds owners through the outputs, and sole owners through one-key outputs', function () {
      expect(ownedFilter(alice)).to.deep.equal({ 'body.outputs.public_keys': alice });
      expect(assetTokensFilter(a, alice)).to.deep.equal({
        asset_id: a,
        'body.outputs': { $elemMatch: { public_keys: { $size: 1, $all: [alice] } } },
      });
    });

    it('keeps operator-shaped strings as values compared for equality', function () {
      const injected = '{"$gt": ""}';
      expect(ownedFilter(injected)).to.deep.equal({ 'body.outputs.public_keys': injected });
      expect(txidsFilter('$where', '$ne')).to.deep.equal({ asset_id: '$where', 'body.operation': '$ne' });
    });

    it('filters UTXOs by every given field, public_key through the creating transactions', function () {
      const tx = createTx({ outputs: [output([alice]), output([bob, alice]), output([bob])] });
      expect(ownerTransactionsFilter({ public_key: alice })).to.deep.equal({ 'body.outputs.public_keys': alice });
      expect(ownerTransactionsFilter({ public_key: alice, transaction_id: tx.id })).to.deep.equal({ 'body.outputs.public_keys': alice, id: tx.id });
      const owned = ownedOutputs([tx], alice);
      expect(owned).to.deep.equal([
        { transaction_id: tx.id, output_index: 0 },
        { transaction_id: tx.id, output_index: 1 },
      ]);
      const keyless = createTx({ outputs: [{ ...output([alice]), public_keys: null }, { ...output([alice]), public_keys: [] }, output([alice])] });
      expect(ownedOutputs([keyless], alice), 'outputs that name no key are owned by nobody').to.deep.equal([{ transaction_id: keyless.id, output_index: 2 }]);
      expect(utxoFilter({})).to.deep.equal({});
      expect(utxoFilter({ transaction_id: a, asset_id: b })).to.deep.equal({ transaction_id: a, asset_id: b });
      expect(utxoFilter({ asset_id: b, public_key: alice }, owned)).to.deep.equal({
        asset_id: b,
        $or: [{ transaction_id: tx.id, output_index: { $in: [0, 1] } }],
      });
    });

    it('finds the validator set at or below a height', function () {
      expect(validatorSetFilter()).to.deep.equal({});
      expect(validatorSetFilter(7)).to.deep.equal({ height: { $lte: 7 } });
    });
  });

  describe('text search documents', function () {
    it('rebuilds the search string: words, phrases, exclusions; terms that cannot match left out', function () {
      expect(textSearchStrings(parseSearch('coffee "fair trade" -decaf -"instant mix"'))).to.deep.equal(['"fair trade" coffee -decaf -"instant mix"']);
      expect(textSearchStrings(parseSearch('coffee tea -decaf'))).to.deep.equal(['coffee tea -decaf']);
      expect(textSearchStrings(parseSearch('* %_\\ {"$gt": ""}'))).to.deep.equal(['"$gt"']);
      expect(textSearchStrings(parseSearch('-decaf'))).to.deep.equal([]);
      expect(textSearchStrings(parseSearch('* AND', 'none')), 'AND is a word, not an operator').to.deep.equal(['AND']);
      expect(textSearchStrings(parseSearch('* AND')), 'and, in English, a stop word').to.deep.equal([]);
      expect(textSearchStrings(parseSearch(''))).to.deep.equal([]);
    });

    it('quotes a word the index splits into pieces, so it means its pieces together, as on the other backends', function () {
      expect(['pre-market', 'X-1', 'e.mail', "don't", 'a_b'].map(isCompound)).to.deep.equal([true, true, true, true, true]);
      expect(['coffee', 'coffee-', '-x', '(tea)', 'café'].map(isCompound)).to.deep.equal([false, false, false, false, false]);
      // Unquoted, MongoDB would match any record with "pre" or "market".
      expect(textSearchStrings(parseSearch('pre-market'))).to.deep.equal(['"pre-market"']);
      // Any word decides: the plain words in one query, each compound word in a query of its own.
      expect(textSearchStrings(parseSearch('coffee pre-market tea X-1'))).to.deep.equal(['coffee tea', '"pre-market"', '"X-1"']);
      // Unquoted, -pre-market would exclude every record with "pre" or with "market".
      expect(textSearchStrings(parseSearch('coffee -pre-market'))).to.deep.equal(['coffee -"pre-market"']);
      expect(textSearchStrings(parseSearch('coffee pre-market -e-mail -decaf'))).to.deep.equal(['coffee -"e-mail" -decaf', '"pre-market" -"e-mail" -decaf']);
      // With a phrase only the phrases decide: compound words would only rank, and are left out.
      expect(textSearchStrings(parseSearch('"fair trade" pre-market coffee'))).to.deep.equal(['"fair trade" coffee']);
    });

    it('merges the matches of several queries: each record once with its best score, then write order', function () {
      const [first, second, third] = [new ObjectId(), new ObjectId(), new ObjectId()];
      const hits = mergeHits(
        [
          [
            { _id: second, id: 'b', data: 'B', score: 1.5 },
            { _id: first, id: 'a', data: 'A', score: 1 },
          ],
          [
            { _id: third, id: 'c', data: 'C', score: 1.5 },
            { _id: first, id: 'a', data: 'A', score: 2 },
          ],
        ],
        'data',
      );
      expect(hits).to.deep.equal([
        { id: 'a', doc: 'A', score: 2 },
        { id: 'b', doc: 'B', score: 1.5 },
        { id: 'c', doc: 'C', score: 1.5 },
      ]);
    });

    it('queries $text in the index language, ranked by textScore then write order', function () {
      expect(textSearchQuery('coffee', { field: 'metadata', language: 'english', caseSensitive: true })).to.deep.equal({
        filter: { $text: { $search: 'coffee', $language: 'english', $caseSensitive: true } },
        projection: { _id: 1, id: 1, metadata: 1, score: { $meta: 'textScore' } },
        sort: { score: { $meta: 'textScore' }, _id: 1 },
      });
    });

    it('refuses a language the index does not stem in, before reaching any server', async function () {
      const conn = new MongoConnection(config({ host: '127.0.0.1', port: 1, maxTries: 1, connectionTimeout: 200 }));
      try {
        const error = await query.textSearch(conn, 'café', { language: 'french' }).then(
          () => expect.fail('resolved'),
          (e: unknown) => e as Error,
        );
        expect(error).to.be.an.instanceOf(UnsupportedOperationError);
        expect(error.message).to.include('[localmongodb]').and.to.include('french');
      } finally {
        await conn.close();
      }
    });
  });

  describe('change streams', function () {
    it('matches the operation types of each operation mask, and invalidate', function () {
      const expected: Record<number, string[]> = {
        1: ['insert'],
        2: ['delete'],
        3: ['insert', 'delete'],
        4: ['update', 'replace'],
        5: ['insert', 'update', 'replace'],
        6: ['delete', 'update', 'replace'],
        7: ['insert', 'delete', 'update', 'replace'],
      };
      for (let mask = 1; mask <= ChangeFeed.ALL; mask++) {
        expect(changeStreamPipeline(mask), `mask ${mask}`).to.deep.equal([{ $match: { operationType: { $in: [...expected[mask], 'invalidate'] } } }]);
      }
    });

    it('asks the server to split events over 16 MiB where it can, as the last stage', function () {
      expect(changeStreamPipeline(ChangeFeed.INSERT, true)).to.deep.equal([
        { $match: { operationType: { $in: ['insert', 'invalidate'] } } },
        { $changeStreamSplitLargeEvent: {} },
      ]);
      expect(changeStreamPipeline(ChangeFeed.INSERT, false)).to.have.length(1);
      expect(splitsLargeEvents(21), 'MongoDB 7.0').to.equal(true);
      expect(splitsLargeEvents(25), 'MongoDB 8.0').to.equal(true);
      expect(splitsLargeEvents(17, '6.0.9')).to.equal(true);
      expect(splitsLargeEvents(17, '6.0.20')).to.equal(true);
      expect(splitsLargeEvents(17, '6.0.8')).to.equal(false);
      expect(splitsLargeEvents(17, '6.0.9-rc0'), 'a release candidate of 6.0.9').to.equal(true);
      expect(splitsLargeEvents(17), 'a 6.0 server whose version is unknown').to.equal(false);
      expect(splitsLargeEvents(19, '6.2.1'), 'rapid releases before 7.0').to.equal(false);
      expect(splitsLargeEvents(13, '5.0.30')).to.equal(false);
    });

    it('joins the fragments of a split event into the event, with the last fragment\'s token', function () {
      const joiner = new FragmentJoiner();
      const doc = { _id: new ObjectId(), height: 1, app_hash: 'ab', transactions: [] };
      const first = { _id: { _data: '01' }, splitEvent: { fragment: 1, of: 3 }, operationType: 'replace', ns: { db: 'chainstore', coll: 'blocks' }, documentKey: { _id: doc._id } };
      const second = { _id: { _data: '02' }, splitEvent: { fragment: 2, of: 3 }, fullDocument: doc };
      const third = { _id: { _data: '03' }, splitEvent: { fragment: 3, of: 3 }, fullDocumentBeforeChange: { ...doc, app_hash: 'aa' } };
      expect(joiner.add(first)).to.equal(null);
      expect(joiner.pending).to.equal(true);
      expect(joiner.add(second)).to.equal(null);
      const whole = joiner.add(third);
      expect(joiner.pending).to.equal(false);
      expect(whole).to.deep.equal({
        _id: { _data: '03' },
        operationType: 'replace',
        ns: { db: 'chainstore', coll: 'blocks' },
        documentKey: { _id: doc._id },
        fullDocument: doc,
        fullDocumentBeforeChange: { ...doc, app_hash: 'aa' },
      });
      expect(changeEvent('blocks', whole as never)).to.deep.equal({ operation: ChangeFeed.UPDATE, table: 'blocks', record: { height: 1, app_hash: 'ab', transactions: [] } });
      const plain = { _id: { _data: '04' }, operationType: 'insert', fullDocument: doc };
      expect(joiner.add(plain), 'an event that was not split').to.equal(plain);
    });

    it('starts a split event over after its stream is lost, and refuses fragments out of order', function () {
      const joiner = new FragmentJoiner();
      joiner.add({ _id: { _data: '01' }, splitEvent: { fragment: 1, of: 2 }, operationType: 'insert' });
      joiner.clear();
      expect(joiner.pending).to.equal(false);
      expect(() => joiner.add({ _id: { _data: '02' }, splitEvent: { fragment: 2, of: 2 } })).to.throw(OperationError, /^\[localmongodb\] a change event split by the server arrived out of order: fragment 2 of 2 after 0/);
      joiner.add({ _id: { _data: '01' }, splitEvent: { fragment: 1, of: 2 }, operationType: 'insert' });
      expect(() => joiner.add({ _id: { _data: '05' }, operationType: 'insert' })).to.throw(OperationError, /an unsplit event after fragment 1/);
      expect(joiner.pending, 'a refusal forgets the partial event').to.equal(false);
    });

    it('starts at the operation time, resumes after a token, starts after an invalidate', function () {
      const at = new Timestamp({ t: 1_700_000_000, i: 3 });
      const token = { _data: '8263A1' };
      expect(changeStreamOptions(ChangeFeed.INSERT, { at }, true)).to.deep.equal({ startAtOperationTime: at });
      expect(changeStreamOptions(ChangeFeed.INSERT, { token, afterInvalidate: false }, true)).to.deep.equal({ resumeAfter: token });
      expect(changeStreamOptions(ChangeFeed.INSERT, { token, afterInvalidate: true }, true)).to.deep.equal({ startAfter: token });
    });

    it('looks the document up after an update always, and asks for it before a delete only where the collection keeps images', function () {
      const at = new Timestamp({ t: 1, i: 1 });
      expect(changeStreamOptions(ChangeFeed.ALL, { at }, true)).to.deep.equal({
        startAtOperationTime: at,
        fullDocument: 'updateLookup',
        fullDocumentBeforeChange: 'whenAvailable',
      });
      // Images not kept (collMod refused, or MongoDB 5.0): an update still carries its record.
      expect(changeStreamOptions(ChangeFeed.ALL, { at }, false)).to.deep.equal({ startAtOperationTime: at, fullDocument: 'updateLookup' });
      expect(changeStreamOptions(ChangeFeed.UPDATE, { at }, false)).to.deep.equal({ startAtOperationTime: at, fullDocument: 'updateLookup' });
      expect(changeStreamOptions(ChangeFeed.DELETE, { at }, true)).to.deep.equal({ startAtOperationTime: at, fullDocumentBeforeChange: 'whenAvailable' });
      expect(changeStreamOptions(ChangeFeed.INSERT | ChangeFeed.DELETE, { at }, false)).to.deep.equal({ startAtOperationTime: at });
    });

    it('starts one tick after the operation time: what was acknowledged before is not delivered', function () {
      const next = nextTimestamp(new Timestamp({ t: 1_700_000_000, i: 41 }));
      expect([next.t, next.i]).to.deep.equal([1_700_000_000, 42]);
      const wrapped = nextTimestamp(new Timestamp({ t: 5, i: 0xffffffff }));
      expect([wrapped.t, wrapped.i]).to.deep.equal([6, 0]);
    });

    it('turns change events into chainstore events with public records', function () {
      const tx = createTx();
      const doc = transactionDocument(tx);
      const common = { _id: { _data: '82' }, ns: { db: 'chainstore', coll: 'transactions' }, documentKey: { _id: doc._id }, clusterTime: new Timestamp({ t: 1, i: 1 }) };
      const insert = changeEvent('transactions', { ...common, operationType: 'insert', fullDocument: doc } as never);
      expect(insert).to.deep.equal({ operation: ChangeFeed.INSERT, table: 'transactions', record: tx });
      const deleted = changeEvent('transactions', { ...common, operationType: 'delete', fullDocumentBeforeChange: doc } as never);
      expect(deleted).to.deep.equal({ operation: ChangeFeed.DELETE, table: 'transactions', record: tx });
      const withoutImage = changeEvent('transactions', { ...common, operationType: 'delete' } as never);
      expect(withoutImage).to.deep.equal({ operation: ChangeFeed.DELETE, table: 'transactions', record: null });
      const state = { _id: PRE_COMMIT_ID, height: 2, transactions: [] };
      expect(changeEvent('pre_commit', { ...common, operationType: 'replace', fullDocument: state } as never)).to.deep.equal({
        operation: ChangeFeed.UPDATE,
        table: 'pre_commit',
        record: { height: 2, transactions: [] },
      });
      // An update by another writer: the document as updateLookup found it.
      expect(changeEvent('pre_commit', { ...common, operationType: 'update', fullDocument: state, updateDescription: { updatedFields: { height: 2 } } } as never)).to.deep.equal({
        operation: ChangeFeed.UPDATE,
        table: 'pre_commit',
        record: { height: 2, transactions: [] },
      });
      expect(changeEvent('pre_commit', { ...common, operationType: 'update', fullDocument: null } as never), 'deleted before the event was read').to.deep.equal({
        operation: ChangeFeed.UPDATE,
        table: 'pre_commit',
        record: null,
      });
      expect(changeEvent('transactions', { ...common, operationType: 'drop' } as never)).to.equal(null);
    });
  });

  describe('replica set configuration', function () {
    const current = {
      _id: 'rs0',
      version: 7,
      term: 3,
      protocolVersion: 1,
      members: [
        { _id: 0, host: 'db1:27017', priority: 1, votes: 1 },
        { _id: 3, host: 'db2.internal:27018', priority: 1, votes: 1 },
      ],
      settings: { electionTimeoutMillis: 10000 },
    };

    it('adds a member with a fresh _id and the next version, keeping the rest', function () {
      expect(withMemberAdded(current, 'DB4.internal')).to.deep.equal({
        ...current,
        version: 8,
        members: [...current.members, { _id: 4, host: 'db4.internal:27017' }],
      });
      expect(withMemberAdded(current, 'db1'), 'already a member').to.equal(null);
      expect(current.version, 'the current configuration is not changed').to.equal(7);
    });

    it('adds members past seven votes without a vote and with priority 0, as MongoDB requires', function () {
      expect([MAX_MEMBERS, MAX_VOTING_MEMBERS]).to.deep.equal([50, 7]);
      const hosts = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ _id: from + i, host: `db${from + i}:27017` }));
      const six = { _id: 'rs0', version: 1, members: hosts(6) };
      expect(votingMembers(six)).to.equal(6);
      const seven = withMemberAdded(six, 'db6')!;
      expect(seven.members[6], 'the seventh votes').to.deep.equal({ _id: 6, host: 'db6:27017' });
      expect(votingMembers(seven)).to.equal(7);
      const eight = withMemberAdded(seven, 'db7')!;
      expect(eight.members[7], 'the eighth does not').to.deep.equal({ _id: 7, host: 'db7:27017', votes: 0, priority: 0 });
      expect(votingMembers(eight)).to.equal(7);
      // Non-voting members and an arbiter are counted as they are configured.
      const mixed = { _id: 'rs0', version: 1, members: [...hosts(5), { _id: 5, host: 'arb:27017', arbiterOnly: true }, { _id: 6, host: 'ro:27017', votes: 0, priority: 0 }] };
      expect(votingMembers(mixed)).to.equal(6);
      expect(withMemberAdded(mixed, 'db9')!.members[7], 'a vote is free').to.deep.equal({ _id: 7, host: 'db9:27017' });
    });

    it('refuses a member past fifty, naming the set and the limit', function () {
      const full = { _id: 'rs0', version: 9, members: Array.from({ length: 50 }, (_, i) => ({ _id: i, host: `db${i}:27017`, ...(i >= 7 ? { votes: 0, priority: 0 } : {}) })) };
      expect(() => withMemberAdded(full, 'db50')).to.throw(OperationError, '[localmongodb] addReplicas: cannot add db50:27017: replica set rs0 has 50 members, the most MongoDB allows');
      expect(withMemberAdded(full, 'db3'), 'already a member: nothing to do').to.equal(null);
    });

    it('removes a member by host, with the next version', function () {
      expect(withMemberRemoved(current, 'db2.internal:27018')).to.deep.equal({ ...current, version: 8, members: [current.members[0]] });
      expect(withMemberRemoved(current, 'db2.internal'), 'another port: no member').to.equal(null);
      expect(normalizeHost('[::1]:27019')).to.equal('[::1]:27019');
      expect(normalizeHost(' Db1 ')).to.equal('db1:27017');
    });
  });

  describe('deployment kinds', function () {
    it('tells a standalone server, a replica set member and a mongos router from hello', function () {
      expect(describeServer({ isWritablePrimary: true, maxWireVersion: 21 })).to.deep.equal({
        topology: 'standalone', maxWireVersion: 21, hosts: [], transactions: false, changeStreams: false, preImages: false,
      });
      expect(describeServer({ isWritablePrimary: true, setName: 'rs0', hosts: ['db1:27017'], passives: ['db9:27017'], maxWireVersion: 21 })).to.deep.equal({
        topology: 'replicaSet', setName: 'rs0', maxWireVersion: 21, hosts: ['db1:27017', 'db9:27017'], transactions: true, changeStreams: true, preImages: true,
      });
      expect(describeServer({ setName: 'rs0', maxWireVersion: 13 }).preImages, 'MongoDB 5.0').to.equal(false);
      expect(describeServer({ msg: 'isdbgrid', maxWireVersion: 17 })).to.include({ topology: 'sharded', transactions: true, changeStreams: true, preImages: true });
      expect(describeServer({ msg: 'isdbgrid', maxWireVersion: 7 }).transactions, 'mongos 4.0').to.equal(false);
    });
  });

  describe('errors', function () {
    it('maps a duplicate key to DuplicateKeyError with the key, keeping the driver error as cause', function () {
      const driverError = new MongoServerError({ code: 11000, keyValue: { id: 'ab' }, errmsg: duplicateMessage('transactions', 'id_unique', 'id: "ab"') });
      const error = mapMongoError(driverError, 'store asset');
      expect(error).to.be.an.instanceOf(DuplicateKeyError);
      expect((error as DuplicateKeyError).keys).to.deep.equal(['ab']);
      expect((error as DuplicateKeyError).backend).to.equal('localmongodb');
      expect(error.message).to.match(/^\[localmongodb\] store asset failed: duplicate key ab/);
      expect(error.cause).to.equal(driverError);
      expect(duplicateKeyDetails(driverError)).to.deep.equal([{ collection: 'transactions', index: 'id_unique', key: 'ab' }]);
    });

    it('reads the key from the message when the driver kept no keyValue', function () {
      const error = mapMongoError(new MongoServerError({ code: 11000, errmsg: duplicateMessage('blocks', 'height_unique', 'height: 7') }), 'store block');
      expect((error as DuplicateKeyError).keys).to.deep.equal([7]);
    });

    it('lists every refused key of an unordered bulk write, with positions', function () {
      const driverError = bulkError([
        { index: 1, code: 11000, errmsg: duplicateMessage('transactions', 'id_unique', 'id: "aa"') },
        { index: 4, code: 11000, errmsg: duplicateMessage('transactions', 'id_unique', 'id: "bb"') },
      ]);
      expect(isDuplicateKeyError(driverError)).to.equal(true);
      expect(duplicateKeyDetails(driverError)).to.deep.equal([
        { collection: 'transactions', index: 'id_unique', key: 'aa', position: 1 },
        { collection: 'transactions', index: 'id_unique', key: 'bb', position: 4 },
      ]);
      const error = mapMongoError(driverError, 'write transactions');
      expect(error).to.be.an.instanceOf(DuplicateKeyError);
      expect((error as DuplicateKeyError).keys).to.deep.equal(['aa', 'bb']);
      expect(error.cause).to.equal(driverError);
    });

    it('does not call a bulk write with another refusal a duplicate', function () {
      const mixed = bulkError([
        { index: 0, code: 11000, errmsg: duplicateMessage('transactions', 'id_unique', 'id: "aa"') },
        { index: 1, code: 10334, errmsg: 'object to insert too large' },
      ]);
      expect(isDuplicateKeyError(mixed)).to.equal(false);
      expect(mapMongoError(mixed, 'write transactions')).to.be.an.instanceOf(OperationError).and.not.to.be.an.instanceOf(DuplicateKeyError);
    });

    it('maps an unreachable or lost deployment to ConnectionError, without the password', function () {
      const failures = [
        // The driver's own description of the topology it could not select from (no server answered).
        new MongoServerSelectionError(`connect ECONNREFUSED 127.0.0.1:1 (auth ${PASSWORD})`, {} as never),
        new MongoNetworkError('connection 3 to 127.0.0.1:27017 closed'),
        new MongoNotConnectedError('Client must be connected before running operations'),
      ];
      for (const failure of failures) {
        expect(isConnectionFailure(failure), failure.name).to.equal(true);
        const error = mapMongoError(failure, 'get block', { secret: PASSWORD, tries: 3, target: '127.0.0.1:1/chainstore' });
        expect(error, failure.name).to.be.an.instanceOf(ConnectionError);
        expect(error.message).to.match(/^\[localmongodb\] get block failed: could not reach 127\.0\.0\.1:1\/chainstore after 3 tries: /);
        expect(error.message).not.to.include(PASSWORD);
        expect(error.cause).to.equal(failure);
      }
    });

    it('takes a failed DNS lookup of a mongodb+srv:// host for an unreachable deployment', function () {
      const dns = Object.assign(new Error('querySrv ENOTFOUND _mongodb._tcp.cluster0.example.net'), { code: 'ENOTFOUND' });
      expect(isConnectionFailure(dns)).to.equal(true);
      expect(mapMongoError(dns, 'get block')).to.be.an.instanceOf(ConnectionError);
      expect(isConnectionFailure(Object.assign(new Error('no'), { code: 'EACCES' }))).to.equal(false);
    });

    it('sees a lost connection inside a bulk write error, and retries it', function () {
      const network = new MongoNetworkError('connection reset');
      network.addErrorLabel('TransientTransactionError');
      const wrapped = new MongoBulkWriteError(network, new BulkWriteResult({ ok: 0, writeErrors: [], writeConcernErrors: [], insertedIds: [], nInserted: 0, nUpserted: 0, nMatched: 0, nModified: 0, nRemoved: 0, upserted: [] }, false) as never);
      expect(isConnectionFailure(wrapped)).to.equal(true);
      expect(isRetryable(wrapped)).to.equal(true);
      expect(isDuplicateKeyError(wrapped)).to.equal(false);
      expect(wrapped.hasErrorLabel('TransientTransactionError'), "the driver's transaction retry still sees the label").to.equal(true);
      expect(mapMongoError(wrapped, 'write transactions')).to.be.an.instanceOf(ConnectionError);
    });

    it('retries a deployment between primaries, not a refused operation', function () {
      expect(isRetryable(new MongoServerError({ code: 10107, errmsg: 'not primary' }))).to.equal(true);
      const labelled = new MongoServerError({ code: 9999, errmsg: 'x', errorLabels: ['RetryableWriteError'] });
      expect(isRetryable(labelled)).to.equal(true);
      expect(isRetryable(new MongoServerError({ code: 11000, errmsg: 'E11000' }))).to.equal(false);
      expect(isRetryable(new MongoServerError({ code: 2, errmsg: 'BadValue' }))).to.equal(false);
      const refused = mapMongoError(new MongoServerError({ code: 13, errmsg: 'not authorized on chainstore' }), 'get block');
      expect(refused).to.be.an.instanceOf(OperationError).and.not.to.be.an.instanceOf(ConnectionError);
      expect(refused.message).to.equal('[localmongodb] get block failed: not authorized on chainstore (code 13)');
    });

    it('resumes a change stream after a lost connection, never after its history is gone', function () {
      expect(isResumable(new MongoNetworkError('reset'))).to.equal(true);
      expect(isResumable(new MongoServerError({ code: 43, errmsg: 'cursor not found', errorLabels: ['ResumableChangeStreamError'] }))).to.equal(true);
      const lost = new MongoServerError({ code: 286, errmsg: 'resume point no longer in the oplog' });
      expect(isResumable(lost)).to.equal(false);
      expect(isHistoryLost(lost)).to.equal(true);
    });

    it('passes chainstore errors through, and masks a password however it is spelled', function () {
      const own = new ValidationError('bad', 'x');
      expect(mapMongoError(own, 'anything')).to.equal(own);
      const failed = mapMongoError(new Error(`auth failed: a ${PASSWORD} b ${encodeURIComponent(PASSWORD)}`), 'connect', { secret: PASSWORD });
      expect(failed.message).to.include('a *** b ***');
      expect(failed.message).to.not.include(PASSWORD);
      expect(failed.message).to.not.include(encodeURIComponent(PASSWORD));
      expect(mapMongoError(new Error('nothing'), 'connect').message).to.include('nothing');
    });
  });

  describe('the schema generics: which database `name` names', function () {
    /**
     * A stand-in for the driver's client (not a server): every database it is asked for is
     * recorded with what was done there, and answers as an empty database does.
     */
    function recordingClient() {
      const used: string[] = [];
      const database = (name: string) => {
        const note = (what: string) => used.push(`${name}: ${what}`);
        return {
          command: async (command: Record<string, unknown>) => (note(Object.keys(command)[0]), { ok: 1 }),
          listCollections: () => ({ toArray: async () => (note('listCollections'), []) }),
          createCollection: async (table: string) => note(`createCollection ${table}`),
          collection: (table: string) => ({ createIndexes: async () => (note(`createIndexes ${table}`), []) }),
          dropDatabase: async () => (note('dropDatabase'), true),
        };
      };
      return { used, client: { db: database } };
    }

    async function recorded(name: string | undefined, call: (conn: MongoConnection, name?: string) => Promise<unknown>): Promise<string[]> {
      const conn = (await connect({ backend: 'localmongodb', host: '127.0.0.1', port: 1, name: 'chainstore' })) as MongoConnection;
      const { used, client } = recordingClient();
      Object.assign(conn, { connectedClient: async () => client, serverInfo: async () => ({ preImages: false }) });
      try {
        await call(conn, name);
      } finally {
        await conn.close();
      }
      return used;
    }

    const databases = (used: string[]) => [...new Set(used.map((entry) => entry.split(':')[0]))];

    it('acts on database `name` in each generic, never on the configured one', async function () {
      expect(await recorded('dummy_db', (conn, name) => schema.createDatabase(conn, name))).to.deep.equal(['dummy_db: ping']);
      const tables = await recorded('dummy_db', (conn, name) => schema.createTables(conn, name));
      expect(databases(tables)).to.deep.equal(['dummy_db']);
      expect(tables).to.include.members(TABLES.map((table) => `dummy_db: createCollection ${table}`));
      expect(await recorded('dummy_db', (conn, name) => schema.dropDatabase(conn, name))).to.deep.equal(['dummy_db: dropDatabase']);
      expect(await recorded('dummy_db', (conn, name) => schema.isInitialized(conn, name))).to.deep.equal(['dummy_db: listCollections']);
      expect(databases(await recorded('dummy_db', (conn, name) => schema.initDatabase(conn, name)))).to.deep.equal(['dummy_db']);
    });

    it('acts on the configured database without `name`', async function () {
      for (const call of [schema.createDatabase, schema.createTables, schema.dropDatabase, schema.isInitialized, schema.initDatabase]) {
        expect(databases(await recorded(undefined, (conn) => call(conn))), call.name).to.deep.equal(['chainstore']);
      }
    });
  });

  describe('the connection, without a server', function () {
    it('implements every generic itself: nothing missing, nothing inherited', function () {
      const states = coverage(MongoConnection);
      expect(Object.entries(states).filter(([, state]) => state === 'missing')).to.deep.equal([]);
      expect(Object.entries(states).filter(([, state]) => state !== 'own')).to.deep.equal([]);
    });

    it('opens no socket before the first operation, and reaches the server on it', async function () {
      this.timeout(15000);
      let sockets = 0;
      // A plain TCP listener that counts connections and answers nothing (not a MongoDB server).
      const listener = net.createServer((socket) => {
        sockets++;
        socket.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
      const { port } = listener.address() as net.AddressInfo;
      try {
        const conn = await connect({ backend: 'localmongodb', host: '127.0.0.1', port, maxTries: 1, connectionTimeout: 300 });
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(sockets, 'sockets opened by connect()').to.equal(0);
        await query.getLatestBlock(conn).then(
          () => expect.fail('resolved without a MongoDB server'),
          (error: unknown) => expect(error).to.be.an.instanceOf(ConnectionError),
        );
        expect(sockets, 'sockets opened by the first operation').to.be.greaterThan(0);
        await conn.close();
      } finally {
        listener.close();
      }
    });

    it('connects lazily, then fails the first operation with ConnectionError after maxTries, without the password', async function () {
      this.timeout(15000);
      const conn = await connect({ backend: 'localmongodb', host: '127.0.0.1', port: 1, login: 'app', password: PASSWORD, maxTries: 2, connectionTimeout: 250 });
      expect(conn).to.be.an.instanceOf(MongoConnection);
      expect(printed(conn)).not.to.include(PASSWORD);
      const started = Date.now();
      const error = await query.getLatestBlock(conn).then(
        () => expect.fail('resolved without a server'),
        (e: unknown) => e as Error,
      );
      const elapsed = Date.now() - started;
      expect(error, String(error)).to.be.an.instanceOf(ConnectionError);
      expect(error.message).to.include('[localmongodb] get latest block failed').and.to.include('after 2 tries');
      expect(printed(error)).not.to.include(PASSWORD);
      expect(elapsed, 'two server selections of 250 ms and one pause').to.be.within(400, 5000);
      await conn.close();
    });

    it('tries createDatabase, dropDatabase and initDatabase maxTries times, as a query, against a server that never answers', async function () {
      this.timeout(15000);
      await expectStartupRetries(
        'localmongodb',
        // The driver opens a socket per server selection (its monitor may open more).
        (name, accepted) => expect(accepted, `${name}: connections the server accepted`).to.be.at.least(2),
      );
    });

    it('fails a changefeed when awaited while the server cannot be reached', async function () {
      const conn = await connect({ backend: 'localmongodb', host: '127.0.0.1', port: 1, password: PASSWORD, login: 'app', maxTries: 1, connectionTimeout: 200 });
      try {
        const error = await Promise.resolve(changefeed.getChangefeed(conn, 'blocks', ChangeFeed.INSERT)).then(
          () => expect.fail('the feed started without a server'),
          (e: unknown) => e as Error,
        );
        expect(error, String(error)).to.be.an.instanceOf(ConnectionError);
        expect(printed(error)).not.to.include(PASSWORD);
      } finally {
        await conn.close();
      }
    });

    it('rejects operations on a closed connection with ConnectionError', async function () {
      const conn = await connect({ backend: 'localmongodb', host: '127.0.0.1', port: 1 });
      await conn.close();
      await conn.close();
      const error = await query.getBlock(conn, 1).then(
        () => expect.fail('resolved'),
        (e: unknown) => e as Error,
      );
      expect(error).to.be.an.instanceOf(ConnectionError);
      expect(error.message).to.include('closed');
    });

    it('refuses shard and per-table replica operations, naming the backend, without the network', async function () {
      const conn = await connect({ backend: 'localmongodb', host: '127.0.0.1', port: 1, maxTries: 1, connectionTimeout: 200 });
      try {
        for (const call of [
          () => admin.reconfigure(conn, { shards: 2, replicas: 3, dryRun: true }),
          () => admin.setShards(conn, 2),
          () => admin.setReplicas(conn, 3, { dryRun: true }),
        ]) {
          const error = await call().then(
            () => expect.fail('resolved'),
            (e: unknown) => e as Error,
          );
          expect(error).to.be.an.instanceOf(UnsupportedOperationError);
          expect((error as UnsupportedOperationError).backend).to.equal('localmongodb');
          expect(error.message).to.include('localmongodb').and.to.include('mongos');
        }
      } finally {
        await conn.close();
      }
    });

    it('declares what the configuration says before any operation, and says so in its notes', async function () {
      const standalone = await connect({ backend: 'localmongodb', host: '127.0.0.1', port: 1 });
      const replicaSet = await connect({ backend: 'localmongodb', url: 'mongodb://127.0.0.1:1/ledger?replicaSet=rs0' });
      const managed = await connect({ backend: 'localmongodb', url: 'mongodb+srv://cluster0.example.net/ledger' });
      try {
        expect(capabilities(standalone)).to.deep.include({ backend: 'localmongodb', atomicCommit: false, atomicBulkWrite: false, changefeed: false, textSearch: true });
        expect((capabilities(standalone) as MongoCapabilities).atomicUpTo, 'no transactions').to.equal(null);
        // All or nothing only up to one transaction's size: not for every size, as the booleans promise.
        expect(capabilities(replicaSet)).to.deep.include({ atomicCommit: false, atomicBulkWrite: false, changefeed: true, crossProcessChangefeed: true });
        expect((capabilities(replicaSet) as MongoCapabilities).atomicUpTo).to.deep.equal({ documents: 1000, bytes: 8 * 1024 * 1024 });
        expect(capabilities(replicaSet).notes.join(' ')).to.include('all or nothing up to 1000 documents and 8 MiB').and.to.include('step-by-step protocol');
        expect(capabilities(replicaSet).admin).to.deep.equal({
          getConfig: true, reconfigure: false, setShards: false, setReplicas: false, addReplicas: true, removeReplicas: true,
        });
        expect(capabilities(managed)).to.deep.include({ atomicCommit: false, changefeed: true });
        expect((capabilities(managed) as MongoCapabilities).atomicUpTo).to.deep.equal(TRANSACTION_LIMITS);
        expect(capabilities(managed).admin.addReplicas, 'a managed cluster may be sharded').to.equal(false);
        expect(capabilities(standalone).notes.join(' ')).to.include('No operation has run yet');
      } finally {
        await Promise.all([standalone.close(), replicaSet.close(), managed.close()]);
      }
    });
  });
});
