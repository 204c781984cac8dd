/**
 * PostgreSQL changefeeds under fire: the feed must deliver every committed change once, in
 * commit order, while the sessions it reads through are terminated by the server
 * (pg_terminate_backend, what an operator or a failover does), and it must end promptly
 * when it is closed or aborted, even in the middle of an outage.
 *
 * Writers always use a connection of their own, so that the feed's pool and the writers'
 * pool are distinct and each termination hits a real reconnect path.
 */
import { expect } from 'chai';
import pg from 'pg';
import { CHANGE_LOG_LOCK } from '../../backends/postgres/connection';
import { PRUNE_CHANGE_LOG } from '../../backends/sql/statements';
import { type Block, type ChangeEvent, ChangeFeed, type Connection, OperationError, changefeed, connect, query, schema } from '../../lib';
import { hexId } from '../conformance/fixtures';
import { POSTGRES_URL, connectPostgres, skipWithoutPostgres, truncateAll } from '../support/postgres';
import { Relay, postgresTarget as target } from '../support/relay';

/** Writes of the acceptance test, each its own call (its own transaction). */
const WRITES = 10_000;

/** application_name of the feed's listening session and of pooled sessions. */
const LISTENER = 'chainstore-changefeed';
const POOLED = 'chainstore';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A block whose content is derived from its height, so that a record can be checked whole. */
const blockAt = (height: number): Block => ({ height, app_hash: hexId(`changefeed-spec/${height}`), transactions: [] });

/** Resolves with `promise`, or fails naming `what` after `ms` milliseconds. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` every few milliseconds until it holds, failing after `ms`. */
async function waitUntil(ms: number, what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  await within(ms, what, (async () => {
    while (!(await condition())) await sleep(10);
  })());
}

/**
 * Waits until `seen` holds `count` events or the feed failed; fails if no event arrives for
 * `stallMs` (a lost event shows as a feed that stops short, not as a slow one).
 */
async function waitForEvents(seen: readonly unknown[], count: number, failed: () => boolean, stallMs = 5000): Promise<void> {
  let last = seen.length;
  let progressed = Date.now();
  while (seen.length < count && !failed()) {
    if (seen.length !== last) {
      last = seen.length;
      progressed = Date.now();
    } else if (Date.now() - progressed > stallMs) {
      throw new Error(`the feed stalled at ${seen.length} of ${count} events (nothing new for ${stallMs} ms)`);
    }
    await sleep(10);
  }
}

/** Reads a feed with `for await` in the background, keeping what it yields and how it ended. */
function drain(feed: AsyncIterable<ChangeEvent>) {
  const seen: ChangeEvent[] = [];
  let failure: unknown;
  const ended = (async () => {
    try {
      for await (const event of feed) seen.push(event);
    } catch (error) {
      failure = error;
    }
  })();
  return { seen, ended, failure: () => failure };
}

/**
 * Plain clients that terminate server sessions, as an operator would. They never use the
 * application names they terminate, and only touch sessions of the test database.
 */
class Terminator {
  readonly client = new pg.Client({ connectionString: POSTGRES_URL, application_name: 'chainstore-spec-terminator' });
  /** Holds the change-log lock, so that a write is surely in flight when its session dies. */
  readonly locker = new pg.Client({ connectionString: POSTGRES_URL, application_name: 'chainstore-spec-locker' });

  async open(): Promise<void> {
    for (const client of [this.client, this.locker]) {
      client.on('error', () => undefined);
      await client.connect();
    }
  }

  /** Terminates the sessions with these application names; returns how many really ended. */
  async terminate(...applicationNames: string[]): Promise<number> {
    const { rows } = await this.client.query<{ terminated: boolean }>(
      `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
        WHERE application_name = ANY($1) AND datname = current_database() AND pid <> pg_backend_pid()`,
      [applicationNames],
    );
    return rows.filter((row) => row.terminated).length;
  }

  /**
   * Terminates the sessions with these application names while a write is in flight: holds
   * the lock every write to the change log takes, waits until a pooled session is stuck on
   * it, terminates, then lets the writes go on. Returns the sessions ended.
   */
  async terminateDuringWrite(...applicationNames: string[]): Promise<number> {
    await this.locker.query('BEGIN');
    try {
      await this.locker.query('SELECT pg_advisory_xact_lock($1)', [CHANGE_LOG_LOCK]);
      await waitUntil(10_000, 'a write waiting on the change-log lock', async () => {
        const { rows } = await this.client.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity
            WHERE application_name = $1 AND datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`,
          [POOLED],
        );
        return Number(rows[0].n) > 0;
      });
      return await this.terminate(...applicationNames);
    } finally {
      await this.locker.query('COMMIT');
    }
  }

  /** How many sessions with this application name the server has. */
  async sessions(applicationName: string): Promise<number> {
    const { rows } = await this.client.query<{ n: string }>(
      'SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
      [applicationName],
    );
    return Number(rows[0].n);
  }

  async close(): Promise<void> {
    await Promise.all([this.client, this.locker].map((client) => client.end().catch(() => undefined)));
  }
}

describe('postgres changefeed', function () {
  before(skipWithoutPostgres);

  let writer: Connection;
  let terminator: Terminator;
  const opened: Connection[] = [];

  /** A connection the test owns; closed after it. */
  async function open(options: Record<string, unknown> = {}): Promise<Connection> {
    const conn = await connectPostgres(options);
    opened.push(conn);
    return conn;
  }

  before(async function () {
    writer = await connectPostgres({ maxTries: 10 });
    terminator = new Terminator();
    await terminator.open();
  });

  beforeEach(async function () {
    await truncateAll(writer);
  });

  afterEach(async function () {
    await Promise.all(opened.splice(0).map((conn) => conn.close()));
  });

  after(async function () {
    await writer?.close();
    await terminator?.close();
  });

  it(`delivers ${WRITES.toLocaleString('en')} separate writes as ${WRITES.toLocaleString('en')} events in order, no gap, no repeat, across terminated sessions`, async function () {
    this.timeout(120_000);
    const started = Date.now();
    const feedConn = await open();
    const feed = await changefeed.getChangefeed(feedConn, 'blocks', ChangeFeed.INSERT);
    const { seen, ended, failure } = drain(feed);

    // The listening session exists before anything is terminated (else the count below lies).
    await waitUntil(5000, 'the listening session to appear', async () => (await terminator.sessions(LISTENER)) === 1);

    // Terminations, fired while the writes run: the listener alone; then the listener with
    // every pooled session, the feed's and the writer's, while a write is in flight (so the
    // writer must retry it); then the listener again. Each waits until the listener has come
    // back, so that each really ends a live session.
    const plan = new Map<number, { names: string[]; duringWrite: boolean }>([
      [1500, { names: [LISTENER], duringWrite: false }],
      [4500, { names: [LISTENER, POOLED], duringWrite: true }],
      [7500, { names: [LISTENER], duringWrite: false }],
    ]);
    const terminated: { at: number; names: string[]; sessions: number }[] = [];
    const terminations: Promise<void>[] = [];

    for (let height = 1; height <= WRITES; height++) {
      const step = plan.get(height);
      if (step) {
        const { names, duringWrite } = step;
        await waitUntil(10_000, `the listening session to come back before write ${height}`, async () => (await terminator.sessions(LISTENER)) >= 1);
        // Not awaited: the writes go on while the sessions die.
        const ending = duringWrite ? terminator.terminateDuringWrite(...names) : terminator.terminate(...names);
        terminations.push(ending.then((sessions) => void terminated.push({ at: height, names, sessions })));
      }
      await query.storeBlock(writer, blockAt(height));
    }
    await Promise.all(terminations);
    const wrote = Date.now();

    // A marker after the last write: once it arrives, anything repeated or extra would have
    // arrived before it.
    await query.storeBlock(writer, blockAt(WRITES + 1));
    await waitForEvents(seen, WRITES + 1, () => failure() !== undefined);
    // The listener came back after the last termination (the feed does not merely poll).
    await waitUntil(5000, 'the listening session to come back at the end', async () => (await terminator.sessions(LISTENER)) === 1);
    await feed.close();
    await within(1000, 'the for-await loop to end after close()', ended);
    expect(failure(), 'the feed failed').to.equal(undefined);

    // Every termination ended live sessions: the listener; with the pooled sessions, also at
    // least the writer's and the one the feed reads through.
    expect(terminated.map((t) => t.at)).to.have.members([...plan.keys()]);
    for (const { at, names, sessions } of terminated) {
      const what = `sessions ended by terminating ${names.join(' + ')} at write ${at}`;
      if (names.includes(POOLED)) expect(sessions, what).to.be.at.least(3);
      else expect(sessions, what).to.equal(1);
    }

    // All 10,000 writes are stored (the writer did not give up on any).
    const latest = await query.getLatestBlock(writer);
    expect(latest?.height).to.equal(WRITES + 1);

    // Exactly the written records, in write order: no gap, no repeat, nothing else.
    expect(seen.length, 'events delivered').to.equal(WRITES + 1);
    const heights = seen.map((event) => (event.record as Block).height);
    const gaps: string[] = [];
    heights.forEach((height, i) => {
      if (height !== i + 1 && gaps.length < 5) gaps.push(`event ${i + 1} is height ${height}`);
    });
    expect(gaps, 'events out of write order (first few)').to.deep.equal([]);
    const expected = Array.from({ length: WRITES + 1 }, (_, i) => ({ operation: ChangeFeed.INSERT, table: 'blocks', record: blockAt(i + 1) }));
    expect(seen).to.deep.equal(expected);

    const elapsed = Date.now() - started;
    console.log(`      (${WRITES} writes in ${((wrote - started) / 1000).toFixed(1)} s, whole test ${(elapsed / 1000).toFixed(1)} s)`);
  });

  describe('through a relay that can cut the connection (an outage)', function () {
    let relay: Relay;

    beforeEach(async function () {
      relay = new Relay(target());
      await relay.up();
    });

    afterEach(async function () {
      await relay?.down();
    });

    /** A feed reading through the relay; returns once the first event proved it live. */
    async function liveFeed(options: Record<string, unknown>, signal?: AbortSignal) {
      const conn = await open({ url: relay.url, pollInterval: 50, ...options });
      const feed = await changefeed.getChangefeed(conn, 'blocks', ChangeFeed.INSERT, { signal });
      const reader = drain(feed);
      await query.storeBlock(writer, blockAt(1));
      await waitUntil(3000, 'the first event through the relay', () => reader.seen.length === 1);
      expect(relay.open, 'sockets relayed').to.be.greaterThan(0);
      return { conn, feed, ...reader };
    }

    for (const maxTries of [3, 0]) {
      it(`ends, without an error, when its signal aborts during an outage (maxTries ${maxTries})`, async function () {
        const ac = new AbortController();
        const { feed, seen, ended, failure } = await liveFeed({ maxTries, connectionTimeout: 500 }, ac.signal);
        await relay.down();
        // Well inside the outage: the feed has lost its sessions and is trying to read.
        await sleep(200);
        expect(feed.closed, 'closed before the abort').to.equal(false);
        const aborted = Date.now();
        ac.abort();
        await within(1000, 'the for-await loop to end after the abort', ended);
        expect(Date.now() - aborted).to.be.below(1000);
        expect(failure(), 'the feed failed instead of ending').to.equal(undefined);
        expect(feed.closed).to.equal(true);
        expect(seen.map((e) => (e.record as Block).height)).to.deep.equal([1]);
      });
    }

    it('delays events during an outage of a few seconds and loses none', async function () {
      this.timeout(30_000);
      const { seen, failure } = await liveFeed({});
      await relay.down();
      for (let height = 2; height <= 50; height++) await query.storeBlock(writer, blockAt(height));
      await sleep(3000);
      await relay.up();
      await query.storeBlock(writer, blockAt(51));
      await waitUntil(10_000, `all 51 events after the outage (has ${seen.length})`, () => seen.length >= 51 || failure() !== undefined);
      expect(failure(), 'the feed failed during the outage').to.equal(undefined);
      expect(seen.map((e) => (e.record as Block).height)).to.deep.equal(Array.from({ length: 51 }, (_, i) => i + 1));
    });

    it('closing the connection during an outage ends its feed within a second', async function () {
      const { conn, feed, ended, failure } = await liveFeed({ maxTries: 0 });
      await relay.down();
      await sleep(200);
      const closing = Date.now();
      await within(1000, 'conn.close()', conn.close());
      await within(1000, 'the for-await loop to end after conn.close()', ended);
      expect(Date.now() - closing).to.be.below(1000);
      expect(failure()).to.equal(undefined);
      expect(feed.closed).to.equal(true);
    });
  });

  it('closing the connection closes its feeds: the for-await loops end within a second', async function () {
    const conn = await open();
    const blocks = await changefeed.getChangefeed(conn, 'blocks', ChangeFeed.INSERT);
    const utxos = await changefeed.getChangefeed(conn, 'utxos', ChangeFeed.ALL);
    const a = drain(blocks);
    const b = drain(utxos);
    await query.storeBlock(writer, blockAt(1));
    await waitUntil(3000, 'the first event', () => a.seen.length === 1);
    // Both loops are now waiting for the next change.
    await sleep(50);
    expect(blocks.closed || utxos.closed, 'a feed ended by itself').to.equal(false);
    const closing = Date.now();
    await conn.close();
    await within(1000, 'the for-await loops to end after conn.close()', Promise.all([a.ended, b.ended]));
    expect(Date.now() - closing).to.be.below(1000);
    expect([a.failure(), b.failure()]).to.deep.equal([undefined, undefined]);
    expect([blocks.closed, utxos.closed]).to.deep.equal([true, true]);
    // The listening sessions went with the connection.
    await waitUntil(3000, 'the listening sessions to end', async () => (await terminator.sessions(LISTENER)) === 0);
  });
});

describe('postgres changefeed that can no longer deliver every event', function () {
  before(skipWithoutPostgres);

  /** A database of this spec's own, dropped at the end. */
  const url = (() => {
    const at = new URL(POSTGRES_URL);
    at.pathname = `/chainstore_feed_begun_again_${process.pid}`;
    return at.toString();
  })();
  let reader: Connection;
  let writer: Connection;

  beforeEach(async function () {
    writer = await connect({ backend: 'postgres', url });
    reader = await connect({ backend: 'postgres', url });
    await schema.createDatabase(writer);
    await schema.initDatabase(writer);
  });

  afterEach(async function () {
    await reader?.close();
    await schema.dropDatabase(writer).catch(() => undefined);
    await writer?.close();
  });

  /** The next event of `feed`, or the error it failed with. */
  const next = (feed: AsyncIterator<ChangeEvent>) => within(10_000, 'the feed to answer', feed.next().then((r) => r, (e: unknown) => e));

  it('fails loudly when the log is emptied and given a new identity, rather than read the new entries as the old ones', async function () {
    const feed = await changefeed.getChangefeed(reader, 'blocks', ChangeFeed.INSERT);
    try {
      for (const height of [1, 2, 3]) await query.storeBlock(writer, blockAt(height));
      for (let i = 0; i < 3; i += 1) expect(((await next(feed)) as IteratorResult<ChangeEvent>).value.record).to.deep.equal(blockAt(i + 1));
      // What making the database anew does to the log, without the outage around it.
      const pgWriter = writer as unknown as { query(what: string, text: string): Promise<unknown> };
      await pgWriter.query('begin the log again', 'TRUNCATE changes RESTART IDENTITY');
      await pgWriter.query('begin the log again', "UPDATE change_log_identity SET id = md5(random()::text)");
      // Fewer entries than the feed had read: no entry comes after its position, so only the
      // identity, read with the (empty) entries, can tell it that the log is not the same.
      for (const height of [4, 5]) await query.storeBlock(writer, blockAt(height));
      const error = await next(feed);
      expect(error).to.be.an.instanceOf(OperationError);
      expect((error as Error).message).to.match(/fell behind: the change log it was reading was dropped and begun again/);
    } finally {
      await feed.close();
    }
  });

  it('fails loudly when entries it had not read yet were pruned', async function () {
    await query.storeBlock(writer, blockAt(100));
    const feed = await changefeed.getChangefeed(reader, 'blocks', ChangeFeed.INSERT);
    try {
      for (const height of [1, 2, 3]) await query.storeBlock(writer, blockAt(height));
      // What pruning with changeLogRetention 1 does (connection.ts), run now.
      const pgWriter = writer as unknown as { query(what: string, text: string, params: unknown[]): Promise<unknown> };
      await pgWriter.query('prune the change log', PRUNE_CHANGE_LOG.replace('?', '$1'), [1]);
      const error = await next(feed);
      expect(error).to.be.an.instanceOf(OperationError);
      expect((error as Error).message).to.match(/fell behind: events after \d+ and before \d+ were pruned/);
    } finally {
      await feed.close();
    }
  });

  it('refuses to start on a database an earlier version made, saying to run initDatabase', async function () {
    const pgWriter = writer as unknown as { query(what: string, text: string): Promise<unknown> };
    await pgWriter.query('make the database as an earlier version did', 'DROP TABLE change_log_identity');
    const error = await changefeed.getChangefeed(reader, 'blocks', ChangeFeed.INSERT).then(
      (feed) => feed.close(),
      (e: unknown) => e,
    );
    expect(error).to.be.an.instanceOf(OperationError);
    expect((error as Error).message).to.match(/change_log_identity.*run schema\.initDatabase/);
    await schema.initDatabase(writer);
    const feed = await changefeed.getChangefeed(reader, 'blocks', ChangeFeed.INSERT);
    try {
      await query.storeBlock(writer, blockAt(1));
      expect(((await next(feed)) as IteratorResult<ChangeEvent>).value.record).to.deep.equal(blockAt(1));
    } finally {
      await feed.close();
    }
  });

  it('fails loudly when its database is dropped and made again, and delivers nothing of the new log', async function () {
    const feed = await changefeed.getChangefeed(reader, 'blocks', ChangeFeed.INSERT);
    try {
      for (const height of [1, 2, 3]) await query.storeBlock(writer, blockAt(height));
      for (let i = 0; i < 3; i += 1) await next(feed);
      await schema.dropDatabase(writer);
      await schema.createDatabase(writer);
      await schema.initDatabase(writer);
      for (const height of [11, 12, 13, 14, 15]) await query.storeBlock(writer, blockAt(height));
      const error = await next(feed);
      // Depending on when it reads, the feed sees the database missing or the new log.
      expect(error).to.be.an.instanceOf(OperationError);
      expect((error as Error).message).to.match(/fell behind: the change log it was reading was dropped|does not exist/);
    } finally {
      await feed.close();
    }
  });
});
