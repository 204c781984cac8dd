/**
 * Changefeeds on SQLite read the SQL family's change log (see ../sql/changefeed.ts).
 * SQLite has no notifications across processes, so an idle feed polls every `pollInterval`
 * ms (a write in this process wakes it at once: wakeup.ts); a busy one reads on without
 * pausing. The log is written by triggers in the writing
 * transaction, so writes made by other processes reach the feed too.
 */
import type * as changefeed from '../../lib/changefeed';
import type { HandlerMap } from '../../lib/dispatch';
import { ChangeLogFeed } from '../sql/changefeed';
import type { SqliteConnection } from './connection';
import { waitForWrite } from './wakeup';

/**
 * A feed over the sqlite change log.
 *
 * @example
 * const feed = await changefeed.getChangefeed(conn, 'blocks', ChangeFeed.INSERT);
 */
export class SqliteChangeFeed extends ChangeLogFeed<SqliteConnection> {
  protected waitForChanges(signal: AbortSignal): Promise<void> {
    return waitForWrite(this.conn.database, this.conn.pollInterval, signal);
  }
}

/** The changefeed handlers of the sqlite backend, registered by its index. */
export const changefeedHandlers: HandlerMap<typeof changefeed, typeof SqliteConnection> = {
  getChangefeed(conn, table, operations, options) {
    return new SqliteChangeFeed(conn, table, operations, options).ownedBy(conn).open();
  },
};
