/**
 * Starting and stopping the node: open the database, make its tables, repair an
 * unfinished commit, then serve the HTTP API and the event stream; on close, finish the
 * block in flight, answer or refuse what is pending, and close the database.
 */
import pino, { type Logger } from 'pino';
import { type Connection, type ConnectionOptions, Connection as ConnectionClass, connect, recover, schema } from '../lib';
import { createHttpServer } from './http';
import { BlockProducer } from './producer';
import { registerRoutes } from './routes';
import { EventStream, STREAM_PATH } from './stream';

/**
 * Options of {@link startNode}. Every one has a default; `startNode()` alone serves the
 * embedded SQLite ledger at BigchainDB's ports.
 */
export interface NodeOptions {
  /** The ledger: an open Connection (left open on close), or options for `connect()` (default: `{}`, the environment and defaults). */
  readonly connection?: Connection | ConnectionOptions;
  /** Interface the HTTP API listens on (default `'localhost'`). */
  readonly host?: string;
  /** Port of the HTTP API (default 9984, BigchainDB's; 0 for any free port). */
  readonly port?: number;
  /** Interface the event stream listens on (default: `host`). */
  readonly wsHost?: string;
  /** Port of the event stream (default 9985, BigchainDB's; 0 for any free port). */
  readonly wsPort?: number;
  /** The stream URL `GET /api/v1/` advertises (default `ws://<wsHost>:<wsPort>/api/v1/streams/valid_transactions`); set it behind a proxy. */
  readonly advertisedStreamUrl?: string;
  /** Most transactions in one block (default 2,000). */
  readonly maxBlockSize?: number;
  /** Largest request body in bytes; a larger one is refused with 413 (default 1 MiB; a driver transaction is about 1 KB). */
  readonly bodyLimit?: number;
  /** How long close() waits for pending transactions to commit before refusing them, in ms (default 10,000). */
  readonly shutdownTimeout?: number;
  /** A pino logger, or false for none (default: pino at level `info` on stdout). */
  readonly logger?: Logger | false;
}

/** A running node. */
export interface RunningNode {
  /** Base URL of the API, as the driver takes it, e.g. `http://localhost:9984/api/v1/`. */
  readonly url: string;
  /** URL of the event stream, e.g. `ws://localhost:9985/api/v1/streams/valid_transactions`. */
  readonly streamUrl: string;
  /** The ledger's connection. */
  readonly connection: Connection;
  /** Stops serving: finishes the block in flight, answers or refuses what is pending, closes the database (if the node opened it). Idempotent. */
  close(): Promise<void>;
}

const DEFAULTS = {
  host: 'localhost',
  port: 9984,
  wsPort: 9985,
  maxBlockSize: 2000,
  bodyLimit: 1024 * 1024,
  shutdownTimeout: 10_000,
} as const;

/**
 * Starts a chainstore node: BigchainDB's HTTP API v1 and event stream over any backend.
 *
 * @example
 * const node = await startNode({ connection: { url: 'postgres://ledger@db:5432/ledger' } });
 * console.log(node.url);   // http://localhost:9984/api/v1/
 * // ... new BigchainDB.Connection(node.url) from bigchaindb-driver ...
 * await node.close();
 */
export async function startNode(options: NodeOptions = {}): Promise<RunningNode> {
  const logger = options.logger === false ? pino({ level: 'silent' }) : (options.logger ?? pino());
  const owned = !(options.connection instanceof ConnectionClass);
  const conn = options.connection instanceof ConnectionClass ? options.connection : await connect(options.connection ?? {});
  try {
    return await serve(conn, owned, options, logger);
  } catch (error) {
    if (owned) await conn.close().catch(() => undefined);
    throw error;
  }
}

async function serve(conn: Connection, owned: boolean, options: NodeOptions, logger: Logger): Promise<RunningNode> {
  const host = options.host ?? DEFAULTS.host;
  await schema.initDatabase(conn);
  const recovery = await recover(conn);
  if (recovery.action === 'rolled-back') {
    logger.warn({ height: recovery.height, transactions: recovery.transactions.length }, 'rolled back a commit left unfinished by a crash');
  }
  let stream: EventStream | null = null;
  const producer = new BlockProducer(conn, {
    maxBlockSize: options.maxBlockSize ?? DEFAULTS.maxBlockSize,
    onBlock: (block, txs, milliseconds) => {
      logger.info({ height: block.height, transactions: txs.length, ms: Math.round(milliseconds * 10) / 10 }, 'block committed');
      stream?.publish(block, txs);
    },
    onError: (error, height) => logger.error({ err: error, height }, 'block commit failed'),
  });
  await producer.start();

  const wsHost = options.wsHost ?? host;
  stream = new EventStream({ host: wsHost, port: options.wsPort ?? DEFAULTS.wsPort, conn, latestHeight: () => producer.latestBlock?.height ?? 0 });
  const wsPort = await stream.listen();
  const streamUrl = options.advertisedStreamUrl ?? `ws://${urlHost(wsHost)}:${wsPort}${STREAM_PATH}`;

  const app = await createHttpServer({ logger, bodyLimit: options.bodyLimit ?? DEFAULTS.bodyLimit });
  registerRoutes(app, { conn, producer, streamUrl, version: packageVersion() });
  try {
    await app.listen({ host, port: options.port ?? DEFAULTS.port });
  } catch (error) {
    await stream.close();
    throw error;
  }
  const port = (app.server.address() as { port: number }).port;
  const url = `http://${urlHost(host)}:${port}/api/v1/`;
  logger.info({ api: url, stream: streamUrl, backend: conn.backend, location: conn.location, height: producer.latestBlock?.height }, 'chainstore node serving');

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      // New requests get 503 from here on; the producer commits what is already pending.
      const httpClosed = app.close();
      await producer.close(options.shutdownTimeout ?? DEFAULTS.shutdownTimeout);
      // Every post has its answer now. A connection still open a moment later owes no
      // answer (a client keeping it alive, a request never finished): cut it.
      await Promise.race([httpClosed, new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE).unref())]);
      app.server.closeAllConnections();
      await httpClosed;
      await stream!.close();
      if (owned) await conn.close();
      logger.info({ height: producer.latestBlock?.height }, 'chainstore node stopped');
    })());
  return { url, streamUrl, connection: conn, close };
}

/** How long close() lets connections end by themselves once every post is answered, in ms. */
const CLOSE_GRACE = 1000;

/** A host as it goes in a URL (an IPv6 address in brackets). */
const urlHost = (host: string) => (host.includes(':') ? `[${host}]` : host);

function packageVersion(): string {
  // The same package.json from server/ and from dist/server/.
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      const pkg = require(candidate) as { name?: string; version?: string };
      if (pkg.name === 'chainstore' && pkg.version) return pkg.version;
    } catch {
      // not at this level
    }
  }
  return '0.0.0';
}
