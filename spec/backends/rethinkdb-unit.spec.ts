/**
 * The rethinkdb backend without a RethinkDB server: configuration and the driver settings it
 * becomes, lazy connecting, the retry policy and the query deadline (against an unreachable
 * port, a peer that speaks only the protocol's handshake and hangs up at the first query, and
 * a path that goes silent after the login), error mapping with the driver's own error class,
 * the table and index definitions, the documents stored (escaping of `$reql_type$`), the ReQL
 * each generic sends (compared as wire terms, `r.serialize(term)`, including the order in
 * which a logged write writes its change-log entry and its change), the changefeed reader's
 * decisions, and the text-search matcher.
 *
 * What needs a server (that the queries do what they say, the changefeed end to end) is the
 * conformance run of rethinkdb.spec.ts.
 */
import net from 'node:net';
import { inspect } from 'node:util';
import { expect } from 'chai';
import { type Connection as DriverConnection, type RDatum, type RQuery, r } from 'rethinkdb-ts';
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
import { ConnectionLog } from '../../lib/log';
import { sideRecordsOf } from '../../lib/model';
import { parseSearch } from '../../lib/search';
import { RethinkChangeFeed, RethinkConnection } from '../../backends/rethinkdb';
import { configTerm, layoutTerm, reconfigureTerm, refuseTagged } from '../../backends/rethinkdb/admin';
import {
  type ChangeEntry,
  ENTRY_SIZE,
  type LoggedEvent,
  entriesById,
  entriesNumbered,
  liveEntries,
  notOlder,
  pruneEntries,
  startRead,
  tailRead,
  takeNumber,
} from '../../backends/rethinkdb/changelog';
import { assetDoc, electionKey, escapeKeys, lastByKey, metadataDoc, transactionDoc, unescapeKeys, utxoKey, validatorSetDoc } from '../../backends/rethinkdb/documents';
import { indeterminateWrite, isConnectionFailure, isTransient, isUnavailable, mapRethinkError } from '../../backends/rethinkdb/errors';
import { type LiveReport, LogReader, MAX_HOLES } from '../../backends/rethinkdb/logreader';
import { DEFAULTS, connectOptions, rethinkOptions } from '../../backends/rethinkdb/options';
import { writeBatches } from '../../backends/rethinkdb/query';
import { createDatabaseTerm, createIndexTerm, createTableTerm, dropDatabaseTerm, isInitializedTerm } from '../../backends/rethinkdb/schema';
import { type SearchPlan, planFor, searchPlan, textSearchTerm } from '../../backends/rethinkdb/search';
import { STORED_TABLES, TABLE_DEFINITIONS, table } from '../../backends/rethinkdb/tables';
import * as terms from '../../backends/rethinkdb/terms';
import { createTx, freshId, output, publicKey, spend, transferTx } from '../conformance/fixtures';
import { HandshakePeer } from '../support/rethinkdb-peer';
import { expectStartupRetries } from '../support/silent-server';

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

/** The table a write term writes to (its first argument is a table, or a selection of one). */
function target(write: Wire[]): string {
  let term = (write[1] as Wire[])[0] as Wire[];
  while (term[0] !== TermType.TABLE) term = (term[1] as Wire[])[0] as Wire[];
  return ((term[1] as Wire[])[1]) as string;
}

const WRITES: Record<number, string> = { [TermType.INSERT]: 'insert', [TermType.REPLACE]: 'replace', [TermType.UPDATE]: 'update', [TermType.DELETE]: 'delete' };

/**
 * The writes of a term in the order the server evaluates them: a term's arguments before the
 * term itself, and a `do` (FUNCALL) argument before the function's body. Both sides of a
 * branch are listed, in order.
 */
function writeOrder(term: Wire, out: string[] = []): string[] {
  if (!Array.isArray(term) || typeof term[0] !== 'number') {
    if (term !== null && typeof term === 'object') for (const value of Object.values(term)) writeOrder(value, out);
    return out;
  }
  const [type, args = [], optargs = {}] = term as [number, Wire[]?, Record<string, Wire>?];
  if (type === TermType.FUNCALL) {
    for (const arg of args.slice(1)) writeOrder(arg, out);
    writeOrder(args[0], out);
    return out;
  }
  for (const arg of args) writeOrder(arg, out);
  for (const value of Object.values(optargs)) writeOrder(value, out);
  if (WRITES[type]) out.push(`${WRITES[type]} ${target(term as Wire[])}`);
  return out;
}

/** The parameters of a function term. */
const paramsOf = (func: Wire[]): number[] => ((func[1] as Wire[])[0] as [number, number[]])[1];

/**
 * A TCP relay to a peer that lets the protocol's login through (the first two NUL-terminated
 * messages the client sends) and then swallows everything the client sends, answering
 * nothing and closing nothing: a network path that died silently after the login.
 */
class SilentPath {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();

  private constructor(upstreamPort: number) {
    this.#server = net.createServer((client) => {
      const upstream = net.connect(upstreamPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('error', () => undefined);
      }
      let terminators = 0;
      client.on('data', (chunk: Buffer) => {
        if (terminators >= 2) return;
        let end = chunk.length;
        for (let i = 0; i < chunk.length; i++) {
          if (chunk[i] === 0 && ++terminators === 2) {
            end = i + 1;
            break;
          }
        }
        upstream.write(chunk.subarray(0, end));
      });
      upstream.on('data', (chunk: Buffer) => client.write(chunk));
    });
  }

  static async start(upstreamPort: number): Promise<SilentPath> {
    const path = new SilentPath(upstreamPort);
    await new Promise<void>((resolve) => path.#server.listen(0, '127.0.0.1', resolve));
    return path;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

describe('rethinkdb backend without a server', function () {
  describe('configuration', function () {
    it('turns a rethinkdb:// URL into driver settings: server with TCP keepalive, database, user, timeout in seconds, silent', function () {
      const options = connectOptions(config({ url: `rethinkdb://app:${PASSWORD}@db.internal:28016/ledger`, connectionTimeout: 2500 })) as Record<string, unknown>;
      expect(options.server).to.deep.equal({ host: 'db.internal', port: 28016, keepAlive: true, keepAliveInitialDelay: DEFAULTS.keepAlive });
      expect(options.db).to.equal('ledger');
      expect(options.user).to.equal('app');
      expect(options.timeout).to.equal(2.5);
      expect(options.silent).to.equal(true);
      expect(options.pingInterval, "the driver's ping has no deadline: ours replaces it").to.equal(-1);
      expect(options).to.not.have.property('host');
      expect(options.password, 'the driver reads the password by name').to.equal(PASSWORD);
      expect((connectOptions(config({ keepAlive: 5000 })) as { server: unknown }).server).to.include({ keepAlive: true, keepAliveInitialDelay: 5000 });
      expect((connectOptions(config({ keepAlive: 0 })) as { server: object }).server, 'the system setting').to.not.have.property('keepAlive');
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
      expect(options.server).to.deep.include({ host: 'localhost', port: 28015 });
      expect(options.server).to.not.have.property('tls');
      expect(options.user).to.equal('admin');
      expect(options.password).to.equal('');
      expect(options.db).to.equal('chainstore');
    });

    it('turns ssl into TLS settings of the server (where Node ignores the keepalive settings, so none are given)', function () {
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
        queryTimeout: 60_000,
        keepAlive: 30_000,
        heartbeatInterval: 10_000,
        pollInterval: 1000,
        pendingTimeout: 120_000,
        changeLogRetention: 86_400_000,
        shards: undefined,
        replicas: undefined,
      });
      expect(rethinkOptions(config({ poolSize: 2, shards: 3, replicas: 2 }))).to.include({ poolSize: 2, shards: 3, replicas: 2 });
      expect(rethinkOptions(config({ queryTimeout: 0, pendingTimeout: 10 })), 'no deadline: no bound to respect').to.include({ queryTimeout: 0, pendingTimeout: 10 });
      for (const bad of [{ poolSize: 0 }, { pollInterval: 'soon' }, { shards: 65 }, { replicas: 1.5 }, { queryTimeout: -1 }, { heartbeatInterval: 0 }, { keepAlive: 'yes' }]) {
        await expect(connect({ backend: 'rethinkdb', ...bad }), JSON.stringify(bad)).to.be.rejectedWith(ConfigurationError, /\[rethinkdb\] option/);
      }
      await expect(connect({ backend: 'rethinkdb', queryTimeout: 60_000, pendingTimeout: 60_000 })).to.be.rejectedWith(
        ConfigurationError,
        /\[rethinkdb\] option pendingTimeout \(60000\) must exceed queryTimeout \(60000\)/,
      );
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
      await expect(query.writeTransaction(conn, createTx())).to.be.rejectedWith(ConnectionError, /could not reach/);
      await expect(admin.countRecords(conn)).to.be.rejectedWith(ConnectionError);
      await conn.close();
    });

    it('tries createDatabase, dropDatabase and initDatabase maxTries times, as a query, against a server that never answers', async function () {
      await expectStartupRetries(
        'rethinkdb',
        (name, accepted) => expect(accepted, `${name}: connections the server accepted`).to.equal(2),
      );
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

      it('sends the schema generics\' terms for the database `name` names, the configured one without it', async function () {
        const conn = await open({ maxTries: 1 });
        const calls: [() => Promise<unknown>, Wire][] = [
          [() => schema.createDatabase(conn, 'dummy_db'), wire(createDatabaseTerm('dummy_db'))],
          [() => schema.createTables(conn, 'dummy_db'), wire(createTableTerm('dummy_db', STORED_TABLES[0], {}))],
          [() => schema.dropDatabase(conn, 'dummy_db'), wire(dropDatabaseTerm('dummy_db'))],
          [() => schema.isInitialized(conn, 'dummy_db'), wire(isInitializedTerm('dummy_db'))],
          [() => schema.initDatabase(conn, 'dummy_db'), wire(createDatabaseTerm('dummy_db'))],
          [() => schema.initDatabase(conn), wire(createDatabaseTerm(DB))],
          [() => schema.dropDatabase(conn), wire(dropDatabaseTerm(DB))],
        ];
        for (const [call] of calls) await expect(call()).to.be.rejectedWith(ConnectionError);
        expect(peer.queries.map((sent) => sent.message[1])).to.deep.equal(calls.map(([, term]) => term));
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

      it('retries a write with the very same query (the same change-log entry), and says at last that its outcome is unknown', async function () {
        const conn = await open({ maxTries: 3 });
        const error = await query.storeBlock(conn, { height: 1, app_hash: 'ab', transactions: [] }).catch((e: Error) => e);
        expect(error).to.be.an.instanceOf(ConnectionError);
        expect((error as Error).message).to.match(
          /^\[rethinkdb\] store block: no answer from 127\.0\.0\.1:\d+\/ledger after 3 tries \(.*\); the write may or may not have been applied, and repeating it is safe$/,
        );
        expect(peer.queries, 'sent three times').to.have.length(3);
        const [first, ...retries] = peer.queries.map((sent) => sent.message);
        for (const retry of retries) expect(retry, 'a retry is the same query: its entry id is fixed').to.deep.equal(first);
        expect(JSON.stringify(first)).to.match(/"id":"[0-9a-f]{16}:\d+:blocks"/);
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

    describe('over a path that goes silent after the login (a dead peer)', function () {
      let peer: HandshakePeer;
      let path: SilentPath;

      beforeEach(async function () {
        peer = await HandshakePeer.start('app', PASSWORD);
        path = await SilentPath.start(peer.port);
      });

      afterEach(async function () {
        await path.stop();
        await peer.stop();
      });

      const open = (options: Record<string, unknown> = {}) =>
        connect({ backend: 'rethinkdb', url: `rethinkdb://app:${PASSWORD}@127.0.0.1:${path.port}/${DB}`, connectionTimeout: 2000, ...options }) as Promise<RethinkConnection>;

      it('gives up on a query without an answer after queryTimeout, closes its connection and retries on a new one', async function () {
        const conn = await open({ maxTries: 2, queryTimeout: 300, pendingTimeout: 1000 });
        const started = Date.now();
        const error = await query.getBlock(conn, 1).catch((e: Error) => e);
        expect(error).to.be.an.instanceOf(ConnectionError);
        expect((error as Error).message).to.match(/^\[rethinkdb\] get block: could not reach 127\.0\.0\.1:\d+\/ledger after 2 tries: no answer within 300 ms/);
        expect(((error as Error).cause as { code?: string }).code).to.equal('ETIMEDOUT');
        expect(peer.logins, 'a new connection for the second try').to.equal(2);
        expect(peer.queries, 'nothing got through').to.have.length(0);
        expect(Date.now() - started).to.be.within(600, 5000);
        await conn.close();
      });

      it('says a write that got no answer may or may not have been applied', async function () {
        const conn = await open({ maxTries: 1, queryTimeout: 200, pendingTimeout: 1000 });
        await expect(query.storeBlock(conn, { height: 1, app_hash: 'ab', transactions: [] })).to.be.rejectedWith(
          ConnectionError,
          /store block: no answer from .* after 1 try \(no answer within 200 ms.*may or may not have been applied/,
        );
        await conn.close();
      });

      it('pings a connection for a feed, and closes it when the ping gets no answer within heartbeatInterval', async function () {
        const conn = await open({ heartbeatInterval: 200 });
        const connection: DriverConnection = await conn.pool.acquire();
        expect(connection.open).to.equal(true);
        const started = Date.now();
        expect(await conn.ping(connection)).to.equal(false);
        expect(Date.now() - started).to.be.within(150, 3000);
        expect(connection.open, 'closed as dead: its cursors fail and the feed reopens').to.equal(false);
        await conn.close();
      });
    });

    it('closes a wake-up cursor that finishes opening after its feed was closed', async function () {
      // A connection stand-in that only opens cursors, when the spec says: no query is answered.
      let finishOpening!: () => void;
      let cursorClosed = false;
      const cursor = { close: async () => void (cursorClosed = true), next: () => new Promise(() => undefined) };
      const stand = {
        db: DB,
        options: rethinkOptions(config({})),
        log: new ConnectionLog({ backend: 'rethinkdb' }),
        cursor: () => new Promise((resolve) => (finishOpening = () => resolve({ cursor, connection: {} }))),
      } as unknown as RethinkConnection;
      const feed = new RethinkChangeFeed(stand, 'blocks', ChangeFeed.ALL).open();
      const closing = feed.close();
      finishOpening();
      await closing;
      expect(cursorClosed).to.equal(true);
    });
  });

  describe('error mapping', function () {
    it('maps connection-level driver errors to ConnectionError and the server refusing a query to OperationError, keeping the cause', function () {
      const lost = new RethinkDBError('The connection was closed before the query could be completed', { type: RethinkDBErrorType.CONNECTION });
      const mappedLost = mapRethinkError(lost, 'get block');
      expect(mappedLost).to.be.an.instanceOf(ConnectionError);
      expect(mappedLost.cause).to.equal(lost);
      expect(isConnectionFailure(lost)).to.equal(true);
      expect(isConnectionFailure(new RethinkDBError('slow', { type: RethinkDBErrorType.TIMEOUT }))).to.equal(true);
      expect(isConnectionFailure(Object.assign(new Error('no answer within 60000 ms'), { code: 'ETIMEDOUT' })), 'a query deadline').to.equal(true);

      const refused = new RethinkDBError('Expected type NUMBER but found STRING.', { responseErrorType: ErrorType.QUERY_LOGIC });
      const mappedRefused = mapRethinkError(refused, 'store block');
      expect(mappedRefused).to.be.an.instanceOf(OperationError).and.not.an.instanceOf(ConnectionError);
      expect(isTransient(refused)).to.equal(false);
    });

    it('treats a table unavailable during a reconfiguration as transient: retried, and a ConnectionError when retries run out', function () {
      const unavailable = [
        ['Cannot perform write: primary replica for shard ["", +inf) not available', ErrorType.OP_FAILED],
        ['Cannot perform read: primary replica for shard ["", +inf) not available', ErrorType.OP_FAILED],
        ['Cannot perform write: The primary replica isn\'t connected to a quorum of replicas. The write was not performed.', ErrorType.OP_FAILED],
        ['Cannot perform write: lost contact with primary replica', ErrorType.OP_INDETERMINATE],
        ['Changefeed aborted (table unavailable).', ErrorType.OP_FAILED],
        ['Changefeed aborted (unavailable)', ErrorType.OP_FAILED],
        ['Unable to retrieve the start stamps.  Did you just reshard?', ErrorType.OP_FAILED],
        ['System configuration changed while performing read', ErrorType.OP_FAILED],
      ] as const;
      for (const [message, type] of unavailable) {
        const error = new RethinkDBError(message, { responseErrorType: type });
        expect(isUnavailable(error), message).to.equal(true);
        expect(isTransient(error), message).to.equal(true);
        expect(isConnectionFailure(error), `${message}: not a lost connection`).to.equal(false);
        const mapped = mapRethinkError(error, 'store block');
        expect(mapped, message).to.be.an.instanceOf(ConnectionError);
        expect(mapped.cause).to.equal(error);
      }
      const dropped = new RethinkDBError('Table `ledger.blocks` does not exist.', { responseErrorType: ErrorType.OP_FAILED });
      expect(isTransient(dropped), 'a dropped table does not come back by waiting').to.equal(false);
      expect(isUnavailable(new RethinkDBError('Cannot perform read: x', { responseErrorType: ErrorType.QUERY_LOGIC }))).to.equal(false);
    });

    it('treats a refused login as a ConnectionError that is not worth retrying', function () {
      const refused = new RethinkDBError('Wrong password', { errorCode: 12 });
      expect(mapRethinkError(refused, 'get block')).to.be.an.instanceOf(ConnectionError);
      expect(isConnectionFailure(refused)).to.equal(false);
      expect(isTransient(refused)).to.equal(false);
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

    it('names a write without an answer as of unknown outcome, and safe to repeat', function () {
      const error = indeterminateWrite('store block', 'after 3 tries', new RethinkDBError('closed', { type: RethinkDBErrorType.CONNECTION }));
      expect(error).to.be.an.instanceOf(ConnectionError).and.an.instanceOf(BackendError);
      expect(error.message).to.equal('[rethinkdb] store block: no answer after 3 tries (closed); the write may or may not have been applied, and repeating it is safe');
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
      expect(declared).to.include({ backend: 'rethinkdb', atomicCommit: false, atomicBulkWrite: false, changefeed: true, crossProcessChangefeed: true, textSearch: true, linguisticSearch: false });
      expect(declared.admin).to.deep.equal({ getConfig: true, reconfigure: true, setShards: true, setReplicas: true, addReplicas: false, removeReplicas: false });
      const refusal = await admin.addReplicas(conn, ['db4.internal:28015']).catch((e: Error) => e);
      expect(refusal).to.be.an.instanceOf(UnsupportedOperationError);
      expect((refusal as Error).message).to.match(/^\[rethinkdb\] addReplicas is not supported: .*--join/);
      await expect(admin.removeReplicas(conn, ['db4.internal:28015'])).to.be.rejectedWith(UnsupportedOperationError, /rethinkdb/);
      await expect(admin.reconfigure(conn, { shards: 1, replicas: { east: 1, west: 1 } })).to.be.rejectedWith(UnsupportedOperationError, /single tag/);
      await conn.close();
    });

    it('refuses to reshape tables whose replicas are placed by server tag, naming them, and reads those tags', function () {
      expect(() => refuseTagged('set shards', { blocks: { shards: 1, replicas: 2, tags: [] } })).to.not.throw();
      expect(() =>
        refuseTagged('set shards', { blocks: { shards: 1, replicas: 2, tags: [] }, utxos: { shards: 2, replicas: 3, tags: ['east', 'west'] } }),
      ).to.throw(UnsupportedOperationError, /^\[rethinkdb\] set shards: replicas of utxos \(east, west\) are on servers with tags; .*admin\.reconfigure with replicas by tag/);
      const servers = r.db('rethinkdb').table('server_config');
      expectTerm(
        layoutTerm(DB, ['blocks']),
        r.expr({
          blocks: r
            .db(DB)
            .table('blocks')
            .config()('shards')
            .do((shards: RDatum) => ({
              shards: shards.count(),
              replicas: shards.map((shard: RDatum) => shard('replicas').count()).max(),
              tags: shards
                .concatMap((shard: RDatum) => shard('replicas'))
                .distinct()
                .concatMap((server: RDatum) => servers.filter((c: RDatum) => c('name').eq(server)).concatMap((c: RDatum) => c('tags')).coerceTo('array'))
                .distinct()
                .filter((tag: RDatum) => tag.ne('default')),
            })),
        }),
      );
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

    it('indexes every lookup, multi indexes for owners, sole owners, spends and block transactions, and the log by number and state', function () {
      const indexes = Object.fromEntries(
        STORED_TABLES.map((name) => [name, TABLE_DEFINITIONS[name].indexes.map((index) => `${index.name}${index.multi ? ' (multi)' : ''}`)]),
      );
      expect(indexes).to.deep.equal({
        transactions: ['asset_order', 'owners (multi)', 'asset_owner (multi)', 'spends (multi)', 'write_order'],
        assets: [],
        metadata: [],
        blocks: ['transactions (multi)'],
        utxos: ['transaction_id', 'asset_id'],
        pre_commit: [],
        validators: [],
        elections: ['election_height', 'height'],
        abci_chains: ['chain_id'],
        changes: ['tbl_seq', 'tbl_state', 'at'],
      });
    });

    it('computes index keys as documented', function () {
      const index = (name: keyof typeof TABLE_DEFINITIONS, indexName: string) => TABLE_DEFINITIONS[name].indexes.find((i) => i.name === indexName)!;
      const keyTerm = (name: keyof typeof TABLE_DEFINITIONS, indexName: string) => r.expr(null).do(index(name, indexName).key);
      expectTerm(
        keyTerm('transactions', 'asset_order'),
        r.expr(null).do((row: RDatum) => [row('asset_id'), r.branch(row('seq').nth(0).typeOf().eq('NUMBER'), [1, row('seq')], [0, row('seq')])]),
      );
      expectTerm(keyTerm('transactions', 'spends'), r.expr(null).do((row: RDatum) => row('spends')));
      expectTerm(keyTerm('elections', 'election_height'), r.expr(null).do((row: RDatum) => [row('election_id'), row('height')]));
      expectTerm(keyTerm('changes', 'tbl_seq'), r.expr(null).do((row: RDatum) => [row('tbl'), row('seq')]));
      expectTerm(keyTerm('changes', 'tbl_state'), r.expr(null).do((row: RDatum) => [row('tbl'), row('state')]));
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
      const doc = transactionDoc(transfer, 9);
      expect(doc.body).to.equal(transfer);
      expect(doc).to.include({ id: transfer.id, operation: 'TRANSFER', asset_id: create.id, seq: 9 });
      expect(doc.owners).to.deep.equal([bob]);
      expect(doc.asset_owners).to.deep.equal([[create.id, bob]]);
      expect(doc.spends).to.deep.equal([
        [create.id, 0],
        [create.id, 2],
      ]);
      const createDoc = transactionDoc(create, 8);
      expect(createDoc.owners).to.deep.equal([alice, bob]);
      expect(createDoc.asset_owners, 'only outputs owned by one key alone').to.deep.equal([[create.id, alice]]);
      expect(createDoc.spends).to.deep.equal([]);
    });

    it('indexes no owner for an output whose condition names no key (public_keys [] or null)', function () {
      const keyless = (public_keys: [] | null) => ({ ...output([alice]), public_keys });
      const create = createTx({ outputs: [keyless(null), output([alice]), keyless([])] });
      const doc = transactionDoc(create, 1);
      expect(doc.owners).to.deep.equal([alice]);
      expect(doc.asset_owners).to.deep.equal([[create.id, alice]]);
    });

    it('keeps the text the search scans next to asset data', function () {
      const doc = assetDoc({ id: freshId(), data: { title: 'blue mug', tags: ['kitchen'], n: 2 } }, 4);
      expect(doc.text, 'the string values the search scans').to.equal('blue mug kitchen');
    });

    it('brings the asset data of a CREATE and the metadata of every transaction (null included) along', function () {
      const create = createTx({ data: null, metadata: { n: 1 } });
      const transfer = transferTx([spend(create)]);
      expect(sideRecordsOf([create, transfer])).to.deep.equal({
        assets: [{ id: create.id, data: null }],
        metadata: [
          { id: create.id, metadata: { n: 1 } },
          { id: transfer.id, metadata: null },
        ],
      });
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

  describe('user JSON that looks like a pseudo-type ($reql_type$)', function () {
    const time = { $reql_type$: 'TIME', epoch_time: 1, timezone: '+00:00' };

    it('escapes $reql_type$ keys at any depth, and a key that already looks escaped, reversibly', function () {
      const written = {
        when: time,
        list: [{ $reql_type$: 'BINARY', data: 'AA==' }, 1, [{ nested: { $reql_type$: 'GEOMETRY' } }]],
        '~$reql_type$': 'a key written with a tilde',
        '~~$reql_type$': 'and two',
        'x$reql_type$': 'not a pseudo-type key',
        '$reql_type$x': 'nor this one',
      };
      const stored = escapeKeys(written);
      expect(stored).to.deep.equal({
        when: { '~$reql_type$': 'TIME', epoch_time: 1, timezone: '+00:00' },
        list: [{ '~$reql_type$': 'BINARY', data: 'AA==' }, 1, [{ nested: { '~$reql_type$': 'GEOMETRY' } }]],
        '~~$reql_type$': 'a key written with a tilde',
        '~~~$reql_type$': 'and two',
        'x$reql_type$': 'not a pseudo-type key',
        '$reql_type$x': 'nor this one',
      });
      expect(JSON.stringify(stored)).to.not.match(/"\$reql_type\$"/);
      expect(unescapeKeys(stored)).to.deep.equal(written);
      expect(written.when, 'the input is not changed').to.deep.equal(time);
      expect(unescapeKeys(escapeKeys({ $reql_type$: { $reql_type$: '~$reql_type$' } }))).to.deep.equal({ $reql_type$: { $reql_type$: '~$reql_type$' } });
    });

    it('leaves JSON without such keys as it is (the same object), and pseudo-types the server sends alone', function () {
      const plain = { a: [1, { b: 'c' }], d: null };
      expect(escapeKeys(plain)).to.equal(plain);
      expect(unescapeKeys(plain)).to.equal(plain);
      for (const scalar of [null, 1, 'x', true]) expect(escapeKeys(scalar)).to.equal(scalar);
      const raw = { at: time };
      expect(unescapeKeys(raw), 'a raw TIME from the server is not ours to touch').to.equal(raw);
      const when = new Date(0);
      expect(unescapeKeys({ when }).when, 'a Date the driver made stays one').to.equal(when);
    });

    it('keeps every other key as written, __proto__ included, and the order of keys', function () {
      const written = JSON.parse('{"a":1,"__proto__":{"$reql_type$":"x"},"$reql_type$":2,"z":[{"__proto__":3}]}');
      const stored = escapeKeys(written);
      expect(Object.keys(stored)).to.deep.equal(['a', '__proto__', '~$reql_type$', 'z']);
      expect(Object.getOwnPropertyDescriptor(stored, '__proto__')?.value).to.deep.equal({ '~$reql_type$': 'x' });
      expect(Object.getPrototypeOf(stored)).to.equal(Object.prototype);
      const back = unescapeKeys(stored);
      expect(JSON.stringify(back)).to.equal(JSON.stringify(written));
    });

    it('stores the user JSON of transactions, asset data, metadata and validator sets escaped', function () {
      const data = { $reql_type$: 'TIME', epoch_time: 0, timezone: '+00:00' };
      const tx = createTx({ data, metadata: { inner: { $reql_type$: 'BINARY', data: '' } } });
      expect(JSON.stringify(transactionDoc(tx, 0).body)).to.not.match(/"\$reql_type\$"/);
      expect(unescapeKeys(transactionDoc(tx, 0).body)).to.deep.equal(tx);
      expect(assetDoc({ id: tx.id, data }, 0).data).to.deep.equal({ '~$reql_type$': 'TIME', epoch_time: 0, timezone: '+00:00' });
      expect(metadataDoc({ id: tx.id, metadata: { $reql_type$: 'x' } }, 0).metadata).to.deep.equal({ '~$reql_type$': 'x' });
      expect(validatorSetDoc({ height: 1, validators: [{ $reql_type$: 'x' }] }, 0).validators).to.deep.equal([{ '~$reql_type$': 'x' }]);
      const sent = r.serialize(terms.writeTransactionsTerm(DB, [tx], writer()));
      expect(sent, 'what the driver sends holds no pseudo-type the user wrote').to.not.match(/"\$reql_type\$"/);
      expect(sent).to.include('"~$reql_type$":"TIME"');
    });
  });

  describe('batches of writes', function () {
    it('cuts batches at ENTRY_SIZE records and at a byte budget, an oversized record alone', function () {
      const items = Array.from({ length: 2500 }, (_, i) => i);
      expect(writeBatches(items, () => 1).map((batch) => batch.length)).to.deep.equal([ENTRY_SIZE, ENTRY_SIZE, 500]);
      expect(writeBatches([1, 2, 3, 4, 5], () => 40, 10, 100).map((batch) => batch.length), '100 bytes: two of 40').to.deep.equal([2, 2, 1]);
      expect(writeBatches([10, 500, 10, 10], (n) => n, 10, 100)).to.deep.equal([[10], [500], [10, 10]]);
      expect(writeBatches([], () => 1)).to.deep.equal([]);
    });
  });

  describe('the ReQL of each generic', function () {
    const tx = createTx();
    const transactions = r.db(DB).table('transactions');
    const utxos = r.db(DB).table('utxos');
    const body = (doc: RDatum) => doc('body');

    it('finds the heights a chain id is stored at by its index, for storeAbciChain to refuse another height', function () {
      expectTerm(terms.abciChainHeightsTerm(DB, 'chain-A'), r.db(DB).table('abci_chains').getAll('chain-A', { index: 'chain_id' })('height').coerceTo('array'));
    });

    it('reads transactions by id, by asset in write order, by spent output and by owner', function () {
      expectTerm(terms.getTransactionTerm(DB, tx.id), transactions.get(tx.id).do((doc: RDatum) => r.branch(doc.eq(null), null, doc('body'))));
      expectTerm(terms.getTransactionsTerm(DB, ['a', 'b']), transactions.getAll(r.args(['a', 'b'])).map(body));
      expectTerm(
        terms.getTxidsFilteredTerm(DB, 'asset'),
        transactions.between(['asset', r.minval], ['asset', r.maxval], { index: 'asset_order' }).orderBy({ index: 'asset_order' })('id'),
      );
      expectTerm(
        terms.getTxidsFilteredTerm(DB, 'asset', { operation: 'TRANSFER', lastTx: true }),
        transactions
          .between(['asset', r.minval], ['asset', r.maxval], { index: 'asset_order' })
          .orderBy({ index: r.desc('asset_order') })
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
              .offsetsOf((out: RDatum) => out('public_keys').default([]).contains('k'))
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

    it('writes the pending change-log entry first, then the change, then completes the entry, in one query', function () {
      const block = { height: 3, app_hash: 'ab', transactions: [tx.id] };
      expect(writeOrder(wire(terms.storeBlockTerm(DB, block, writer())))).to.deep.equal(['replace changes', 'insert changes', 'insert blocks', 'update changes']);
      expect(writeOrder(wire(terms.storeUtxosTerm(DB, [{ transaction_id: tx.id, output_index: 0, amount: '1', asset_id: tx.id, condition_uri: 'ni:///x' }], writer())))).to.deep.equal([
        'replace changes',
        'insert changes',
        'insert utxos',
        'update changes',
      ]);
      expect(writeOrder(wire(terms.deleteUtxosTerm(DB, [{ transaction_id: 'x', output_index: 1 }], writer()))), 'a delete too').to.deep.equal([
        'replace changes',
        'insert changes',
        'replace utxos',
        'update changes',
      ]);
    });

    it('takes the entry number from the table counter (an atomic single-document replace), not from a clock', function () {
      const changesTable = r.db(DB).table('changes');
      expectTerm(
        takeNumber(DB, 'blocks'),
        (
          changesTable
            .get('seq:blocks')
            .replace((c: RDatum) => r.branch(c.eq(null), { id: 'seq:blocks', value: 1 }, c.merge({ value: c('value').add(1) })), { returnChanges: 'always' }) as RDatum
        )('changes')
          .nth(0)('new_val')('value'),
      );
      const sent = wire(terms.storeBlockTerm(DB, { height: 1, app_hash: '', transactions: [] }, writer()));
      const [entryInsert] = find(sent, TermType.INSERT).filter((insert) => target(insert) === 'changes');
      const fields = JSON.stringify(entryInsert);
      expect(fields, 'a fixed id: a retry finds its entry').to.include('"id":"w0:1:blocks","tbl":"blocks"');
      expect(fields).to.include('"kind":"new","state":"pending","at":[103]');
      const keepStored = (entryInsert[2] as { conflict: Wire[] }).conflict;
      expect(paramsOf(keepStored), 'a conflict function takes (id, stored, incoming)').to.have.length(3);
      expect((keepStored[1] as Wire[])[1], 'two tries racing keep the first entry').to.deep.equal([TermType.VAR, [paramsOf(keepStored)[1]]]);
      expect(find(sent, TermType.NOW), 'r.now() only as the entry age, for pruning').to.have.length(1);
    });

    it('stamps documents with [entry number, index], and writes over a document only with a higher stamp', function () {
      const w = writer();
      const sent = wire(terms.storeUtxosTerm(DB, [{ transaction_id: tx.id, output_index: 0, amount: '1', asset_id: tx.id, condition_uri: 'ni:///x' }], w));
      const [upsert] = find(sent, TermType.INSERT).filter((insert) => target(insert) === 'utxos');
      const optargs = upsert[2] as { conflict: Wire[]; return_changes: boolean };
      expect(optargs.return_changes).to.equal(true);
      expect(paramsOf(optargs.conflict)).to.have.length(3);
      const [, stored, incoming] = paramsOf(optargs.conflict);
      expect(JSON.stringify(optargs.conflict)).to.include(`"prev_seq":[92,[[170,[[10,[${stored}]],"seq"]],null]]`);
      expect(JSON.stringify(optargs.conflict)).to.include(`[170,[[10,[${incoming}]],"seq"]]`);
      const [stamping] = find(sent, TermType.MERGE).filter((merge) => JSON.stringify(merge).includes('"seq":[2,[[170,'));
      expect(stamping, 'the batch index becomes [number, index]').to.not.equal(undefined);

      expectTerm(
        r.expr(null).do((row: RDatum) => notOlder(row('a'), row('b'))),
        r.expr(null).do((row: RDatum) =>
          r.branch(row('a').typeOf().ne('ARRAY'), false, row('a').nth(0).typeOf().ne('NUMBER'), false, row('a').ge(row('b'))),
        ),
      );
    });

    it('inserts new records with conflict error, and reports as rejected only the keys whose documents are not its own', function () {
      const sent = wire(terms.storeBlockTerm(DB, { height: 3, app_hash: 'ab', transactions: [] }, writer()));
      const [insert] = find(sent, TermType.INSERT).filter((write) => target(write) === 'blocks');
      expect(insert[2]).to.deep.equal({ conflict: 'error', return_changes: true });
      const text = JSON.stringify(sent);
      expect(text, 'rejected = the entry keys minus those stamped with its number').to.include('"rejected":[91,');
    });

    it('deletes only documents older than the write, by a conditional replace, recording them in the pending entry first', function () {
      const sent = wire(terms.deleteUtxosTerm(DB, [{ transaction_id: 'x', output_index: 1 }, { transaction_id: 'x', output_index: 1 }], writer()));
      const [deletion] = find(sent, TermType.REPLACE).filter((write) => target(write) === 'utxos');
      expect(find(deletion, TermType.GET_ALL), 'the keys recorded in the entry').to.have.length(1);
      const func = (deletion[1] as Wire[])[1] as Wire[];
      expect(func[0]).to.equal(TermType.FUNC);
      const [branch] = find(func, TermType.BRANCH);
      expect((branch[1] as Wire[]).at(-1), 'returning null deletes').to.equal(null);
      expect(deletion[2]).to.deep.equal({ return_changes: true });
      expect(JSON.stringify(sent).match(/"x:1"/g), 'the selection names each key once').to.have.length(1);
      expect(JSON.stringify(sent), 'the records are read into the pending entry (prior) before the deletion').to.include('"prior"');
      const gone = wire(terms.deleteTransactionsTerm(DB, ['a'], writer()));
      expect(writeOrder(gone).filter((write) => !write.endsWith('changes'))).to.deep.equal(['replace transactions', 'replace assets', 'replace metadata']);
      expect(writeOrder(wire(terms.deleteElectionsTerm(DB, 4, writer())))).to.deep.equal(['replace changes', 'insert changes', 'replace elections', 'update changes']);
    });

    it('completes only a pending entry, with the events the server reported and what the state shows for the other keys', function () {
      const sent = wire(terms.storeBlockTerm(DB, { height: 3, app_hash: 'ab', transactions: [] }, writer()));
      const [completion] = find(sent, TermType.UPDATE);
      expect(target(completion)).to.equal('changes');
      const text = JSON.stringify(completion);
      expect(text).to.include('"pending"');
      expect(text).to.include('"state":"done"');
      expect(text, 'the prior records are dropped').to.include(`"prior":[${TermType.LITERAL}]`);
      expect(find(sent, TermType.SET_DIFFERENCE).length, 'the keys the server did not report').to.be.greaterThan(0);
    });

    it('writes transactions, then their asset data and metadata only when all were inserted', function () {
      const create = createTx({ metadata: { n: 1 } });
      const sent = wire(terms.writeTransactionsTerm(DB, [create], writer()));
      expect(writeOrder(sent)).to.deep.equal([
        ...['replace changes', 'insert changes', 'insert transactions', 'update changes'],
        ...['replace changes', 'insert changes', 'insert assets', 'update changes'],
        ...['replace changes', 'insert changes', 'insert metadata', 'update changes'],
      ]);
      expect(find(sent, TermType.BRANCH).length, 'the side records are behind a branch on rejected = []').to.be.greaterThan(0);
      const plain = wire(terms.writeTransactionsTerm(DB, [transferTx([spend(createTx())])], writer()));
      expect(writeOrder(plain), 'a TRANSFER brings no asset data, and its null metadata').to.deep.equal([
        ...['replace changes', 'insert changes', 'insert transactions', 'update changes'],
        ...['replace changes', 'insert changes', 'insert metadata', 'update changes'],
      ]);
    });

    it('numbers each logged write once, for its entry id', function () {
      const w = writer('feedface');
      const sent = JSON.stringify(wire(terms.writeTransactionsTerm(DB, [createTx({ metadata: { n: 1 } }), createTx()], w)));
      for (const id of ['feedface:1:transactions', 'feedface:2:assets', 'feedface:3:metadata']) expect(sent).to.include(`"${id}"`);
      expect(w.next()).to.equal(4);
    });

    it('upserts by key, the last of a batch winning', function () {
      const [first, second] = [createTx(), createTx()];
      const utxo = { transaction_id: first.id, output_index: 0, amount: '1', asset_id: first.id, condition_uri: 'ni:///x' };
      const sent = JSON.stringify(wire(terms.storeUtxosTerm(DB, [utxo, { ...utxo, amount: '2' }, { ...utxo, transaction_id: second.id }], writer())));
      expect(sent).to.include(`"id":"${first.id}:0","transaction_id":"${first.id}","output_index":0,"amount":"2"`);
      expect(sent.match(new RegExp(`"${first.id}:0"`, 'g')), 'one document per key').to.have.length(1);
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
        terms.storeUtxosTerm(DB, [{ transaction_id: 'x', output_index: 0, amount: '1', asset_id: 'x', condition_uri: 'u' }], w),
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
        tailRead(DB, 'blocks', 10, 16),
        startRead(DB, 'blocks', 256),
        entriesNumbered(DB, 'blocks', [3, 4]),
        entriesById(DB, 'blocks', ['a']),
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
          const system = ['server_status', 'server_config', 'table_config', 'table_status'].includes(name as string);
          expect(dbTerm, `table ${JSON.stringify(name)} names its database`).to.deep.equal([TermType.DB, [system ? 'rethinkdb' : DB]]);
        }
      }
    });
  });

  describe('the change log read by feeds', function () {
    const changesTable = r.db(DB).table('changes');

    it('reads the entries after a number in order, with the pruning mark, without what a feed does not need', function () {
      expectTerm(
        tailRead(DB, 'utxos', 41, 16),
        r.expr({
          pruned: changesTable.get('pruned:utxos')('through').default(0),
          entries: changesTable
            .between(['utxos', 41], ['utxos', r.maxval], { index: 'tbl_seq', leftBound: 'open', rightBound: 'closed' })
            .orderBy({ index: 'tbl_seq' })
            .limit(16)
            .without('keys', 'prior', 'at')
            .coerceTo('array'),
        }),
      );
    });

    it('finds entries by number and by id, a pending one with the events its state shows', function () {
      const byNumber = wire(entriesNumbered(DB, 'blocks', [3, 5])) as Wire[];
      const [getAll] = find(byNumber, TermType.GET_ALL);
      expect(getAll[2]).to.deep.equal({ index: 'tbl_seq' });
      expect(JSON.stringify(getAll[1])).to.include('"blocks",3').and.include('"blocks",5');
      expect(JSON.stringify(byNumber)).to.include('"done"');
      expect(find(byNumber, TermType.WITHOUT)).to.have.length(1);
      const byId = wire(entriesById(DB, 'blocks', ['w:1:blocks']));
      expect(JSON.stringify(find(byId, TermType.GET_ALL)[0])).to.include('"w:1:blocks"');
    });

    it('starts at the table counter, with the recent numbers visible and the writes still pending', function () {
      const sent = JSON.stringify(wire(startRead(DB, 'blocks', 256)));
      expect(sent).to.include('"seq:blocks"');
      expect(sent).to.include('["blocks","pending"]');
      expect(sent).to.include('{"index":"tbl_state"}');
    });

    it('wakes feeds with the id, number and state of the entries of their table inserted or updated, never with deletions', function () {
      expectTerm(
        liveEntries(DB, 'blocks'),
        changesTable
          .between(['blocks', r.minval], ['blocks', r.maxval], { index: 'tbl_seq' })
          .pluck('id', 'tbl', 'seq', 'state')
          .changes()
          .filter((change: RDatum) => r.branch(change.hasFields('new_val'), change('new_val').ne(null), true)),
      );
    });

    it('records how far each table was pruned (never lowering it) before deleting its old entries, and drops entries of the earlier format by age', function () {
      const old = (cutoff: RDatum) => changesTable.between(r.minval, cutoff, { index: 'at' });
      expectTerm(
        pruneEntries(DB, 60_000),
        r
          .now()
          .sub(60)
          .do((cutoff: RDatum) =>
            old(cutoff)
              .filter((entry: RDatum) => entry.hasFields('seq').not())
              .delete()
              .do((_legacy: RDatum) =>
                old(cutoff)
                  .filter((entry: RDatum) => entry.hasFields('seq'))
                  .group('tbl')
                  .max('seq')('seq')
                  .ungroup()
                  .forEach((cut: RDatum) =>
                    changesTable
                      .insert(
                        { id: r.expr('pruned:').add(cut('group')), through: cut('reduction') },
                        { conflict: (_id: RDatum, stored: RDatum, incoming: RDatum) => r.branch(stored('through').gt(incoming('through')), stored, incoming) },
                      )
                      .do((_recorded: RDatum) =>
                        changesTable.between([cut('group'), r.minval], [cut('group'), cut('reduction')], { index: 'tbl_seq', rightBound: 'closed' }).delete(),
                      ),
                  ),
              ),
          ),
      );
      expect(writeOrder(wire(pruneEntries(DB, 60_000)))).to.deep.equal(['delete changes', 'insert changes', 'delete changes']);
    });

    it('reshapes every table through reconfigure, as a dry run when asked', function () {
      expectTerm(
        reconfigureTerm(DB, { blocks: { shards: 2, replicas: 3 } }, true),
        r.expr({ blocks: r.db(DB).table('blocks').reconfigure({ shards: 2, replicas: 3, dryRun: true }) }),
      );
    });
  });

  describe('the changefeed reader', function () {
    const PENDING = 1000;
    let now: number;
    const timing = () => ({ pendingTimeout: PENDING, checkInterval: 100, now: () => now });
    const events = (keys: (string | number)[], op = ChangeFeed.INSERT): LoggedEvent[] => keys.map((key) => ({ op, key, record: `r${key}` }));
    const entry = (seq: number, keys: (string | number)[] = [`k${seq}`], state: 'done' | 'pending' = 'done', op = ChangeFeed.INSERT): ChangeEntry => ({
      id: `w:${seq}:blocks`,
      tbl: 'blocks',
      seq,
      state,
      kind: 'new',
      keys,
      events: state === 'done' ? events(keys, op) : [],
    });
    const records = (delivered: { record: unknown }[]) => delivered.map((event) => event.record);
    const tail = (entries: ChangeEntry[], pruned = 0) => ({ pruned, entries });

    function started(counter = 10, recent: number[] = [], pending: ChangeEntry[] = [], operations = ChangeFeed.ALL): LogReader {
      const reader = new LogReader('blocks', operations, timing());
      reader.begin({ counter, recent: recent.length ? recent : Array.from({ length: counter }, (_, i) => i + 1), pending }, 256);
      return reader;
    }

    beforeEach(function () {
      now = 0;
    });

    it('starts after the table counter and delivers the done entries after it in order, its operations only', function () {
      const reader = started(10, [], [], ChangeFeed.DELETE);
      expect(reader.position).to.equal(10);
      const mixed: ChangeEntry = { ...entry(11), events: [...events(['in']), ...events(['out'], ChangeFeed.DELETE), ...events(['up'], ChangeFeed.UPDATE)] };
      const read = reader.acceptTail(tail([mixed, entry(12, ['gone'], 'done', ChangeFeed.DELETE)]), 2);
      expect(read.events).to.deep.equal([
        { operation: ChangeFeed.DELETE, table: 'blocks', record: 'rout' },
        { operation: ChangeFeed.DELETE, table: 'blocks', record: 'rgone' },
      ]);
      expect(read.full).to.equal(true);
      expect(reader.position).to.equal(12);
    });

    it('waits at a pending entry (nothing after it is delivered), then has it read from the state after pendingTimeout', function () {
      const reader = started();
      const first = reader.acceptTail(tail([entry(11), entry(12, ['a', 'b'], 'pending'), entry(13)]), 16);
      expect(records(first.events)).to.deep.equal(['rk11']);
      expect(first.resolve).to.equal(undefined);
      expect(reader.position).to.equal(11);
      expect(reader.nextDue()).to.equal(PENDING);
      now = 500;
      expect(reader.acceptTail(tail([entry(12, ['a', 'b'], 'pending'), entry(13)]), 16)).to.deep.equal({ events: [], full: false });
      now = 1000;
      const stale = reader.acceptTail(tail([entry(12, ['a', 'b'], 'pending'), entry(13)]), 16);
      expect(stale.resolve).to.equal('w:12:blocks');
      const resolved = reader.acceptResolved('w:12:blocks', { ...entry(12, ['a', 'b'], 'pending'), events: events(['a']) });
      expect(records(resolved), 'what the state shows the cut write did').to.deep.equal(['ra']);
      expect(reader.position).to.equal(12);
      expect(reader.watched).to.deep.equal(['w:12:blocks']);
      expect(records(reader.acceptTail(tail([entry(13)]), 16).events)).to.deep.equal(['rk13']);
      now = 1200;
      const asked = reader.outstanding()!;
      expect(asked).to.deep.equal({ numbers: [], ids: ['w:12:blocks'] });
      const rest = reader.acceptOutstanding(asked, [], [entry(12, ['a', 'b'])]);
      expect(records(rest), 'completed later: only the keys not delivered yet').to.deep.equal(['rb']);
      expect(reader.watched).to.deep.equal([]);
    });

    it('delivers a pending entry that completes in time like any other, in order', function () {
      const reader = started();
      expect(reader.acceptTail(tail([entry(11, ['a'], 'pending'), entry(12)]), 16).events).to.deep.equal([]);
      now = 300;
      expect(records(reader.acceptTail(tail([entry(11, ['a']), entry(12)]), 16).events)).to.deep.equal(['ra', 'rk12']);
      expect(reader.watched).to.deep.equal([]);
    });

    it('keeps reading a cut write from the state until it is done, delivering each key once', function () {
      const reader = started();
      reader.acceptTail(tail([entry(11, ['a', 'b', 'c'], 'pending')]), 16);
      now = 1000;
      reader.acceptTail(tail([entry(11, ['a', 'b', 'c'], 'pending')]), 16);
      expect(records(reader.acceptResolved('w:11:blocks', { ...entry(11, ['a', 'b', 'c'], 'pending'), events: [] }))).to.deep.equal([]);
      now = 3000;
      let asked = reader.outstanding()!;
      expect(records(reader.acceptOutstanding(asked, [], [{ ...entry(11, ['a', 'b', 'c'], 'pending'), events: events(['b']) }]))).to.deep.equal(['rb']);
      now = 3200;
      expect(reader.outstanding(), 'read from the state already: checked every quarter of pendingTimeout').to.equal(undefined);
      now = 3250;
      asked = reader.outstanding()!;
      expect(records(reader.acceptOutstanding(asked, [], [{ ...entry(11, ['a', 'b', 'c'], 'pending'), events: events(['b', 'c']) }]))).to.deep.equal(['rc']);
      now = 3500;
      asked = reader.outstanding()!;
      expect(reader.acceptOutstanding(asked, [], []), 'pruned: let go').to.deep.equal([]);
      expect(reader.watched).to.deep.equal([]);
    });

    it('goes past a number whose entry is not visible yet (a hole) and delivers its entry when it shows up', function () {
      const reader = started();
      expect(records(reader.acceptTail(tail([entry(11), entry(13)]), 16).events)).to.deep.equal(['rk11', 'rk13']);
      expect(reader.holes).to.deep.equal([12]);
      const asked = reader.outstanding()!;
      expect(asked).to.deep.equal({ numbers: [12], ids: [] });
      expect(reader.outstanding(), 'not again before checkInterval').to.equal(undefined);
      expect(records(reader.acceptOutstanding(asked, [entry(12)], []))).to.deep.equal(['rk12']);
      expect(reader.holes).to.deep.equal([]);
    });

    it('watches a hole whose entry shows up pending, and gives up a hole after pendingTimeout (a write cut before it changed anything)', function () {
      const reader = started();
      reader.acceptTail(tail([entry(11), entry(14)]), 16);
      expect(reader.holes).to.deep.equal([12, 13]);
      const asked = reader.outstanding()!;
      expect(reader.acceptOutstanding(asked, [entry(12, ['x'], 'pending')], [])).to.deep.equal([]);
      expect(reader.watched).to.deep.equal(['w:12:blocks']);
      expect(reader.holes).to.deep.equal([13]);
      now = 999;
      reader.outstanding();
      expect(reader.holes).to.deep.equal([13]);
      now = 1000;
      reader.outstanding();
      expect(reader.holes).to.deep.equal([]);
      const done = reader.acceptOutstanding({ numbers: [], ids: ['w:12:blocks'] }, [], [entry(12, ['x'])]);
      expect(records(done)).to.deep.equal(['rx']);
    });

    it('remembers at most MAX_HOLES holes', function () {
      const reader = started(0, [0]);
      reader.acceptTail(tail([entry(MAX_HOLES + 50)]), 16);
      expect(reader.holes).to.have.length(MAX_HOLES);
    });

    it('starts with the writes in flight: recent numbers without an entry are holes, pending entries are watched with the keys changed before counted', function () {
      const inFlight: ChangeEntry = { ...entry(9, ['a', 'b'], 'pending'), events: events(['a']) };
      const reader = started(10, [1, 2, 3, 4, 5, 6, 7, 9], [inFlight]);
      expect(reader.holes).to.deep.equal([8, 10]);
      expect(reader.watched).to.deep.equal(['w:9:blocks']);
      const asked = reader.outstanding()!;
      const delivered = reader.acceptOutstanding(asked, [], [entry(9, ['a', 'b'])]);
      expect(records(delivered), 'a was changed before the feed started').to.deep.equal(['rb']);
    });

    it('fails loudly when the log was pruned past its position', function () {
      const reader = started(10);
      expect(() => reader.acceptTail(tail([], 11), 16)).to.throw(OperationError, /\[rethinkdb\] changefeed on blocks fell behind: change-log entries up to number 11 were pruned/);
      expect(() => started(10).acceptTail(tail([], 10), 16)).to.not.throw();
    });

    it('sorts the reports of its wake-up', function () {
      const reader = started();
      reader.acceptTail(tail([entry(11), entry(13)]), 16);
      const report = (seq: number, fresh = true, id = `w:${seq}:blocks`): LiveReport => ({
        new_val: { id, tbl: 'blocks', seq, state: 'pending' },
        old_val: fresh ? null : { id, seq, state: 'pending' },
      });
      expect(reader.report({ error: 'Changefeed cache over array size limit, skipped 7 elements.' })).to.equal('overflow');
      expect(reader.report({ new_val: null, old_val: { id: 'x', seq: 1, state: 'done' } })).to.equal('ignored');
      expect(reader.report(report(14))).to.equal('ahead');
      expect(reader.report(report(12)), 'a hole filled').to.equal('late');
      expect(reader.nextDue(), 'checked at once').to.equal(0);
      expect(reader.report(report(13)), 'delivered already').to.equal('ignored');
      expect(reader.report(report(5)), 'visible when the feed started').to.equal('ignored');
      const unknown = started(10, [1, 2, 3, 4, 5, 6, 7, 8, 10]);
      expect(unknown.holes).to.deep.equal([9]);
      expect(unknown.report(report(9, true, 'w:9:blocks'))).to.equal('late');
      expect(started(300, Array.from({ length: 300 }, (_, i) => i + 1)).report(report(3, true, 'w:3:blocks')), 'known from the start').to.equal('ignored');
      const fresh = started(300, Array.from({ length: 300 }, (_, i) => i + 1).filter((n) => n > 100));
      expect(fresh.report(report(40, true, 'w:40:blocks')), 'an entry inserted behind it that it never saw: watched').to.equal('late');
      expect(fresh.watched).to.deep.equal(['w:40:blocks']);
      expect(fresh.report(report(41, false, 'w:41:blocks')), 'an update of one it never saw').to.equal('ignored');
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
      expect(() => planFor('x', { language: 'french' })).to.throw(UnsupportedOperationError, /\[rethinkdb\] text search language "french" is not supported/);
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
            order: r.branch(doc('seq').nth(0).typeOf().eq('NUMBER'), [1, doc('seq')], [0, doc('seq')]),
          }))
          .orderBy(r.desc('score'), r.asc('order'))
          .limit(5)
          .without('order'),
      );
    });
  });

  it('builds a transaction document for every kind of transaction the model accepts', function () {
    const vote: Transaction = { ...transferTx([spend(createTx())]), operation: 'VOTE', inputs: [] };
    expect(transactionDoc(vote, 1).spends).to.deep.equal([]);
  });
});
