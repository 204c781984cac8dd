/**
 * A few driver connections owned by one chainstore connection, opened on first use.
 *
 * Why not the driver's `r.connectPool`: it installs one pool for the whole process, and a
 * second call drains the first. Two chainstore connections (or chainstore and an
 * application's own use of rethinkdb-ts) would close each other's queries. `r.connect`
 * makes independent connections; RethinkDB multiplexes concurrent queries over each, so a
 * handful, used in turn, is a pool.
 *
 * Dead peers. A path that drops silently (a NAT entry expiring, a partition, a host gone
 * without a FIN or RST) leaves the socket "open" with nothing coming back, and the driver
 * waits for an answer forever. {@link withDeadline} bounds that wait: a query without an
 * answer in time closes its connection (every query multiplexed on it fails at once, as it
 * would have sooner or later) and fails with a socket timeout that the retry logic treats as
 * a lost connection; the pool replaces a closed connection on its next turn.
 */
import type { Connection as DriverConnection } from 'rethinkdb-ts';

/**
 * The error of a query that got no answer in time: shaped as a socket timeout (`ETIMEDOUT`),
 * which errors.ts counts as a lost connection.
 *
 * @example
 * throw noAnswer(60_000);
 */
export function noAnswer(ms: number): Error & { code: string } {
  return Object.assign(new Error(`no answer within ${ms} ms; the connection was closed as dead`), { code: 'ETIMEDOUT' });
}

/**
 * Waits for `work` (a query running on `connection`) at most `ms` milliseconds (0: no limit);
 * past that, closes the connection and rejects with {@link noAnswer}. The late outcome of
 * `work` is dropped (closing the connection fails it).
 *
 * @example
 * const rows = await withDeadline(connection, term.run(connection), 60_000);
 */
export async function withDeadline<T>(connection: DriverConnection, work: Promise<T>, ms: number): Promise<T> {
  if (ms <= 0) return work;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      work.catch(() => undefined);
      connection.close().catch(() => undefined);
      reject(noAnswer(ms));
    }, ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Up to `size` driver connections, handed out in turn; a connection found closed (the server
 * went away) is replaced by a new one on its next turn.
 *
 * @example
 * const pool = new ConnectionPool(() => r.connect(options), 4);
 * const connection = await pool.acquire();
 * await r.now().run(connection);
 * await pool.close();
 */
export class ConnectionPool {
  readonly size: number;
  #slots: (Promise<DriverConnection> | undefined)[];
  #turn = 0;
  #closed = false;

  constructor(private readonly open: () => Promise<DriverConnection>, size: number) {
    this.size = size;
    this.#slots = new Array(size).fill(undefined);
  }

  /** True once `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** An open connection (opening one if its slot is empty or its connection closed). */
  async acquire(): Promise<DriverConnection> {
    if (this.#closed) throw new Error('the connection pool is closed');
    const slot = this.#turn++ % this.size;
    const current = this.#slots[slot];
    if (current) {
      const connection = await current.catch(() => undefined);
      if (connection?.open) return connection;
      if (this.#slots[slot] === current) this.#slots[slot] = undefined;
      connection?.close().catch(() => undefined);
    }
    return this.#fill(slot);
  }

  /** Opens a connection into an empty slot (or waits for the one another caller is opening). */
  #fill(slot: number): Promise<DriverConnection> {
    const pending = this.#slots[slot];
    if (pending) return pending;
    const opening = this.open().then(async (connection) => {
      // Closed while it was opening: it must not outlive the pool.
      if (this.#closed) {
        await connection.close().catch(() => undefined);
        throw new Error('the connection pool is closed');
      }
      return connection;
    });
    this.#slots[slot] = opening;
    opening.catch(() => {
      if (this.#slots[slot] === opening) this.#slots[slot] = undefined;
    });
    return opening;
  }

  /** Closes every connection; running queries fail. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const slots = this.#slots.splice(0, this.#slots.length, ...new Array(this.size).fill(undefined));
    await Promise.all(slots.map(async (slot) => (await slot?.catch(() => undefined))?.close().catch(() => undefined)));
  }
}
