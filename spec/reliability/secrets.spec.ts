/**
 * The password never shows (docs/design.md section 7), however it is given (in a URL, encoded or
 * not; as an option; in CHAINSTORE_DATABASE_PASSWORD or CHAINSTORE_DATABASE_URL) and
 * whatever it holds (URL delimiters @ / # : % ?): not in any error (message, String(),
 * stack, util.inspect with hidden properties, JSON, the whole cause chain), not in the
 * connection or its config (util.inspect, JSON, location), not in what the `chainstore`
 * command prints for any subcommand, for every registered backend, with the server down
 * (127.0.0.1:1) and, for PostgreSQL, with the server up; not in any line of the log either
 * (the `logger` option's messages and fields, and the `DEBUG=chainstore:*` output), nor in
 * the retry lines the command prints.
 *
 * A part of a password counts: a URL parser that cuts a password at an unencoded '@' shows
 * the rest of it as a host name. Malformed URLs count too (whitespace around them, a slash
 * too few after the scheme, a scheme no backend owns): they are refused, and the refusal
 * shows no password either.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { format, inspect } from 'node:util';
import {
  ChainstoreError,
  ChangeFeed,
  Connection,
  type ConnectionOptions,
  admin,
  capabilities,
  changefeed,
  connect,
  listBackends,
  type Logger,
  query,
  recover,
  registerBackend,
  schema,
} from '../../lib';
import { main } from '../../lib/cli';
import { withRetries } from '../../lib/retry';
import { createTx } from '../conformance/fixtures';
import { POSTGRES_URL, skipWithoutPostgres } from '../support/postgres';
import { leakingViews, leaksIn, viewsOfConnection, viewsOfError, viewsOfValue } from '../support/secrets';

/** Every URL delimiter, a '%' that starts no escape, and parts long enough to be recognized. */
const SPECIAL = 'Kq7x@Vw9z/Jm4p#Rt6y:Hb2n%Lc8s?Fd5g';
/** A '%' that starts no escape before any other delimiter: a URL decoder chokes on it. */
const PERCENT = 'Pq5r%Ws8tUv2wXy';
/** A password without delimiters: found whole or not at all. */
const PLAIN = 'Zx3vQp9LmT7wYbRn';
const PASSWORDS = [SPECIAL, PERCENT, PLAIN];
const DESCRIBED: Record<string, string> = {
  [SPECIAL]: 'a password with @ / # : % ?',
  [PERCENT]: "a password with a '%' that starts no escape",
  [PLAIN]: 'a plain password',
};

/** A port nothing listens on: every attempt is refused at once. */
const DOWN = { host: '127.0.0.1', port: 1 };
/** One quick try, so the specs do not wait on retries. */
const QUICK = { maxTries: 1, connectionTimeout: 100 };
const QUICK_ENV = { CHAINSTORE_DATABASE_MAX_TRIES: '1', CHAINSTORE_DATABASE_CONNECTION_TIMEOUT: '100' };

/** URL schemes of the built-in backends; a backend registered without one is checked without URLs. */
const SCHEMES: Record<string, string> = { sqlite: 'sqlite', postgres: 'postgres', localmongodb: 'mongodb', rethinkdb: 'rethinkdb' };

/** The backends registered when this file is loaded: the built-in ones and any added before. */
const BACKENDS = listBackends();

/** One way of giving the password to `connect()`. */
interface Way {
  title: string;
  options: ConnectionOptions;
  env: NodeJS.ProcessEnv;
  /** The password reaches the config as given (not so for a URL a parser must guess at). */
  exact: boolean;
  /** connect() must refuse it (a malformed URL). */
  refused?: boolean;
}

/**
 * URLs that must be refused, with the password in them: whitespace around the URL, a slash
 * too few after the scheme (for a scheme with a host), a scheme no backend owns.
 */
function malformedUrls(scheme: string, password: string): [string, string][] {
  const where = `${DOWN.host}:${DOWN.port}/ledger`;
  const urls: [string, string][] = [
    ['a space before the URL', ` ${scheme}://app:${password}@${where}`],
    ['a newline after the URL', `${scheme}://app:${password}@${where}\n`],
    ['a scheme no backend owns', `foo://app:${password}@${where}`],
  ];
  // A sqlite: URL names a file, so a slash too few is still one (it holds no password).
  if (scheme !== 'sqlite') {
    urls.push(['one slash after the scheme', `${scheme}:/app:${password}@${where}`], ['no slash after the scheme', `${scheme}:app:${password}@${where}`]);
  }
  return urls;
}

function waysFor(backend: string, password: string, file: string): Way[] {
  // sqlite has no server: it gets a file, and must still keep the password out of sight.
  const where = backend === 'sqlite' ? { name: file } : { ...DOWN, name: 'ledger' };
  const whereEnv: NodeJS.ProcessEnv =
    backend === 'sqlite' ? { CHAINSTORE_DATABASE_NAME: file } : { CHAINSTORE_DATABASE_HOST: DOWN.host, CHAINSTORE_DATABASE_PORT: String(DOWN.port) };
  const ways: Way[] = [
    { title: 'option password', options: { backend, ...where, login: 'app', password, ...QUICK }, env: {}, exact: true },
    {
      title: 'CHAINSTORE_DATABASE_PASSWORD',
      options: { backend },
      env: { ...whereEnv, CHAINSTORE_DATABASE_LOGIN: 'app', CHAINSTORE_DATABASE_PASSWORD: password, ...QUICK_ENV },
      exact: true,
    },
  ];
  const scheme = SCHEMES[backend];
  if (scheme) {
    const encoded = `${scheme}://app:${encodeURIComponent(password)}@${DOWN.host}:${DOWN.port}/ledger`;
    const raw = `${scheme}://app:${password}@${DOWN.host}:${DOWN.port}/ledger`;
    // A sqlite URL names no host: these must be refused, without the password.
    const exact = backend !== 'sqlite';
    ways.push(
      { title: 'URL option (password encoded)', options: { backend, url: encoded, ...QUICK }, env: {}, exact },
      { title: 'CHAINSTORE_DATABASE_URL (password encoded)', options: { backend }, env: { CHAINSTORE_DATABASE_URL: encoded, ...QUICK_ENV }, exact },
      { title: 'URL option (password not encoded)', options: { backend, url: raw, ...QUICK }, env: {}, exact: false },
      { title: 'CHAINSTORE_DATABASE_URL (password not encoded)', options: { backend }, env: { CHAINSTORE_DATABASE_URL: raw, ...QUICK_ENV }, exact: false },
    );
    for (const [what, url] of malformedUrls(scheme, password)) {
      ways.push(
        { title: `URL option with ${what}`, options: { backend, url, ...QUICK }, env: {}, exact: false, refused: true },
        { title: `URL option with ${what}, no backend given`, options: { url, ...QUICK }, env: {}, exact: false, refused: true },
        { title: `CHAINSTORE_DATABASE_URL with ${what}`, options: {}, env: { CHAINSTORE_DATABASE_URL: url, ...QUICK_ENV }, exact: false, refused: true },
      );
    }
  }
  return ways;
}

/** Collects the views that show the password, across a whole scenario. */
class LeakLog {
  readonly leaks: string[] = [];
  constructor(private readonly secret: string) {}

  check(context: string, views: readonly [string, string][]): void {
    for (const leak of leakingViews(views, this.secret)) this.leaks.push(`${context}: ${leak}`);
  }

  /** Fails, listing every leak, when there is any. */
  expectNone(): void {
    if (this.leaks.length) {
      const shown = this.leaks.slice(0, 15).map((leak) => `  - ${leak}`).join('\n');
      expect.fail(`the password shows in ${this.leaks.length} place(s):\n${shown}${this.leaks.length > 15 ? `\n  ... and ${this.leaks.length - 15} more` : ''}`);
    }
  }
}

/** Runs `work`, checking the value it gives or the error it throws. */
async function observe(log: LeakLog, context: string, work: () => unknown): Promise<{ ok: boolean; error?: unknown }> {
  try {
    const value = await work();
    log.check(context, viewsOfValue(value, 'result'));
    return { ok: true };
  } catch (error) {
    log.check(context, viewsOfError(error));
    return { ok: false, error };
  }
}

/** Everything a library user might do with a connection, every result and error checked. */
async function exercise(log: LeakLog, context: string, conn: Connection): Promise<void> {
  log.check(`${context}, as made`, viewsOfConnection(conn));
  log.check(`${context}, capabilities`, viewsOfValue(capabilities(conn), 'capabilities'));
  await observe(log, `${context}, schema.isInitialized`, () => schema.isInitialized(conn));
  await observe(log, `${context}, query.getLatestBlock`, () => query.getLatestBlock(conn));
  await observe(log, `${context}, query.writeTransaction`, () => query.writeTransaction(conn, createTx()));
  await observe(log, `${context}, admin.getConfig`, () => admin.getConfig(conn));
  await observe(log, `${context}, admin.setShards`, () => admin.setShards(conn, 2));
  log.check(`${context}, after use`, viewsOfConnection(conn));
  await observe(log, `${context}, close`, () => conn.close());
  log.check(`${context}, closed`, viewsOfConnection(conn));
}

// ---------------------------------------------------------------------------
// The log
// ---------------------------------------------------------------------------

/** The `debug` package's switches, as far as this spec turns them. */
interface DebugModule {
  enable(namespaces: string): void;
  disable(): string;
  log: (...args: unknown[]) => void;
}

/**
 * Runs `work` with `DEBUG=chainstore:*` turned on in this process (the package's own
 * `enable()`, which is what the variable does at start-up) and its output collected: `debug`
 * writes through `debug.log`, its documented hook. Whatever was enabled before is restored.
 */
async function withDebugOutput(work: () => Promise<void>): Promise<string[]> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const debug = require('debug') as DebugModule;
  const output: string[] = [];
  const previousLog = debug.log;
  const previous = debug.disable();
  debug.enable('chainstore:*');
  debug.log = (...args: unknown[]) => void output.push(format(...args));
  try {
    await work();
  } finally {
    debug.log = previousLog;
    debug.disable();
    if (previous) debug.enable(previous);
  }
  return output;
}

/** A logger keeping, for each line, the message and every common view of its fields. */
function collectingLogger(): { lines: [string, string][]; logger: Logger } {
  const lines: [string, string][] = [];
  const at = (level: string) => (fields: object, message: string) => {
    lines.push([`logger.${level} message`, message], [`logger.${level} fields: JSON`, JSON.stringify(fields)], [`logger.${level} fields: util.inspect`, inspect(fields, { showHidden: true })]);
  };
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

// ---------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------

interface CliRun {
  code: number;
  output: string;
}

async function cli(argv: string[], env: NodeJS.ProcessEnv, input?: { tty: boolean; text: string }): Promise<CliRun> {
  let output = '';
  const sink = { write: (text: string) => (output += text) };
  const stdin = Object.assign(Readable.from(input ? [Buffer.from(input.text)] : []), { isTTY: input?.tty ?? false });
  const code = await main(argv, { stdout: sink, stderr: sink, stdin, env });
  return { code, output };
}

/** Every subcommand, plus what a user gets wrong. `tty` answers the drop question. */
const COMMANDS: { argv: string[]; input?: { tty: boolean; text: string } }[] = [
  { argv: ['init'] },
  { argv: ['status'] },
  { argv: ['--json', 'status'] },
  { argv: ['recover'] },
  { argv: ['--json', 'recover'] },
  { argv: ['start'] },
  { argv: ['--json', 'start'] },
  { argv: ['drop', '--yes'] },
  { argv: ['drop'] },
  { argv: ['drop'], input: { tty: true, text: 'n\n' } },
  { argv: ['statsu'] },
  { argv: ['status', 'extra'] },
  { argv: ['status', '--verbose'] },
];

/** One way of giving the command the password. */
interface CliWay {
  title: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

function cliWaysFor(backend: string, password: string, file: string): CliWay[] {
  const whereEnv: NodeJS.ProcessEnv =
    backend === 'sqlite' ? { CHAINSTORE_DATABASE_NAME: file } : { CHAINSTORE_DATABASE_HOST: DOWN.host, CHAINSTORE_DATABASE_PORT: String(DOWN.port) };
  const ways: CliWay[] = [
    { title: 'CHAINSTORE_DATABASE_PASSWORD', args: ['--backend', backend], env: { ...whereEnv, CHAINSTORE_DATABASE_PASSWORD: password, ...QUICK_ENV } },
  ];
  const scheme = SCHEMES[backend];
  if (scheme) {
    const encoded = `${scheme}://app:${encodeURIComponent(password)}@${DOWN.host}:${DOWN.port}/ledger`;
    const raw = `${scheme}://app:${password}@${DOWN.host}:${DOWN.port}/ledger`;
    ways.push(
      { title: '--url (password encoded)', args: ['--backend', backend, '--url', encoded], env: QUICK_ENV },
      { title: '--url (password not encoded)', args: ['--backend', backend, '--url', raw], env: QUICK_ENV },
      { title: 'CHAINSTORE_DATABASE_URL (password encoded)', args: ['--backend', backend], env: { CHAINSTORE_DATABASE_URL: encoded, ...QUICK_ENV } },
      { title: 'CHAINSTORE_DATABASE_URL (password not encoded)', args: ['--backend', backend], env: { CHAINSTORE_DATABASE_URL: raw, ...QUICK_ENV } },
    );
    for (const [what, url] of malformedUrls(scheme, password)) {
      ways.push(
        { title: `--url with ${what}`, args: ['--backend', backend, '--url', url], env: QUICK_ENV },
        { title: `--url with ${what}, no backend given`, args: ['--url', url], env: QUICK_ENV },
        { title: `CHAINSTORE_DATABASE_URL with ${what}`, args: [], env: { CHAINSTORE_DATABASE_URL: url, ...QUICK_ENV } },
      );
    }
  }
  return ways;
}

// ---------------------------------------------------------------------------
// The specs
// ---------------------------------------------------------------------------

describe('reliability: the password never shows', function () {
  this.timeout(60_000);
  let dir: string;

  before(function () {
    dir = mkdtempSync(join(tmpdir(), 'chainstore-secrets-'));
  });

  after(function () {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('the checks themselves', function () {
    it('find a password, or a part of it, anywhere in an error, its hidden properties or its causes', function () {
      const hidden = new Error('could not connect');
      Object.defineProperty(hidden, 'options', { value: { password: SPECIAL }, enumerable: false });
      const wrapped = new ChainstoreError('failed', { cause: new AggregateError([hidden], 'all failed') });
      expect(leakingViews(viewsOfError(wrapped), SPECIAL), 'a password in a hidden property of a cause').not.to.deep.equal([]);
      expect(leaksIn('getaddrinfo ENOTFOUND Vw9z', SPECIAL), 'a part cut at a delimiter').to.deep.equal(['Vw9z']);
      expect(leaksIn(`postgres://app:${encodeURIComponent(SPECIAL)}@h/db`, SPECIAL), 'the password URL-encoded').not.to.deep.equal([]);
      expect(leakingViews(viewsOfError(new Error('could not connect to 127.0.0.1:1')), SPECIAL), 'no false alarm').to.deep.equal([]);
    });
  });

  describe('the log, with a driver that repeats the password', function () {
    /** What a careless driver might say, in every form the password can take. */
    class CarelessConnection extends Connection {}
    const carelessError = (password: string) =>
      new Error(`cannot reach postgres://app:${password}@db.internal/x (password ${password} rejected; as sent: ${encodeURIComponent(password)}; host ${password.split('@').pop()})`);

    before(() => {
      registerBackend('secrets-careless', (config) => new CarelessConnection(config), { name: 'careless' });
      query.getLatestBlock.register(CarelessConnection, (conn) =>
        withRetries(() => Promise.reject(carelessError(conn.config.password ?? '')), { backend: conn.backend, maxTries: 3, initialDelay: 1, log: conn.log, what: 'get latest block' }),
      );
    });

    after(() => {
      query.getLatestBlock.unregister(CarelessConnection);
      registerBackend('secrets-careless', null);
    });

    for (const password of PASSWORDS) {
      it(`masks ${DESCRIBED[password]} in every retry line of the logger and of DEBUG`, async function () {
        const log = new LeakLog(password);
        const { lines, logger } = collectingLogger();
        const debugOutput = await withDebugOutput(async () => {
          const conn = await connect({ backend: 'secrets-careless', password, logger }, {});
          await query.getLatestBlock(conn).catch(() => undefined);
          await conn.close();
        });
        // The driver's words did reach the log (masked): two retries, each in both places.
        expect(lines.filter(([view]) => view === 'logger.warn message').map(([, text]) => text)).to.have.length(2);
        expect(debugOutput.filter((line) => line.includes('cannot reach postgres://app:***@db.internal/x (password *** rejected'))).to.have.length(2);
        log.check('the logger', lines);
        log.check('DEBUG=chainstore:*', debugOutput.map((line) => ['DEBUG output', line] as [string, string]));
        log.expectNone();
      });
    }
  });

  for (const backend of BACKENDS) {
    describe(`${backend}${backend === 'sqlite' ? '' : ', server down'}`, function () {
      for (const password of PASSWORDS) {
        const which = DESCRIBED[password];
        it(`connect(): ${which} is in no error, connection, config or location, however it is given`, async function () {
          const log = new LeakLog(password);
          const missed: string[] = [];
          for (const way of waysFor(backend, password, join(dir, `${backend}-${PASSWORDS.indexOf(password)}.db`))) {
            const context = `${backend}, ${way.title}`;
            const made = await observe(log, `${context}, connect`, async () => {
              const conn = await connect(way.options, way.env);
              // The password was really given: the config holds it (hidden), so a leak could happen.
              if (way.exact && conn.config.password !== password) missed.push(`${context}: the config holds ${JSON.stringify(conn.config.password)}`);
              await exercise(log, context, conn);
              return undefined;
            });
            if (!made.ok) {
              if (!(made.error instanceof ChainstoreError)) missed.push(`${context}: connect() failed with a raw ${(made.error as Error)?.name}, not a ChainstoreError`);
            } else if (way.refused) missed.push(`${context}: connect() took a malformed URL`);
          }
          log.expectNone();
          expect(missed, 'every way delivers the password, and every refusal is a ChainstoreError').to.deep.equal([]);
        });

        it(`the log: ${which} is in no line of the logger or of DEBUG, retries included, however it is given`, async function () {
          const log = new LeakLog(password);
          const { lines, logger } = collectingLogger();
          const debugOutput = await withDebugOutput(async () => {
            for (const way of waysFor(backend, password, join(dir, `log-${backend}-${PASSWORDS.indexOf(password)}.db`))) {
              // Two tries, so that a server that is down makes a retry line; a refused URL makes no connection to log.
              const conn = await connect({ ...way.options, maxTries: 2, logger }, { ...way.env, CHAINSTORE_DATABASE_MAX_TRIES: '2' }).catch(() => undefined);
              if (!conn) continue;
              for (const work of [() => schema.isInitialized(conn), () => query.getLatestBlock(conn), () => query.writeTransaction(conn, createTx()), () => recover(conn)]) {
                await work().catch(() => undefined);
              }
              await conn.close();
            }
          });
          log.check(`${backend}, the logger`, lines);
          log.check(`${backend}, DEBUG=chainstore:*`, debugOutput.map((line) => ['DEBUG output', line] as [string, string]));
          log.expectNone();
          // The log really said something (a leak had a chance to happen): retries of a server down, recover's line on sqlite.
          expect(lines.length, 'logger lines').to.be.greaterThan(0);
          expect(debugOutput.length, 'DEBUG lines').to.be.greaterThan(0);
          if (backend !== 'sqlite') expect(debugOutput.some((line) => line.includes('chainstore:retry')), 'a retry line').to.equal(true);
        });

        it(`the chainstore command: ${which} is in no output of any subcommand, however it is given`, async function () {
          const log = new LeakLog(password);
          let reached = 0;
          for (const way of cliWaysFor(backend, password, join(dir, `cli-${backend}-${PASSWORDS.indexOf(password)}.db`))) {
            for (const { argv, input } of COMMANDS) {
              const run = await cli([...way.args, ...argv], way.env, input);
              log.check(`${backend}, ${way.title}, chainstore ${argv.join(' ')} (exit ${run.code})`, [['output', run.output]]);
              if (/127\.0\.0\.1|location|initialized|dropped|recover/.test(run.output)) reached++;
            }
            // With two tries, a server that is down makes the command print a retry line too.
            for (const argv of [['status'], ['--json', 'status']]) {
              const run = await cli([...way.args, ...argv], { ...way.env, CHAINSTORE_DATABASE_MAX_TRIES: '2' });
              log.check(`${backend}, ${way.title}, chainstore ${argv.join(' ')} with retries (exit ${run.code})`, [['output', run.output]]);
            }
          }
          log.expectNone();
          // The commands really ran against the backend (a leak had a chance to happen).
          expect(reached, 'commands that reached the backend or reported on it').to.be.greaterThan(0);
        });
      }
    });
  }

  describe('postgres, server up', function () {
    const base = new URL(POSTGRES_URL);
    // Databases of its own, per process: other specs use the shared test database meanwhile.
    const names = { library: `chainstore_secrets_${process.pid}`, cli: `chainstore_secrets_cli_${process.pid}`, missing: `chainstore_secrets_missing_${process.pid}` };
    /** The test server's URL for `database`, with `password` (the server trusts; the driver still holds it). */
    const urlOf = (database: string, password: string) => {
      const url = new URL(base.toString());
      url.password = encodeURIComponent(password);
      url.username ||= 'postgres';
      url.pathname = `/${database}`;
      return url.toString();
    };

    before(skipWithoutPostgres);

    after(async function () {
      const conn = await connect({ backend: 'postgres', url: urlOf(names.library, PLAIN) }, {});
      for (const name of [names.library, names.cli]) await schema.dropDatabase(conn, name).catch(() => undefined);
      await conn.close();
    });

    for (const password of PASSWORDS) {
      const which = DESCRIBED[password];

      it(`the library: ${which} is in no result, error or view of a connection in use`, async function () {
        const log = new LeakLog(password);
        for (const [title, options, env] of [
          ['URL', { backend: 'postgres', url: urlOf(names.library, password) }, {}],
          ['option', { backend: 'postgres', url: urlOf(names.library, ''), password }, {}],
          ['CHAINSTORE_DATABASE_PASSWORD', { backend: 'postgres', url: urlOf(names.library, '') }, { CHAINSTORE_DATABASE_PASSWORD: password }],
        ] as [string, ConnectionOptions, NodeJS.ProcessEnv][]) {
          const context = `postgres up, ${title}`;
          const conn = await connect(options, env);
          expect(conn.config.password, `${context}: the password was really given`).to.equal(password);
          await schema.initDatabase(conn);
          const tx = createTx();
          await query.writeTransaction(conn, tx);
          const duplicate = await observe(log, `${context}, duplicate write`, () => query.writeTransaction(conn, tx));
          expect(duplicate.ok, 'a duplicate is refused').to.equal(false);
          const refused = await observe(log, `${context}, a statement the server refuses`, () => query.textSearch(conn, 'x', { language: 'no such language' }));
          expect(refused.ok, 'an unknown language is refused').to.equal(false);
          await observe(log, `${context}, admin.getConfig`, () => admin.getConfig(conn));
          const feed = await changefeed.getChangefeed(conn, 'blocks', ChangeFeed.INSERT);
          log.check(`${context}, a changefeed`, viewsOfValue(feed, 'feed'));
          await feed.close();
          log.check(`${context}, a connection in use`, viewsOfConnection(conn));
          await conn.close();

          const missing = await connect({ ...options, url: (options.url as string).replace(names.library, names.missing) }, env);
          await observe(log, `${context}, a database that does not exist`, () => query.getLatestBlock(missing));
          log.check(`${context}, a connection to a database that does not exist`, viewsOfConnection(missing));
          await missing.close();
        }
        log.expectNone();
      });

      it(`the chainstore command: ${which} is in no output of any subcommand`, async function () {
        const log = new LeakLog(password);
        for (const [title, args, env] of [
          ['--url', ['--url', urlOf(names.cli, password)], {}],
          ['CHAINSTORE_DATABASE_URL', [], { CHAINSTORE_DATABASE_URL: urlOf(names.cli, password) }],
          ['CHAINSTORE_DATABASE_PASSWORD', ['--url', urlOf(names.cli, '')], { CHAINSTORE_DATABASE_PASSWORD: password }],
        ] as [string, string[], NodeJS.ProcessEnv][]) {
          for (const { argv, input } of COMMANDS) {
            const run = await cli([...args, ...argv], env, input);
            log.check(`postgres up, ${title}, chainstore ${argv.join(' ')} (exit ${run.code})`, [['output', run.output]]);
            if (argv.join(' ') === 'status' || argv.join(' ') === 'start') {
              // It really ran against the server.
              expect(run.code, run.output).to.equal(0);
              expect(run.output).to.include(`/${names.cli}`);
            }
          }
        }
        log.expectNone();
      });
    }
  });
});
