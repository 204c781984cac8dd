/**
 * Connecting to PostgreSQL when things go wrong (docs/design.md section 7): lazy connection,
 * retries with backoff up to `maxTries`, `connectionTimeout`, passwords kept out of errors,
 * refused statements reported at once, sessions replaced after the server ends them, and
 * commitBlock all or nothing. Plus the ways of naming the database (URL, environment) and
 * what admin says about the server.
 *
 * Fake servers are plain TCP listeners that count what reaches them; where a real server is
 * needed, a relay in front of it counts the statements the driver sends.
 */
import { expect } from 'chai';
import net from 'node:net';
import { inspect } from 'node:util';
import pg from 'pg';
import { PostgresConnection } from '../../backends/postgres';
import {
  type Connection,
  ConnectionError,
  DuplicateKeyError,
  type Transaction,
  UnsupportedOperationError,
  admin,
  capabilities,
  connect,
  query,
  schema,
} from '../../lib';
import { block, createTx, hexId, output, publicKey, spend, transferTx, utxosOf } from '../conformance/fixtures';
import { POSTGRES_URL, connectPostgres, skipWithoutPostgres, truncateAll } from '../support/postgres';

const PASSWORD = 's3cret-Pw';
/** A port nothing listens on: every attempt is refused at once. */
const UNREACHABLE = 1;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The test server's parts, from its URL. */
function serverParts() {
  const url = new URL(POSTGRES_URL);
  return {
    host: url.hostname || '127.0.0.1',
    port: Number(url.port || 5432),
    name: decodeURIComponent(url.pathname.replace(/^\//, '')),
    login: decodeURIComponent(url.username || 'postgres'),
    password: url.password ? decodeURIComponent(url.password) : undefined,
  };
}

/** The error `promise` rejects with (failing if it resolves), and how long that took. */
async function failure<E extends Error>(type: abstract new (...args: never[]) => E, promise: () => Promise<unknown>): Promise<{ error: E; ms: number }> {
  const start = Date.now();
  let error: unknown;
  try {
    await promise();
  } catch (e) {
    error = e;
  }
  const ms = Date.now() - start;
  if (error === undefined) expect.fail(`resolved; expected ${type.name}`);
  expect(error, String(error)).to.be.an.instanceOf(type);
  return { error: error as E, ms };
}

/**
 * A TCP listener standing in for a server. `hangup`: accepts and closes at once (a server
 * that drops every session); `silent`: accepts and never answers; `relay`: forwards to the
 * real server and records the statements the client executes.
 */
class FakeServer {
  port = 0;
  connections = 0;
  /** Statements executed through the relay, in order (simple queries and extended-protocol executes). */
  readonly statements: string[] = [];
  /**
   * The next COMMIT through the relay loses its session: 'before' it reaches the server, or
   * 'after' the server committed and answered (the answer is not passed on); 'stranded': the
   * client's side is closed before COMMIT but the server's is kept open, as a cut network
   * leaves it (the server's session stays in its transaction, holding its locks).
   */
  dropAtCommit: 'before' | 'after' | 'stranded' | undefined;
  #server: net.Server | undefined;
  #sockets = new Set<net.Socket>();

  constructor(private readonly mode: 'hangup' | 'silent' | 'relay') {}

  async start(): Promise<this> {
    const server = net.createServer((socket) => {
      this.connections++;
      this.#track(socket);
      if (this.mode === 'hangup') socket.destroy();
      else if (this.mode === 'relay') this.#relay(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
    return this;
  }

  /** A URL of the test database through this listener. */
  url(password?: string): string {
    const { name, login } = serverParts();
    return `postgres://${encodeURIComponent(login)}${password ? `:${encodeURIComponent(password)}` : ''}@127.0.0.1:${this.port}/${encodeURIComponent(name)}`;
  }

  /** Sockets open now (a relayed session counts twice: client side and server side). */
  get open(): number {
    return this.#sockets.size;
  }

  /** Statements recorded whose text matches. */
  count(pattern: RegExp): number {
    return this.statements.filter((text) => pattern.test(text)).length;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #track(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
  }

  #relay(inbound: net.Socket): void {
    const { host, port } = serverParts();
    const outbound = net.connect(port, host);
    this.#track(outbound);
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
    outbound.pipe(inbound);
    const session: RelayedSession = { buffer: Buffer.alloc(0), started: false, prepared: new Map(), bound: '' };
    const hangUp = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('data', (chunk: Buffer) => {
      const commit = this.#read(session, chunk);
      if (commit && (this.dropAtCommit === 'before' || this.dropAtCommit === 'stranded')) {
        const stranded = this.dropAtCommit === 'stranded';
        this.dropAtCommit = undefined;
        if (!stranded) hangUp();
        else {
          // Only the client's side goes: the server's stays open until the relay stops.
          inbound.removeAllListeners('close');
          outbound.removeAllListeners('close');
          outbound.unpipe(inbound);
          this.#sockets.delete(inbound);
          inbound.destroy();
        }
        return;
      }
      outbound.write(chunk);
      if (commit && this.dropAtCommit === 'after') {
        this.dropAtCommit = undefined;
        outbound.unpipe(inbound);
        outbound.once('data', hangUp);
        outbound.resume(); // unpipe paused it
      }
    });
  }

  /**
   * Reads the frontend protocol, recording statements; true if `chunk` completed a COMMIT.
   * The startup message has no type byte, every later message is a type byte and a length.
   * Parse remembers a statement's text, Bind which one runs.
   */
  #read(session: RelayedSession, chunk: Buffer): boolean {
    session.buffer = Buffer.concat([session.buffer, chunk]);
    let commit = false;
    for (;;) {
      const buffer = session.buffer;
      if (!session.started) {
        if (buffer.length < 8 || buffer.length < buffer.readInt32BE(0)) return commit;
        const code = buffer.readInt32BE(4);
        session.buffer = buffer.subarray(buffer.readInt32BE(0));
        if (code !== 80877103 && code !== 80877104) session.started = true; // not an SSL/GSS request
        continue;
      }
      if (buffer.length < 5 || buffer.length < 1 + buffer.readInt32BE(1)) return commit;
      const type = String.fromCharCode(buffer[0]);
      const length = buffer.readInt32BE(1);
      const body = buffer.subarray(5, 1 + length);
      session.buffer = buffer.subarray(1 + length);
      const strings = (n: number) => {
        const out: string[] = [];
        let at = 0;
        for (let i = 0; i < n; i++) {
          const end = body.indexOf(0, at);
          out.push(body.subarray(at, end).toString('utf8'));
          at = end + 1;
        }
        return out;
      };
      if (type === 'Q') {
        const [text] = strings(1);
        this.statements.push(text);
        commit ||= /^COMMIT$/i.test(text);
      } else if (type === 'P') {
        const [name, text] = strings(2);
        session.prepared.set(name, text);
      } else if (type === 'B') session.bound = session.prepared.get(strings(2)[1]) ?? '';
      else if (type === 'E') this.statements.push(session.bound);
    }
  }
}

/** What the relay knows of one client session. */
interface RelayedSession {
  buffer: Buffer;
  started: boolean;
  prepared: Map<string, string>;
  bound: string;
}

describe('postgres connection faults', function () {
  before(skipWithoutPostgres);

  const opened: Connection[] = [];
  const servers: FakeServer[] = [];
  /** A plain client acting as the operator: it ends sessions and asks the server directly. */
  let operator: pg.Client;

  /** A connection closed after the test. */
  async function open(options: Record<string, unknown> = {}, env?: NodeJS.ProcessEnv): Promise<Connection> {
    const conn = await connect({ backend: 'postgres', ...options }, env ?? {});
    opened.push(conn);
    return conn;
  }

  async function fake(mode: 'hangup' | 'silent' | 'relay'): Promise<FakeServer> {
    const server = await new FakeServer(mode).start();
    servers.push(server);
    return server;
  }

  /** The server process id behind a postgres connection's pooled session. */
  async function sessionPid(conn: Connection): Promise<number> {
    expect(conn).to.be.an.instanceOf(PostgresConnection);
    const [row] = await (conn as PostgresConnection).query<{ pid: number }>('session pid', 'SELECT pg_backend_pid() AS pid');
    return Number(row.pid);
  }

  async function terminate(pid: number): Promise<boolean> {
    const { rows } = await operator.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid]);
    return rows[0].ok;
  }

  before(async function () {
    operator = new pg.Client({ connectionString: POSTGRES_URL, application_name: 'chainstore-spec-operator' });
    operator.on('error', () => undefined);
    await operator.connect();
  });

  afterEach(async function () {
    await Promise.all(opened.splice(0).map((conn) => conn.close()));
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });

  after(async function () {
    await operator?.end().catch(() => undefined);
  });

  describe('connect()', function () {
    it('touches no network: the connection is made, inspected and closed with nobody listening', async function () {
      const conn = await open({ host: '127.0.0.1', port: UNREACHABLE, name: 'test', maxTries: 1 });
      expect(conn.backend).to.equal('postgres');
      expect(conn.location).to.equal(`127.0.0.1:${UNREACHABLE}/test`);
      expect(inspect(conn)).to.include('postgres').and.include(`127.0.0.1:${UNREACHABLE}/test`);
      await conn.close();
      expect(conn.closed).to.equal(true);
    });

    it('opens nothing until the first operation, which does reach the server; close() releases it', async function () {
      const relay = await fake('relay');
      const conn = await open({ url: relay.url() });
      await sleep(100);
      expect(relay.connections, 'connections after connect()').to.equal(0);
      expect((await admin.getConfig(conn)).version, 'an answer from the server').to.be.a('string');
      expect(relay.connections, 'connections after the first operation').to.be.greaterThan(0);
      expect(relay.open, 'sockets open before close()').to.be.greaterThan(0);
      await conn.close();
      const closed = Date.now();
      while (relay.open > 0 && Date.now() - closed < 2000) await sleep(10);
      expect(relay.open, 'sockets open after close()').to.equal(0);
    });
  });

  describe('an unreachable server', function () {
    it('rejects the first operation with ConnectionError after maxTries tries, backing off between them', async function () {
      const conn = await open({ host: '127.0.0.1', port: UNREACHABLE, name: 'test', maxTries: 3, connectionTimeout: 200 });
      const { error, ms } = await failure(ConnectionError, () => query.getLatestBlock(conn));
      expect(error.code).to.equal('CHAINSTORE_CONNECTION');
      expect(error.backend).to.equal('postgres');
      expect(error.message).to.match(/^\[postgres\] /);
      expect(error.cause, 'the driver error is kept as cause').to.be.an.instanceOf(Error);
      // Pauses of 100 ms and 200 ms between the three tries.
      expect(ms, 'milliseconds until the rejection').to.be.within(280, 3000);
    });

    it('gives up at once with maxTries: 1', async function () {
      const conn = await open({ host: '127.0.0.1', port: UNREACHABLE, name: 'test', maxTries: 1, connectionTimeout: 200 });
      const { ms } = await failure(ConnectionError, () => query.getLatestBlock(conn));
      expect(ms, 'milliseconds until the rejection').to.be.below(250);
    });

    for (const maxTries of [1, 3, 5]) {
      it(`tries exactly maxTries (${maxTries}) times against a server that drops every session`, async function () {
        const server = await fake('hangup');
        const conn = await open({ url: server.url(), maxTries, connectionTimeout: 1000 });
        const { ms } = await failure(ConnectionError, () => query.getBlock(conn, 1));
        expect(server.connections, 'attempts that reached the server').to.equal(maxTries);
        // 100, 200, 400, 800 ms between tries.
        const backoff = [0, 100, 300, 700, 1500][maxTries - 1];
        expect(ms, 'milliseconds until the rejection').to.be.within(backoff * 0.9, backoff + 2000);
      });
    }

    it('bounds each try by connectionTimeout against a server that never answers', async function () {
      const server = await fake('silent');
      const conn = await open({ url: server.url(), maxTries: 2, connectionTimeout: 200 });
      const { error, ms } = await failure(ConnectionError, () => query.getBlock(conn, 1));
      expect(server.connections, 'attempts that reached the server').to.equal(2);
      // Two tries of 200 ms with a 100 ms pause: far below pg's own (unbounded) wait.
      expect(ms, 'milliseconds until the rejection').to.be.within(450, 2500);
      expect(error.backend).to.equal('postgres');
    });

    it('tries createDatabase, dropDatabase and initDatabase maxTries times too, like a query, against a server that never answers', async function () {
      // pg's Client (the maintenance database's) says "timeout expired" where the pool says
      // "Connection terminated due to connection timeout": both are the server not answering.
      const calls: [string, (conn: Connection) => Promise<unknown>][] = [
        ['createDatabase', (conn) => schema.createDatabase(conn)],
        ['dropDatabase', (conn) => schema.dropDatabase(conn)],
        ['initDatabase', (conn) => schema.initDatabase(conn)],
        ['getBlock', (conn) => query.getBlock(conn, 1)],
      ];
      for (const [name, call] of calls) {
        const server = await fake('silent');
        const conn = await open({ url: server.url(), maxTries: 2, connectionTimeout: 200 });
        const { error, ms } = await failure(ConnectionError, () => call(conn));
        expect(server.connections, `${name}: attempts that reached the server`).to.equal(2);
        expect(ms, `${name}: milliseconds until the rejection`).to.be.within(450, 2500);
        expect(error.backend, name).to.equal('postgres');
        expect(error.cause, `${name}: the driver error is kept as cause`).to.be.an.instanceOf(Error);
      }
    });

    it('never shows the password, in the error or in the connection', async function () {
      const silent = await fake('silent');
      const hangup = await fake('hangup');
      const urls = [`postgres://postgres:${PASSWORD}@127.0.0.1:${UNREACHABLE}/test`, silent.url(PASSWORD), hangup.url(PASSWORD)];
      const conns = [
        ...(await Promise.all(urls.map((url) => open({ url, maxTries: 2, connectionTimeout: 200 })))),
        await open({ maxTries: 2, connectionTimeout: 200 }, {
          CHAINSTORE_DATABASE_HOST: '127.0.0.1',
          CHAINSTORE_DATABASE_PORT: String(UNREACHABLE),
          CHAINSTORE_DATABASE_NAME: 'test',
          CHAINSTORE_DATABASE_PASSWORD: PASSWORD,
        }),
      ];
      for (const conn of conns) {
        const { error } = await failure(ConnectionError, () => query.getLatestBlock(conn));
        const views = {
          message: error.message,
          string: String(error),
          stack: String(error.stack),
          inspect: inspect(error, { depth: Infinity }),
          inspectHidden: inspect(error, { depth: Infinity, showHidden: true }),
          json: JSON.stringify(error),
          cause: String(error.cause),
          conn: inspect(conn, { depth: Infinity }),
          connJson: JSON.stringify(conn),
          location: conn.location,
          config: inspect(conn.config, { depth: Infinity, showHidden: true }),
          configJson: JSON.stringify(conn.config),
        };
        for (const [view, text] of Object.entries(views)) {
          expect(text, `${view} of ${conn.location}`).not.to.include(PASSWORD);
        }
        expect(views.inspect, 'inspect shows the error').to.include('ConnectionError');
      }
      // The password was really given: the config holds it (hidden).
      expect(conns.map((conn) => conn.config.password)).to.deep.equal(conns.map(() => PASSWORD));
    });
  });

  describe('on a live server', function () {
    let conn: Connection;

    beforeEach(async function () {
      conn = await connectPostgres({ maxTries: 10 });
      opened.push(conn);
      await truncateAll(conn);
    });

    it('does not retry a refused statement: a duplicate height is one DuplicateKeyError with keys [height]', async function () {
      const relay = await fake('relay');
      const through = await open({ url: relay.url(), maxTries: 10 });
      await query.storeBlock(through, block(7));
      const { error } = await failure(DuplicateKeyError, () => query.storeBlock(through, { ...block(7), app_hash: hexId('other') }));
      expect(error.keys).to.deep.equal([7]);
      expect(error.backend).to.equal('postgres');
      expect((error.cause as { code?: string }).code, 'the server error is the cause').to.equal('23505');
      expect(relay.count(/^INSERT INTO blocks/), 'block inserts sent').to.equal(2);
      expect(relay.connections, 'sessions opened').to.equal(1);
      expect((await query.getBlock(conn, 7))?.app_hash).to.equal(block(7).app_hash);
    });

    it('does not retry a refused transaction: a duplicate transaction is one attempt', async function () {
      const relay = await fake('relay');
      const through = await open({ url: relay.url(), maxTries: 10 });
      const tx = createTx();
      await query.writeTransaction(through, tx);
      const { error } = await failure(DuplicateKeyError, () => query.writeTransaction(through, tx));
      expect(error.keys).to.deep.equal([tx.id]);
      expect(relay.count(/^BEGIN$/i), 'transactions begun').to.equal(2);
    });

    const LOSSES = {
      after: 'the server committed and its answer was lost',
      before: 'COMMIT never reached the server',
      stranded: 'COMMIT never reached the server, whose session lives on holding its locks',
    } as const;
    for (const [when, what] of Object.entries(LOSSES) as [keyof typeof LOSSES, string][]) {
      it(`completes a commitBlock whose session was lost at COMMIT (${what}), storing it once`, async function () {
        const relay = await fake('relay');
        const through = await open({ url: relay.url(), maxTries: 10 });
        const txs = [createTx(), createTx()];
        relay.dropAtCommit = when;
        await query.commitBlock(through, block(3, txs), txs);
        expect(relay.dropAtCommit, 'the relay dropped a session at COMMIT').to.equal(undefined);
        expect(relay.count(/^COMMIT$/i), 'COMMITs sent').to.equal(when === 'after' ? 1 : 2);
        expect(await query.getBlock(conn, 3)).to.deep.equal(block(3, txs));
        expect(await query.getTransactions(conn, txs.map((tx) => tx.id))).to.deep.equal(txs);
        expect((await admin.countRecords(conn)).transactions).to.equal(txs.length);
      });
    }

    it('completes storeBlock, storeAssets and storeMetadatas whose answer to COMMIT was lost, storing each once', async function () {
      const relay = await fake('relay');
      const through = await open({ url: relay.url(), maxTries: 10 });
      const [a, b] = [createTx(), createTx()];
      const writes: [string, () => Promise<unknown>][] = [
        ['storeBlock', () => query.storeBlock(through, block(5))],
        ['storeAssets', () => query.storeAssets(through, [{ id: a.id, data: { n: 1 } }])],
        ['storeAsset', () => query.storeAsset(through, { id: b.id, data: { n: 2 } })],
        ['storeMetadatas', () => query.storeMetadatas(through, [{ id: a.id, metadata: { m: 1 } }])],
      ];
      for (const [name, write] of writes) {
        relay.dropAtCommit = 'after';
        await write();
        expect(relay.dropAtCommit, `the relay dropped ${name}'s session at COMMIT`).to.equal(undefined);
      }
      expect(await query.getBlock(conn, 5)).to.deep.equal(block(5));
      expect(await query.getAssets(conn, [a.id, b.id])).to.deep.equal([{ id: a.id, data: { n: 1 } }, { id: b.id, data: { n: 2 } }]);
      expect(await query.getMetadata(conn, [a.id])).to.deep.equal([{ id: a.id, metadata: { m: 1 } }]);
    });

    it('replaces a session the server terminated between two operations', async function () {
      const single = await connectPostgres({ poolSize: 1 });
      opened.push(single);
      const create = createTx();
      const committed = createTx();
      const steps: [string, () => Promise<unknown>][] = [
        ['storeBlock', () => query.storeBlock(single, block(1))],
        ['getBlock', async () => expect(await query.getBlock(single, 1)).to.deep.equal(block(1))],
        ['writeTransaction', () => query.writeTransaction(single, create)],
        ['commitBlock', () => query.commitBlock(single, block(2, [committed]), [committed])],
        ['getTransaction', async () => expect(await query.getTransaction(single, create.id)).to.deep.equal(create)],
      ];
      let pid = await sessionPid(single);
      for (const [name, step] of steps) {
        expect(await terminate(pid), `terminated the session before ${name}`).to.equal(true);
        await step();
        const next = await sessionPid(single);
        expect(next, `a new session after ${name}`).not.to.equal(pid);
        pid = next;
      }
      expect((await query.getLatestBlock(conn))?.height).to.equal(2);
    });

    it('retries a transaction whose session is terminated in the middle, writing it once', async function () {
      this.timeout(60_000);
      const txs = Array.from({ length: 20_000 }, () => createTx({ metadata: { padding: 'x'.repeat(200) } }));
      const writing = query.writeTransactions(conn, txs);
      writing.catch(() => undefined); // awaited below; this only keeps an early failure of the test from leaving it unhandled
      // Wait until the batch's INSERT is running, then end its session.
      let killed = 0;
      const started = Date.now();
      while (killed === 0 && Date.now() - started < 20_000) {
        const { rows } = await operator.query<{ ok: boolean }>(
          `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'chainstore' AND state = 'active' AND query LIKE '%INSERT INTO transactions%'`,
        );
        killed = rows.filter((row) => row.ok).length;
        if (killed === 0) await sleep(5);
      }
      expect(killed, 'sessions terminated mid-transaction').to.equal(1);
      await writing;
      const counts = await admin.countRecords(conn);
      expect(counts.transactions).to.equal(txs.length);
      expect(counts.metadata).to.equal(txs.length);
      const sample = [txs[0], txs[9_999], txs[19_999]];
      expect(await query.getTransactions(conn, sample.map((tx) => tx.id))).to.deep.equal(sample);
    });

    describe('commitBlock, when the server refuses part of it, writes nothing', function () {
      const alice = publicKey('alice');
      const bob = publicKey('bob');
      let genesis: Transaction;

      /** Everything a commit touches. */
      async function snapshot(ids: string[]) {
        return {
          counts: await admin.countRecords(conn),
          preCommit: await query.getPreCommitState(conn),
          latest: await query.getLatestBlock(conn),
          transactions: await query.getTransactions(conn, ids),
          assets: await query.getAssets(conn, ids),
          metadata: await query.getMetadata(conn, ids),
          utxos: await query.getUnspentOutputs(conn),
        };
      }

      beforeEach(async function () {
        genesis = createTx({ owner: alice, outputs: [output([alice], '3'), output([alice], '4')] });
        await query.commitBlock(conn, block(1, [genesis]), [genesis]);
      });

      it('a block height that exists (the last step) rolls back the pre-commit record, transactions and UTXO changes', async function () {
        const move = transferTx([spend(genesis, 0)], { outputs: [output([bob], '3')], metadata: { step: 'move' } });
        const fresh = createTx({ owner: bob, metadata: { step: 'fresh' } });
        const ids = [genesis.id, move.id, fresh.id];
        const before = await snapshot(ids);
        expect(before.utxos).to.have.deep.members(utxosOf(genesis));

        const { error } = await failure(DuplicateKeyError, () => query.commitBlock(conn, block(1, [move, fresh]), [move, fresh]));
        expect(error.keys).to.deep.equal([1]);
        expect(await snapshot(ids)).to.deep.equal(before);
        // And the same commit at the next height goes through: nothing half-written is in its way.
        await query.commitBlock(conn, block(2, [move, fresh]), [move, fresh]);
        expect(await query.getTransactions(conn, [move.id, fresh.id])).to.deep.equal([move, fresh]);
      });

      it('a transaction that exists (a middle step) rolls back the pre-commit record and the rest of the block', async function () {
        const fresh = createTx({ owner: bob, metadata: { step: 'fresh' } });
        const ids = [genesis.id, fresh.id];
        const before = await snapshot(ids);

        const { error } = await failure(DuplicateKeyError, () => query.commitBlock(conn, block(2, [fresh, genesis]), [fresh, genesis]));
        expect(error.keys).to.deep.equal([genesis.id]);
        expect(await snapshot(ids)).to.deep.equal(before);
        expect(await query.getBlock(conn, 2)).to.equal(null);
      });
    });

    describe('naming the database', function () {
      let marker: ReturnType<typeof block>;

      beforeEach(async function () {
        marker = { ...block(42), app_hash: hexId(`naming/${Date.now()}/${Math.random()}`) };
        await query.storeBlock(conn, marker);
      });

      it('by URL: connect({ backend: "postgres", url }) and connect({ url }) reach the test database', async function () {
        const withBackend = await open({ url: POSTGRES_URL });
        const byScheme = await connect({ url: POSTGRES_URL }, {});
        opened.push(byScheme);
        for (const c of [withBackend, byScheme]) {
          expect(c.backend).to.equal('postgres');
          expect(await query.getBlock(c, 42)).to.deep.equal(marker);
        }
      });

      it('by the CHAINSTORE_DATABASE_* environment given to connect()', async function () {
        const { host, port, name, login, password } = serverParts();
        const parts: NodeJS.ProcessEnv = {
          CHAINSTORE_DATABASE_BACKEND: 'postgres',
          CHAINSTORE_DATABASE_HOST: host,
          CHAINSTORE_DATABASE_PORT: String(port),
          CHAINSTORE_DATABASE_NAME: name,
          CHAINSTORE_DATABASE_LOGIN: login,
          ...(password ? { CHAINSTORE_DATABASE_PASSWORD: password } : {}),
        };
        const fromParts = await connect({}, parts);
        opened.push(fromParts);
        expect(fromParts.backend).to.equal('postgres');
        expect(fromParts.location).to.equal(`${host}:${port}/${name}`);
        expect(await query.getBlock(fromParts, 42)).to.deep.equal(marker);

        const fromUrl = await connect({}, { CHAINSTORE_DATABASE_URL: POSTGRES_URL });
        opened.push(fromUrl);
        expect(fromUrl.backend).to.equal('postgres');
        expect(await query.getBlock(fromUrl, 42)).to.deep.equal(marker);

        // The environment is really what is used: point its port elsewhere and nothing answers.
        const elsewhere = await connect({ maxTries: 1 }, { ...parts, CHAINSTORE_DATABASE_PORT: String(UNREACHABLE) });
        opened.push(elsewhere);
        await failure(ConnectionError, () => query.getBlock(elsewhere, 42));
      });
    });

    it('admin.getConfig reports the server version the server itself reports', async function () {
      const config = await admin.getConfig(conn);
      const { rows } = await operator.query<{ server_version: string }>('SHOW server_version');
      expect(config.version).to.be.a('string').and.equal(rows[0].server_version);
      expect(config.version).to.match(/^\d+(\.\d+)?/);
      expect(config.backend).to.equal('postgres');
      expect(config.database).to.equal(serverParts().name);
    });

    it('rejects shard and replica operations with UnsupportedOperationError naming postgres', async function () {
      const operations: [string, () => Promise<unknown>][] = [
        ['reconfigure', () => admin.reconfigure(conn, { shards: 2, replicas: 2 })],
        ['setShards', () => admin.setShards(conn, 2)],
        ['setReplicas', () => admin.setReplicas(conn, 2)],
        ['addReplicas', () => admin.addReplicas(conn, ['db2.internal:5432'])],
        ['removeReplicas', () => admin.removeReplicas(conn, ['db2.internal:5432'])],
      ];
      for (const [name, call] of operations) {
        const { error } = await failure(UnsupportedOperationError, call);
        expect(error.code, name).to.equal('CHAINSTORE_UNSUPPORTED');
        expect(error.backend, name).to.equal('postgres');
        expect(error.message, name).to.include('postgres').and.include(name);
      }
      const caps = capabilities(conn);
      expect(caps.admin).to.deep.include({ getConfig: true, reconfigure: false, setShards: false, setReplicas: false, addReplicas: false, removeReplicas: false });
    });
  });
});
