/**
 * Changefeeds on MongoDB are change streams on the table's collection.
 *
 * Lossless and exactly once: the feed takes its start position when it starts (the
 * deployment's majority-committed operation time, plus one tick: every change acknowledged
 * before is at or below it, every change still in flight or made later above), keeps the resume token of every event it delivers, and
 * after a lost connection opens a new stream right after that token, trying again with
 * backoff while the deployment is down. A dropped collection ends a stream with
 * `invalidate`; the feed then opens one after it, so a database dropped and created again
 * keeps feeding. Only a position the oplog no longer holds ends the feed, loudly.
 */
import { ChangeFeed, type ChangeEvent, type ChangefeedOptions } from '../../lib/changefeed';
import type * as changefeed from '../../lib/changefeed';
import type { HandlerMap } from '../../lib/dispatch';
import { OperationError, UnsupportedOperationError } from '../../lib/errors';
import type { TableName } from '../../lib/tables';
import type { FeedOutage } from '../../lib/log';
import { pause } from '../../lib/retry';
import type { MongoConnection } from './connection';
import { type ChangeStream, type ChangeStreamDocument, type Document, type ResumeToken, Timestamp } from './driver';
import { BACKEND, isHistoryLost, isResumable, mapMongoError } from './errors';
import { type StreamPosition, changeStreamOptions, changeStreamPipeline } from './filters';
import { WIRE_VERSION_6_0, splitsLargeEvents } from './server';
import { publicRecord } from './records';
import { keepsImages } from './schema';

/** First and longest pause between tries to open a stream while the deployment is down. */
const FIRST_PAUSE_MS = 100;
const LONGEST_PAUSE_MS = 5000;

/** Server code of an operation the user has no right to run. */
const UNAUTHORIZED = 13;

/**
 * The first cluster time after `time`: where a feed starts, so that a change acknowledged
 * before the feed started (at or below `time`) is not delivered and every later one is.
 *
 * @example
 * nextTimestamp(new Timestamp({ t: 1700000000, i: 4 }));   // Timestamp { t: 1700000000, i: 5 }
 */
export function nextTimestamp(time: Timestamp): Timestamp {
  return time.i === 0xffffffff ? new Timestamp({ t: time.t + 1, i: 0 }) : new Timestamp({ t: time.t, i: time.i + 1 });
}

/**
 * The chainstore event of a change stream event, or null for events a feed does not deliver.
 * The record is the public one: the document as written for inserts and replacements, as it
 * is when the event is read for updates (null if it was deleted since), as it was for deletes
 * where the collection keeps pre-images, else null.
 *
 * @example
 * changeEvent('blocks', { operationType: 'insert', fullDocument: { _id, height: 1, app_hash: 'ab', transactions: [] }, ... });
 * // { operation: ChangeFeed.INSERT, table: 'blocks', record: { height: 1, app_hash: 'ab', transactions: [] } }
 */
export function changeEvent(table: TableName, change: ChangeStreamDocument): ChangeEvent | null {
  const recordOf = (doc: Document | null | undefined) => (doc ? publicRecord(table, doc) : null);
  switch (change.operationType) {
    case 'insert':
      return { operation: ChangeFeed.INSERT, table, record: recordOf(change.fullDocument) };
    case 'replace':
    case 'update':
      return { operation: ChangeFeed.UPDATE, table, record: recordOf(change.fullDocument) };
    case 'delete':
      return { operation: ChangeFeed.DELETE, table, record: recordOf(change.fullDocumentBeforeChange) };
    default:
      return null;
  }
}

/**
 * Joins the fragments of a change event the server split (`$changeStreamSplitLargeEvent`:
 * each fragment holds some of the event's top-level fields and `splitEvent: { fragment, of }`)
 * back into the event. The joined event's `_id` is its last fragment's: resuming after it
 * continues with the next event.
 *
 * Fragments arrive in order on one stream. A feed that loses its stream mid-event throws the
 * fragments away and resumes from before the first one (its position moves only on whole
 * events), so the server sends the event again from its first fragment.
 *
 * @example
 * const joiner = new FragmentJoiner();
 * joiner.add(first);   // null: more to come
 * joiner.add(last);    // the whole event
 */
export class FragmentJoiner {
  #fragments: Document[] = [];

  /** True while part of an event has arrived and the rest has not. */
  get pending(): boolean {
    return this.#fragments.length > 0;
  }

  /** Forgets a partly received event (its stream is gone). */
  clear(): void {
    this.#fragments = [];
  }

  /**
   * The whole event once `change` completes it, `change` itself when it is no fragment, null
   * while fragments are missing. A fragment out of order is an OperationError.
   */
  add(change: Document): Document | null {
    const split = change.splitEvent as { fragment?: unknown; of?: unknown } | undefined;
    if (!split) {
      if (this.pending) throw this.outOfOrder(`an unsplit event after fragment ${this.#fragments.length}`);
      return change;
    }
    const { fragment, of } = split;
    if (fragment !== this.#fragments.length + 1) throw this.outOfOrder(`fragment ${String(fragment)} of ${String(of)} after ${this.#fragments.length}`);
    this.#fragments.push(change);
    if (fragment !== of) return null;
    const whole: Document = {};
    for (const part of this.#fragments) {
      const { splitEvent: _split, ...fields } = part;
      Object.assign(whole, fields);
    }
    this.#fragments = [];
    return whole;
  }

  private outOfOrder(what: string): OperationError {
    this.#fragments = [];
    return new OperationError(BACKEND, `a change event split by the server arrived out of order: ${what}`);
  }
}

/** `work`'s result, or undefined as soon as `signal` aborts (`work` is then left to settle alone). */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  work.catch(() => undefined);
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * A feed over one collection's change stream.
 *
 * @example
 * const feed = await changefeed.getChangefeed(conn, 'blocks', ChangeFeed.INSERT);
 */
export class MongoChangeFeed extends ChangeFeed {
  #stream: ChangeStream | undefined;
  #position: StreamPosition | undefined;
  #serverHasImages = false;
  #splitLargeEvents = false;
  readonly #fragments = new FragmentJoiner();
  readonly #outage: FeedOutage;

  constructor(
    private readonly conn: MongoConnection,
    table: TableName,
    operations: number,
    options?: ChangefeedOptions,
  ) {
    super(table, operations, options);
    this.#outage = conn.log.feedOutage(table);
  }

  /** Where the feed is: the start time, or the last event delivered (undefined before start). */
  get position(): StreamPosition | undefined {
    return this.#position;
  }

  protected async start(): Promise<void> {
    const server = await this.conn.serverInfo();
    if (!server.changeStreams) {
      throw new UnsupportedOperationError(
        BACKEND,
        'changefeeds are change streams, which a standalone server does not have: run MongoDB as a replica set (one member is enough)',
      );
    }
    this.#serverHasImages = server.preImages;
    // Only 6.0 servers need their build version asked: the wire version tells the others apart.
    const version = server.maxWireVersion === WIRE_VERSION_6_0 ? await this.conn.buildVersion() : undefined;
    this.#splitLargeEvents = splitsLargeEvents(server.maxWireVersion, version);
    this.#position = { at: nextTimestamp(await this.conn.majorityTime(this.table)) };
  }

  /**
   * Whether the table's collection keeps pre-images now. Asked on every (re)open: a feed
   * started before createTables turned them on delivers deleted records once it resumes.
   */
  private async keepsImages(): Promise<boolean> {
    if (!this.#serverHasImages) return false;
    const client = await this.conn.connectedClient();
    try {
      const [info] = await client.db(this.conn.config.name).listCollections({ name: this.table }).toArray();
      return keepsImages((info as { options?: Document } | undefined)?.options);
    } catch (error) {
      // Without the right to list collections, nothing says the images are kept.
      if ((error as { code?: unknown }).code === UNAUTHORIZED) return false;
      throw error;
    }
  }

  /** A change stream from the feed's position (no network until it is read). */
  private async openStream(): Promise<ChangeStream> {
    const preImages = await this.keepsImages();
    const client = await this.conn.connectedClient();
    const options = changeStreamOptions(this.operations, this.#position!, preImages);
    return client.db(this.conn.config.name).collection(this.table).watch(changeStreamPipeline(this.operations, this.#splitLargeEvents), options);
  }

  protected async pull(signal: AbortSignal): Promise<ChangeEvent[]> {
    let wait = FIRST_PAUSE_MS;
    for (;;) {
      if (signal.aborted) return [];
      let change: ChangeStreamDocument | null | undefined;
      let stream: ChangeStream;
      try {
        if (!this.#stream) {
          const opened = await this.openStream();
          // Closed while the stream was being made: it must not open a cursor nobody reads.
          if (signal.aborted) {
            await opened.close().catch(() => undefined);
            return [];
          }
          this.#stream = opened;
        }
        stream = this.#stream;
        change = await unlessAborted(stream.tryNext(), signal);
        if (signal.aborted) return [];
      } catch (error) {
        if (signal.aborted) return [];
        await this.discardStream();
        if (isHistoryLost(error)) {
          throw new OperationError(BACKEND, `changefeed on ${this.table} fell behind: the oplog no longer holds its position`, { cause: error });
        }
        if (!isResumable(error)) throw mapMongoError(error, `read changefeed on ${this.table}`, { secret: this.conn.config.password });
        // The deployment is down or between primaries: try again from the same position.
        this.#outage.failed(error);
        await pause(wait, signal);
        wait = Math.min(wait * 2, LONGEST_PAUSE_MS);
        continue;
      }
      wait = FIRST_PAUSE_MS;
      this.#outage.resumed();
      if (change) {
        const whole = this.#fragments.add(change);
        // Part of a split event: the position stays before it until the whole has arrived.
        if (!whole) continue;
        change = whole as ChangeStreamDocument;
      }
      // After every batch or event: the driver's token is the position after what it returned
      // (none is taken while a split event is incomplete).
      const token = this.#fragments.pending ? undefined : (stream.resumeToken as ResumeToken | undefined);
      if (change?.operationType === 'invalidate') {
        // The collection was dropped or renamed: a new stream starts after this event.
        this.#position = { token: change._id, afterInvalidate: true };
        await this.discardStream();
        continue;
      }
      if (token) this.#position = { token, afterInvalidate: false };
      if (!change) continue;
      const event = changeEvent(this.table, change);
      if (event && (event.operation & this.operations) !== 0) return [event];
    }
  }

  private async discardStream(): Promise<void> {
    const stream = this.#stream;
    this.#stream = undefined;
    this.#fragments.clear();
    await stream?.close().catch(() => undefined);
  }

  protected override async stop(): Promise<void> {
    await this.discardStream();
  }
}

/**
 * The changefeed handlers of the localmongodb backend, registered by its index.
 *
 * @example
 * registerHandlers(MongoConnection, changefeed, changefeedHandlers);
 */
export const changefeedHandlers: HandlerMap<typeof changefeed, typeof MongoConnection> = {
  getChangefeed(conn, table, operations, options) {
    return new MongoChangeFeed(conn, table, operations, options).ownedBy(conn).open();
  },
};
