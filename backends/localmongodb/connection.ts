/**
 * The MongoDB connection: one MongoClient (with its pool), made and connected on first use.
 *
 * Why these choices: connect() touches no network, so a connection can be made and closed
 * while the server is down; each operation runs under chainstore's retries (`maxTries`, with
 * backoff), one server selection of `connectionTimeout` ms per try, and a failed connect
 * throws its client away so the next try starts clean. What kind of deployment this is
 * (standalone, replica set, mongos) is asked once with `hello` and cached: it decides whether
 * writes run in multi-document transactions and whether changefeeds exist.
 */
import type { ResolvedConfig } from '../../lib/config';
import { Connection } from '../../lib/connection';
import { ConfigurationError, ConnectionError, OperationError } from '../../lib/errors';
import { withRetries } from '../../lib/retry';
import { type ClientSession, type Db, MongoClient, type Timestamp, type TransactionOptions } from './driver';
import { BACKEND, isRetryable, mapMongoError } from './errors';
import { maskSecrets, secretForms } from '../../lib/redact';
import { type ClientSettings, clientSettings, declaresReplicaSet, declaresTransactions, mongoOptions, withCredentials } from './options';
import { type ServerInfo, describeServer } from './server';

/**
 * Transactions read a snapshot; they commit with the connection's write concern (the
 * driver's default for a transaction), `{ w: 'majority', journal: true }` unless configured
 * otherwise, so a commit survives a failover.
 */
const TRANSACTION_OPTIONS: TransactionOptions = {
  readConcern: { level: 'snapshot' },
  readPreference: 'primary',
};

/** Server code of a command the server does not know. */
const COMMAND_NOT_FOUND = 59;

/**
 * A connection to one MongoDB database.
 *
 * @example
 * const conn = await connect({ backend: 'localmongodb', url: 'mongodb://127.0.0.1:27017/ledger?replicaSet=rs0' });
 * await schema.initDatabase(conn);
 */
export class MongoConnection extends Connection {
  /** Most pooled connections per server. */
  readonly poolSize: number;
  /** The replica set name the configuration gives (option or URL), if any. */
  readonly replicaSet: string | undefined;
  readonly #settings: ClientSettings;
  #client: MongoClient | undefined;
  #connecting: Promise<MongoClient> | undefined;
  #server: ServerInfo | undefined;
  #asking: Promise<ServerInfo> | undefined;
  #version: Promise<string> | undefined;

  constructor(config: ResolvedConfig) {
    super(config);
    const options = mongoOptions(config);
    this.poolSize = options.poolSize;
    this.replicaSet = options.replicaSet ?? /[?&]replicaSet=([^&#]+)/i.exec(config.url ?? '')?.[1];
    // Checked now, so a bad option or URL fails connect() instead of the first operation.
    // The driver parses its URL and options when a client is made (no network); this one is
    // only that check, the client that connects is made on first use.
    this.#settings = clientSettings(config);
    this.newClient();
  }

  override get location(): string {
    const { displayUrl, host = 'localhost', port = 27017, name } = this.config;
    return displayUrl ?? `${host.includes(':') ? `[${host}]` : host}:${port}/${name}`;
  }

  /** The driver's URL and options (without the password). */
  get settings(): ClientSettings {
    return this.#settings;
  }

  /**
   * A new, unconnected client for this configuration (the only place the password is given
   * to the driver).
   *
   * @example
   * const client = conn.newClient();   // no network until client.connect()
   */
  newClient(): MongoClient {
    try {
      return new MongoClient(this.#settings.url, withCredentials(this.#settings.options, this.config));
    } catch (error) {
      // The driver's message names the bad part; it may quote the URL, so it is redacted.
      throw new ConfigurationError(`[${BACKEND}] invalid connection settings for ${this.location}: ${this.redact((error as Error).message)}`);
    }
  }

  /**
   * The connected client: made and connected on first use, shared afterwards (the driver
   * reconnects it by itself once connected). One try; {@link attempt} retries.
   */
  async connectedClient(): Promise<MongoClient> {
    if (this.closed) throw this.closedError();
    if (this.#client) return this.#client;
    this.#connecting ??= (async () => {
      const client = this.newClient();
      try {
        await client.connect();
      } catch (error) {
        // A client whose first connect failed keeps a closed topology: start over next time.
        await client.close().catch(() => undefined);
        throw error;
      }
      if (this.closed) {
        await client.close().catch(() => undefined);
        throw this.closedError();
      }
      this.#client = client;
      return client;
    })().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  /**
   * Runs `work` on the configured database, trying again while the deployment cannot be
   * reached (up to `maxTries`, with backoff); a refusal by the server is mapped at once.
   *
   * @example
   * const block = await conn.attempt('get block', (db) => db.collection('blocks').findOne({ height: 1 }));
   */
  attempt<T>(what: string, work: (db: Db, client: MongoClient) => Promise<T>): Promise<T> {
    return withRetries(
      async () => {
        const client = await this.connectedClient();
        return work(client.db(this.config.name), client);
      },
      {
        backend: BACKEND,
        log: this.log,
        what,
        maxTries: this.config.maxTries,
        retryable: (error) => !this.closed && isRetryable(error),
        giveUp: (error, tries) => mapMongoError(error, what, { secret: this.config.password, tries, target: this.location }),
      },
    );
  }

  /**
   * What the deployment is (asked once with `hello`, then cached).
   *
   * @example
   * if ((await conn.serverInfo()).changeStreams) ...
   */
  serverInfo(): Promise<ServerInfo> {
    if (this.#server) return Promise.resolve(this.#server);
    this.#asking ??= this.attempt('inspect server', async (_db, client) => {
      const admin = client.db('admin');
      const reply = await admin.command({ hello: 1 }).catch((error: unknown) => {
        // Servers older than 4.4.2 answer only the legacy spelling.
        if ((error as { code?: unknown }).code === COMMAND_NOT_FOUND) return admin.command({ isMaster: 1 });
        throw error;
      });
      return describeServer(reply);
    })
      .then((info) => (this.#server = info))
      .finally(() => {
        this.#asking = undefined;
      });
    return this.#asking;
  }

  /**
   * The server's version (`buildInfo`, asked once, then cached), for what the wire version
   * cannot tell apart (6.0.x releases all speak wire version 17).
   *
   * @example
   * await conn.buildVersion();   // '7.0.14'
   */
  buildVersion(): Promise<string> {
    this.#version ??= this.attempt('inspect server', async (_db, client) => String((await client.db('admin').command({ buildInfo: 1 })).version)).catch(
      (error: unknown) => {
        this.#version = undefined;
        throw error;
      },
    );
    return this.#version;
  }

  /**
   * What is known of the deployment without asking: the cached `hello`, if any was made.
   *
   * @example
   * conn.knownServer?.topology;   // undefined before the first operation
   */
  get knownServer(): ServerInfo | undefined {
    return this.#server;
  }

  /** The configuration declares a replica set (option or URL), before any server is asked. */
  get declaresReplicaSet(): boolean {
    return declaresReplicaSet(this.config);
  }

  /** The configuration implies transactions and change streams, before any server is asked. */
  get declaresTransactions(): boolean {
    return declaresTransactions(this.config);
  }

  /**
   * Runs `work` in one multi-document transaction (replica sets and sharded clusters only).
   * The driver runs `work` again on a transient conflict and retries an unknown commit
   * result; `work` must therefore only write through `session` and throw what fails.
   *
   * @example
   * await conn.transaction('commit block', async (session, db) => { await db.collection('blocks').insertOne(doc, { session }); });
   */
  transaction<T>(what: string, work: (session: ClientSession, db: Db) => Promise<T>): Promise<T> {
    return this.attempt(what, async (db, client) => {
      const session = client.startSession();
      try {
        return await session.withTransaction(() => work(session, db), TRANSACTION_OPTIONS);
      } finally {
        await session.endSession().catch(() => undefined);
      }
    });
  }

  /**
   * Runs `work` all or nothing where the deployment has transactions (in one, with its
   * session), and step by step where it has not (no session).
   *
   * @example
   * await conn.atomically('delete transactions', (db, session) => db.collection('assets').deleteMany(filter, { session }));
   */
  async atomically<T>(what: string, work: (db: Db, session?: ClientSession) => Promise<T>): Promise<T> {
    if ((await this.serverInfo()).transactions) return this.transaction(what, (session, db) => work(db, session));
    return this.attempt(what, (db) => work(db));
  }

  /**
   * The deployment's majority-committed operation time, read on `collection`: every change
   * acknowledged by a majority before this call is at or below it; every change not yet
   * majority-committed (in flight, or made later) is above it. A change stream started just
   * after it therefore skips what was acknowledged before and loses nothing that follows.
   * (Replica sets and sharded clusters only: a standalone server keeps no oplog.)
   *
   * @example
   * const start = await conn.majorityTime('blocks');
   */
  majorityTime(collection: string): Promise<Timestamp> {
    return this.attempt('read the operation time', async (db, client) => {
      const session = client.startSession({ causalConsistency: true });
      try {
        // A read at majority: the server answers with the majority commit point as operationTime.
        await db.collection(collection).find({}, { projection: { _id: 1 }, limit: 1, session, readConcern: { level: 'majority' } }).toArray();
        const time = session.operationTime;
        if (!time) throw new OperationError(BACKEND, 'the server reported no operation time (a standalone server keeps no oplog)');
        return time;
      } finally {
        await session.endSession().catch(() => undefined);
      }
    });
  }

  /** `text` without the configured password (in every form lib/redact.ts knows) or any URL's. */
  redact(text: string): string {
    return maskSecrets(text, secretForms(this.config.password));
  }

  private closedError(): ConnectionError {
    return new ConnectionError(BACKEND, `the connection to ${this.location} is closed`);
  }

  protected override async release(): Promise<void> {
    const pending = this.#connecting;
    const client = this.#client;
    this.#client = undefined;
    this.#server = undefined;
    this.#version = undefined;
    await client?.close().catch(() => undefined);
    // A connect in progress sees the connection closed and closes its client itself.
    await pending?.catch(() => undefined);
  }
}
