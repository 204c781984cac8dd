/**
 * What chainstore tells an operator while it works: retries, slow operations, changefeed
 * outages and recoveries. Written once here; backends report through their connection's
 * `log` and never format a line of their own.
 *
 * Two ways to listen, usable together:
 * - `connect({ logger })`: any object with `debug`, `info`, `warn` and `error` methods, called
 *   pino-style as `(fields, message)`: a pino (or bunyan-like) logger gets structured fields
 *   and the message, `console` prints the fields and then the message;
 * - `DEBUG=chainstore:*` (or `chainstore:retry`, `chainstore:slow`, `chainstore:changefeed`,
 *   `chainstore:recover`): every line of those topics on stderr, whatever its level, through
 *   the `debug` package, so that the switch works like it does for the many other packages that
 *   use it (`DEBUG=express:*,chainstore:*`, negations, `DEBUG_COLORS`).
 *
 * What is logged is what chainstore handles itself (a retry that may still succeed, a feed
 * that resumes, a rollback); what it cannot handle is thrown, and the caller reports it.
 * A line never holds a password: the connection's password (whole, encoded, or any piece a URL
 * parser could cut out of it) and the password of any URL are masked in the message and in
 * every field, and a driver's error is reduced to its message rather than handed over whole.
 */
import { performance } from 'node:perf_hooks';
import { maskSecrets, secretForms } from './redact';
import { escapeRegExp } from './search';

/**
 * The severity of a line, as pino and console name them.
 *
 * @example
 * const level: LogLevel = 'warn';
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * What a line is about; `DEBUG=chainstore:<topic>` shows one topic.
 *
 * @example
 * const topic: LogTopic = 'retry';   // DEBUG=chainstore:retry
 */
export type LogTopic = 'retry' | 'slow' | 'changefeed' | 'recover';

/**
 * The structured part of a line: flat, JSON-safe values. Always holds `topic` and `backend`.
 *
 * @example
 * const fields: LogFields = { topic: 'retry', backend: 'postgres', try: 2, of: 3, delay: 200 };
 */
export type LogFields = Readonly<Record<string, string | number | boolean | null>>;

/**
 * A logger chainstore can write to: pino's loggers and `console` both are one. Each method
 * is called as `(fields, message)`; `message` says everything by itself, so a logger that
 * prints only its second argument loses nothing but the fields.
 *
 * @example
 * await connect({ url, logger: pino() });     // JSON lines with topic, backend, try, of, delay, cause...
 * await connect({ url, logger: console });    // { topic: 'retry', ... } [postgres] try 2 of 3 in 200 ms: ...
 * const lines: string[] = [];
 * const collect = (_: LogFields, message: string) => void lines.push(message);
 * await connect({ url, logger: { debug: collect, info: collect, warn: collect, error: collect } });
 */
export interface Logger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
}

/**
 * Default of the `slowThreshold` option, in milliseconds: an operation that takes longer is
 * logged (topic `slow`, level `warn`). One second: far above a healthy statement, and
 * reached by the bulk writes of many thousand records, which are worth knowing about too.
 *
 * @example
 * await connect({ url, logger, slowThreshold: 250 });   // or 0 to log no slow operation
 */
export const DEFAULT_SLOW_THRESHOLD = 1000;

/** Longest cause quoted in a line: a driver's message can be a page long. */
const CAUSE_LENGTH = 300;

/**
 * The `debug` package's API, as far as it is used here. Typed in place rather than through
 * `@types/debug`, so that nothing in chainstore's own declarations needs that package.
 */
interface Debugger {
  (format: string, ...args: unknown[]): void;
  readonly enabled: boolean;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const createDebug = require('debug') as (namespace: string) => Debugger;

const TOPICS: readonly LogTopic[] = ['retry', 'slow', 'changefeed', 'recover'];
/** One debugger per topic, made once: `debug` reads DEBUG when it is loaded. */
const debuggers = Object.fromEntries(TOPICS.map((topic) => [topic, createDebug(`chainstore:${topic}`)])) as Record<LogTopic, Debugger>;

/**
 * Where a connection's lines go, and how they are masked.
 *
 * @example
 * const log = new ConnectionLog({ backend: 'postgres', location: '127.0.0.1:1/x', logger: console });
 */
export interface ConnectionLogOptions {
  backend: string;
  /** Where the data lives, never with a password (Connection.location). */
  location?: string;
  logger?: Logger;
  /** Milliseconds past which an operation is logged as slow; 0 logs none. Default {@link DEFAULT_SLOW_THRESHOLD}. */
  slowThreshold?: number;
  /** The connection's password, masked in every line. */
  password?: string;
}

/**
 * A connection's log (`conn.log`): the only place lines are made. Backends call its
 * event methods ({@link ConnectionLog.retry}, {@link ConnectionLog.timer},
 * {@link ConnectionLog.feedOutage}, {@link ConnectionLog.recovered}); with no logger and no
 * DEBUG, each costs a test and nothing more.
 *
 * @example
 * const stop = conn.log.timer('write transactions');
 * try { await write() } finally { stop() }   // logs "[sqlite] write transactions took 1520 ms ..." when slow
 */
export class ConnectionLog {
  readonly backend: string;
  readonly location: string | undefined;
  readonly slowThreshold: number;
  readonly #logger: Logger | undefined;
  readonly #secrets: string[];

  constructor(options: ConnectionLogOptions) {
    this.backend = options.backend;
    this.location = options.location;
    this.#logger = options.logger;
    this.slowThreshold = options.slowThreshold ?? DEFAULT_SLOW_THRESHOLD;
    this.#secrets = secretForms(options.password);
  }

  /**
   * True if a line of `topic` would go anywhere (a logger, or DEBUG naming the topic): work
   * done only for a line (timing, formatting) is skipped when it is false.
   *
   * @example
   * if (conn.log.hears('slow')) started = performance.now();
   */
  hears(topic: LogTopic): boolean {
    return this.#logger !== undefined || debuggers[topic].enabled;
  }

  /**
   * Writes one line, masked, to the logger and to DEBUG. A logger that throws is ignored: a
   * broken log must not fail the operation it reports on.
   *
   * @example
   * conn.log.write('info', 'changefeed', { table: 'blocks' }, '[postgres] changefeed on blocks resumed');
   */
  write(level: LogLevel, topic: LogTopic, fields: Record<string, string | number | boolean | null | undefined>, message: string): void {
    const debug = debuggers[topic];
    if (this.#logger === undefined && !debug.enabled) return;
    const text = this.#mask(message);
    const entry: Record<string, string | number | boolean | null> = { topic, backend: this.backend };
    if (this.location !== undefined) entry.location = this.#mask(this.location);
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined) entry[key] = typeof value === 'string' ? this.#mask(value) : value;
    }
    if (debug.enabled) debug('%s', text);
    try {
      this.#logger?.[level](Object.freeze(entry), text);
    } catch {
      // See above: the operation goes on.
    }
  }

  /**
   * Reports a failed try that will be tried again: "try 2 of 3 in 200 ms" (`maxTries` 0:
   * "try 2 in 200 ms", no limit), with what failed and why.
   *
   * @example
   * conn.log.retry('get block', 1, 3, 200, error);   // [postgres] try 2 of 3 in 200 ms: get block failed: connect ECONNREFUSED 127.0.0.1:1
   */
  retry(what: string | undefined, failedTry: number, maxTries: number, delay: number, error: unknown): void {
    if (!this.hears('retry')) return;
    const cause = this.causeOf(error);
    const next = maxTries === 0 ? `try ${failedTry + 1}` : `try ${failedTry + 1} of ${maxTries}`;
    this.write(
      'warn',
      'retry',
      { operation: what ?? null, try: failedTry + 1, of: maxTries === 0 ? null : maxTries, delay, cause },
      `[${this.backend}] ${next} in ${delay} ms: ${what ? `${what} failed: ` : ''}${cause}`,
    );
  }

  /**
   * Starts timing `what`; the function returned logs it as slow if it took longer than
   * `slowThreshold`. With nothing listening, or the threshold at 0, it times nothing.
   *
   * @example
   * const stop = conn.log.timer('read changefeed');
   * const rows = run();
   * stop();
   */
  timer(what: string): () => void {
    if (this.slowThreshold === 0 || !this.hears('slow')) return NOTHING;
    const started = performance.now();
    return () => {
      const ms = Math.round(performance.now() - started);
      if (ms < this.slowThreshold) return;
      this.write('warn', 'slow', { operation: what, ms, threshold: this.slowThreshold }, `[${this.backend}] ${what} took ${ms} ms (slowThreshold ${this.slowThreshold} ms)`);
    };
  }

  /**
   * The outage tracker of one changefeed (or of one part of it, such as the session that
   * wakes it): it reports the first failure of an outage (warn), each further one (debug),
   * and the success that ends it (info).
   *
   * @example
   * const outage = conn.log.feedOutage('blocks');
   * try { events = await read(); outage.resumed(); } catch (e) { outage.failed(e); await pause(); }
   * const wakeUp = conn.log.feedOutage('blocks', { part: 'its notification session', meanwhile: 'it polls the change log until the session is back' });
   */
  feedOutage(table: string, part: FeedPart = READING): FeedOutage {
    return new FeedOutage(this, table, part);
  }

  /**
   * Reports what `recover()` did: a rollback (warn), or nothing to do (debug).
   *
   * @example
   * conn.log.recovered({ action: 'rolled-back', height: 7, transactions: [id] });
   */
  recovered(report: { action: string; height: number; transactions: readonly string[] }): void {
    if (!this.hears('recover')) return;
    const fields = { action: report.action, height: report.height, transactions: report.transactions.length };
    if (report.action === 'rolled-back') {
      const count = `${report.transactions.length} transaction${report.transactions.length === 1 ? '' : 's'}`;
      this.write('warn', 'recover', fields, `[${this.backend}] recover: rolled back the unfinished commit of block ${report.height} (${count} deleted, the outputs they spent restored)`);
    } else {
      this.write('debug', 'recover', fields, `[${this.backend}] recover: nothing to do (${report.height < 0 ? 'no blocks' : `latest block ${report.height}`})`);
    }
  }

  /**
   * The message of a failure as a line quotes it: one line, short, without this backend's
   * own prefix (masked when written, like the rest of the line).
   *
   * @example
   * conn.log.causeOf(new Error('connect ECONNREFUSED 127.0.0.1:1'));   // 'connect ECONNREFUSED 127.0.0.1:1'
   */
  causeOf(error: unknown): string {
    const text = oneLine(messageOf(error)).replace(new RegExp(`^\\[${escapeRegExp(this.backend)}\\] `), '');
    return text.length > CAUSE_LENGTH ? `${text.slice(0, CAUSE_LENGTH - 1)}…` : text;
  }

  #mask(text: string): string {
    return maskSecrets(text, this.#secrets);
  }
}

/**
 * What part of a changefeed an outage is of, and what the feed does meanwhile, for the lines
 * of a {@link FeedOutage}.
 *
 * @example
 * const part: FeedPart = { part: 'its notification session', meanwhile: 'it polls the change log until the session is back' };
 */
export interface FeedPart {
  part: string;
  meanwhile: string;
}

const READING: FeedPart = { part: 'reading', meanwhile: 'it reads on from its position once the engine answers, losing no event' };

/**
 * One changefeed's view of an outage; see {@link ConnectionLog.feedOutage}. Cheap to call
 * after every read: with no outage under way, `resumed()` is a test.
 *
 * @example
 * outage.failed(error);   // [postgres] changefeed on blocks: reading failed (...); it reads on from its position once the engine answers, losing no event
 * outage.resumed();       // [postgres] changefeed on blocks: reading resumed after 1520 ms (3 failures)
 */
export class FeedOutage {
  #since: number | undefined;
  #failures = 0;

  constructor(
    private readonly log: ConnectionLog,
    private readonly table: string,
    private readonly part: FeedPart = READING,
  ) {}

  /** A read (or the connection it needs) failed; the feed will try again. */
  failed(error: unknown): void {
    this.#failures += 1;
    if (!this.log.hears('changefeed')) {
      this.#since ??= performance.now();
      return;
    }
    const cause = this.log.causeOf(error);
    const fields = { table: this.table, part: this.part.part, event: 'failed', failures: this.#failures, cause };
    const subject = `[${this.log.backend}] changefeed on ${this.table}: ${this.part.part}`;
    if (this.#since === undefined) {
      this.#since = performance.now();
      this.log.write('warn', 'changefeed', fields, `${subject} failed (${cause}); ${this.part.meanwhile}`);
    } else {
      this.log.write('debug', 'changefeed', fields, `${subject} failed again (${this.#failures} failures): ${cause}`);
    }
  }

  /** A read succeeded: if an outage was under way, it is over. */
  resumed(): void {
    if (this.#since === undefined) return;
    const ms = Math.round(performance.now() - this.#since);
    const failures = this.#failures;
    this.#since = undefined;
    this.#failures = 0;
    this.log.write(
      'info',
      'changefeed',
      { table: this.table, part: this.part.part, event: 'resumed', failures, ms },
      `[${this.log.backend}] changefeed on ${this.table}: ${this.part.part} resumed after ${ms} ms (${failures} failure${failures === 1 ? '' : 's'})`,
    );
  }
}

const NOTHING = (): void => undefined;

/** An error's message; for one without (an AggregateError of every address tried), its parts' or its code. */
function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.message) return error.message;
  const inner = (error as { errors?: unknown }).errors;
  if (Array.isArray(inner) && inner.length) return inner.map(messageOf).join('; ');
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' || typeof code === 'number' ? String(code) : error.name;
}

/**
 * `text` on one line: line breaks, with the spaces around them, become one space.
 *
 * @example
 * oneLine('connect failed\n  at host');   // 'connect failed at host'
 */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
