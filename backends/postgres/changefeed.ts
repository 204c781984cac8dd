/**
 * Changefeeds on PostgreSQL read the SQL family's change log (see ../sql/changefeed.ts); the
 * schema's triggers make sequence order commit order (see schema.ts). LISTEN/NOTIFY is only the
 * wake-up: a dedicated session listens, and while it is down (a terminated backend, a
 * server restart) the feed polls every `pollInterval` ms and reconnects in the background,
 * so an outage delays events but loses none.
 */
import type * as changefeed from '../../lib/changefeed';
import type { HandlerMap } from '../../lib/dispatch';
import { pause } from '../../lib/retry';
import { ChangeLogFeed } from '../sql/changefeed';
import type { PostgresConnection } from './connection';
import { type Client, pg } from './driver';
import { CHANGES_CHANNEL } from './schema';

/** The `application_name` of listening sessions (what an operator sees in pg_stat_activity). */
export const LISTENER_NAME = 'chainstore-changefeed';

/**
 * A feed over the postgres change log, woken by notifications.
 *
 * @example
 * const feed = await changefeed.getChangefeed(conn, 'blocks', ChangeFeed.INSERT);
 */
export class PostgresChangeFeed extends ChangeLogFeed<PostgresConnection> {
  #listener: Client | undefined;
  #wake: (() => void) | undefined;
  #notified = false;
  #stopped = false;
  /** Reports the listening session's outages: the feed polls meanwhile, so they only delay events. */
  readonly #listening = this.conn.log.feedOutage(this.table, {
    part: 'its notification session',
    meanwhile: `it polls the change log every ${this.conn.pollInterval} ms until the session is back`,
  });

  protected override async start(): Promise<void> {
    // Listen first: a change committed between the two steps still wakes the feed.
    await this.listen();
    await super.start();
  }

  protected override beforeRead(): void {
    this.#notified = false;
  }

  /** Waits for a notification, the poll interval, or the end of the feed. */
  protected waitForChanges(signal: AbortSignal): Promise<void> {
    if (this.#notified) return Promise.resolve();
    const wake = new AbortController();
    this.#wake = () => wake.abort();
    const both = AbortSignal.any ? AbortSignal.any([signal, wake.signal]) : signal;
    return pause(this.conn.pollInterval, both).finally(() => {
      this.#wake = undefined;
    });
  }

  /** Opens the listening session; on failure the feed polls and tries again later. */
  private async listen(): Promise<void> {
    if (this.#stopped) return;
    const client = new pg.Client({ ...this.conn.clientConfig(), application_name: LISTENER_NAME });
    const lost = (error?: unknown) => {
      if (this.#listener !== client) return;
      this.#listening.failed(error ?? new Error('the session ended'));
      this.#listener = undefined;
      client.end().catch(() => undefined);
      this.#wake?.();
      this.relisten();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', () => {
      this.#notified = true;
      this.#wake?.();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
      this.#listener = client;
      this.#listening.resumed();
    } catch (error) {
      if (!this.#stopped) this.#listening.failed(error);
      client.end().catch(() => undefined);
      this.relisten();
    }
  }

  /** Tries to listen again after a pause; meanwhile the feed polls, so nothing waits on it. */
  private relisten(): void {
    if (this.#stopped) return;
    setTimeout(() => void this.listen(), this.conn.pollInterval).unref();
  }

  protected override async stop(): Promise<void> {
    this.#stopped = true;
    const listener = this.#listener;
    this.#listener = undefined;
    this.#wake?.();
    await listener?.end().catch(() => undefined);
  }
}

/** The changefeed handlers of the postgres backend, registered by its index. */
export const changefeedHandlers: HandlerMap<typeof changefeed, typeof PostgresConnection> = {
  getChangefeed(conn, table, operations, options) {
    return new PostgresChangeFeed(conn, table, operations, options).ownedBy(conn).open();
  },
};
