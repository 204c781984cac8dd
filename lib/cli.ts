#!/usr/bin/env node
/**
 * The `chainstore` command: create, inspect, repair and drop a chainstore database.
 *
 * ```
 * chainstore [--backend <name>] [--url <url>] [--json] <init|drop|recover|status|start|serve>
 * ```
 *
 * `serve` runs the chainstore node (BigchainDB's HTTP API and event stream, `server/`) until
 * SIGINT or SIGTERM.
 *
 * The connection is configured like `connect()`: `--backend` and `--url` win over the
 * `CHAINSTORE_DATABASE_*` environment, which wins over the backend's defaults.
 *
 * Exit codes: 0 success, 1 the operation or the backend failed, 2 usage or configuration
 * error, 3 `recover` found a state it must not repair by itself, 4 `drop` found no chainstore
 * database to drop (and created none).
 *
 * Errors are one line on stderr naming the subcommand (`chainstore status: ...`); under
 * `--json` every line on stderr is a JSON object instead (`{"error": {...}}`), and stdout
 * holds only the result. While a server does not answer, each retry is reported on stderr
 * (`chainstore status: [postgres] try 2 of 3 in 200 ms: ...`) rather than waiting in silence.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Command, CommanderError } from 'commander';
import { addLedgerCommands } from './cli-ledger';
import { type RecoveryReport, judgePreCommit } from './ledger';
import type { PreCommitState } from './model';
import { type Connection, ChainstoreError, TABLES, admin, connect, recover, schema, query } from './index';
import { describeKeys } from './errors';
import { type LogFields, type LogLevel, type Logger, oneLine } from './log';
import { maskSecrets, passwordsOf } from './redact';

/** Where the command reads and writes; `main()` defaults each to the process's own. */
export interface CliIo {
  stdout: TextSink;
  stderr: TextSink;
  /** Read for the `drop` confirmation; only asked when `isTTY` is true. */
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /** The environment `CHAINSTORE_DATABASE_*` is read from. */
  env: NodeJS.ProcessEnv;
}

/** Anything text can be written to (a stream, or a test's collector). */
export interface TextSink {
  write(text: string): unknown;
  /** True for a terminal (progress is then a bar, not lines). */
  isTTY?: boolean;
  columns?: number;
}

/** The exit codes of the command. */
export const EXIT_CODES = Object.freeze({
  ok: 0,
  /** The operation or the backend failed. */
  failure: 1,
  /** Bad usage or configuration (ConfigurationError, ValidationError, bad arguments). */
  usage: 2,
  /** `recover` refused to repair the database (RecoveryError). */
  recovery: 3,
  /** `drop` found no chainstore database there: nothing was dropped, nothing was created. */
  notFound: 4,
});

/** Options every subcommand accepts. */
interface GlobalOptions {
  backend?: string;
  url?: string;
  json?: boolean;
}

/** What `status` reports. */
export interface StatusReport {
  backend: string;
  /** Where the data lives (never with a password). */
  location: string;
  /** False when the database has no chainstore tables yet. */
  initialized: boolean;
  /** Height of the latest block, or null when there is none. */
  latestBlockHeight: number | null;
  /**
   * The pre-commit record: `pending` when a commit was left unfinished, `repairable` when
   * `recover` rolls it back by itself (a pending one that is not needs a human), the ids it
   * lists, and, when pending, how many of them are stored.
   */
  preCommit: { height: number; transactions: number; pending: boolean; repairable: boolean; transactionIds: string[]; stored: number | null } | null;
  /** Records per table, by public table name (null when not initialized). */
  records: Record<string, number> | null;
}

/** A mistake in how the command was called (exit code 2). */
class UsageError extends Error {
  readonly code = 'CHAINSTORE_CLI_USAGE';
  override readonly name = 'UsageError';
}

/** The user answered no to a question: nothing was done (exit code 1). */
class DeclinedError extends Error {
  readonly code = 'CHAINSTORE_CLI_DECLINED';
  override readonly name = 'DeclinedError';
}

/** What the command was to act on is not there (exit code 4). */
class NotFoundError extends Error {
  readonly code = 'CHAINSTORE_CLI_NOT_FOUND';
  override readonly name = 'NotFoundError';
}

/** What every part of one run needs to know to report: the subcommand the user typed, and `--json`. */
interface RunContext {
  command: string | undefined;
  json: boolean;
}

/**
 * Runs the `chainstore` command in-process and resolves to its exit code. Never throws,
 * never calls `process.exit`, and closes every connection it opens.
 *
 * @param argv the arguments after the program name, e.g. `['status', '--json']`
 * @param io where to read and write; each field defaults to the process's own
 *
 * @example
 * const code = await main(['--url', 'sqlite:///var/lib/node/chain.db', 'status']);
 * process.exitCode = code;
 */
export async function main(argv: readonly string[] = process.argv.slice(2), io: Partial<CliIo> = {}): Promise<number> {
  const given = withDefaults(io);
  const secrets = secretsIn(argv, given.env);
  const streams = redacting(given, secrets);
  const context: RunContext = { command: undefined, json: wantsJson(argv) };
  try {
    await buildProgram(streams, secrets, context).parseAsync([...argv], { from: 'user' });
    return EXIT_CODES.ok;
  } catch (error) {
    // Commander has already said what was wrong (or printed the help or version asked for).
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
    const code = exitCodeOf(error);
    streams.stderr.write(context.json ? errorJson(error, context.command, code) : errorLine(error, context.command));
    return code;
  }
}

/**
 * Whether `--json` was given, read from the arguments themselves: an error can come before
 * commander has parsed them (a mistyped subcommand), and it must be JSON too.
 */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * The same streams, with every secret masked in whatever is written. One gate for all
 * output, because a password can reach it by many roads: an error message, a driver's
 * message, a location shown by `status`.
 */
function redacting(io: CliIo, secrets: readonly string[]): CliIo {
  return {
    ...io,
    stdout: { write: (text: string) => io.stdout.write(maskSecrets(text, secrets)) },
    stderr: {
      write: (text: string) => io.stderr.write(maskSecrets(text, secrets)),
      // What a progress bar asks of its stream: whether it is a terminal, and how wide.
      isTTY: (io.stderr as { isTTY?: boolean }).isTTY,
      columns: (io.stderr as { columns?: number }).columns,
    },
  };
}

function withDefaults(io: Partial<CliIo>): CliIo {
  return {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    stdin: io.stdin ?? process.stdin,
    env: io.env ?? process.env,
  };
}

// ---------------------------------------------------------------------------
// The program
// ---------------------------------------------------------------------------

const HELP_FOOTER = `
Environment:
  CHAINSTORE_DATABASE_BACKEND, _URL, _HOST, _PORT, _NAME, _LOGIN, _PASSWORD, _SSL,
  _MAX_TRIES, _CONNECTION_TIMEOUT configure the connection when no flag does.
  Prefer CHAINSTORE_DATABASE_URL or _PASSWORD over --url for a URL with a password:
  command lines are visible to other users of the machine.

Exit codes:
  0 success, 1 operation or backend failure (for import and migrate: or the copy's
  checksums differ from its source's), 2 usage or configuration error,
  3 recover refused to repair the database (it needs a human: see status),
  4 drop found no chainstore database there (nothing dropped, nothing created).

Errors and retries are reported on stderr; with --json as JSON lines.
DEBUG=chainstore:* shows every retry, slow operation and recovery on stderr.
`;

type Action = (conn: Connection, options: GlobalOptions & Record<string, unknown>, io: CliIo) => Promise<void>;

function buildProgram(io: CliIo, secrets: string[], context: RunContext): Command {
  const program = new Command('chainstore')
    .description('Create, inspect, repair, drop, export, import and migrate a chainstore database.')
    .version(packageVersion(), '-V, --version')
    .option('--backend <name>', 'backend to use (sqlite, postgres, localmongodb, rethinkdb, ...)')
    .option('--url <url>', "database URL in the engine's own form, e.g. sqlite:///var/lib/node/chain.db")
    .option('--json', 'print machine-readable JSON on stdout')
    .addHelpText('after', HELP_FOOTER)
    // Set before the subcommands are added, so that they inherit them.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(context.json ? commanderErrorJson(text) : commanderErrorLine(text)),
    });

  // Every subcommand runs the same way: connect, act, close whatever happens.
  const run = (action: Action) => async (_localOptions: unknown, command: Command) => {
    context.command = command.name();
    const options = command.optsWithGlobals<GlobalOptions & Record<string, unknown>>();
    await withConnection(options, io, secrets, context, (conn) => action(conn, options, io));
  };

  program.command('init').description('create the database and its tables (idempotent, additive)').action(run(initCommand));
  program
    .command('drop')
    .description('drop the database and everything in it (asks first)')
    .option('-y, --yes', 'drop without asking')
    .action(run(dropCommand));
  program.command('recover').description('repair a commit left unfinished by a crash').action(run(recoverCommand));
  program
    .command('status')
    .description('show backend, location, latest block, pre-commit state and record counts')
    .action(run(statusCommand));
  program.command('start').description('init, then recover, then status: what a node runs at startup').action(run(startCommand));
  program
    .command('serve')
    .description("run the chainstore node: BigchainDB's HTTP API v1 and event stream, until SIGINT or SIGTERM")
    .option('--host <host>', 'interface the HTTP API listens on', 'localhost')
    .option('--port <port>', 'port of the HTTP API', integerOption, 9984)
    .option('--ws-host <host>', 'interface the event stream listens on (default: --host)')
    .option('--ws-port <port>', 'port of the event stream', integerOption, 9985)
    .option('--advertised-stream-url <url>', 'stream URL the API advertises (default: ws://<ws-host>:<ws-port>/api/v1/streams/valid_transactions)')
    .option('--max-block-size <n>', 'most transactions in one block', integerOption, 2000)
    .option('--body-limit <bytes>', 'largest request body; larger ones get 413', integerOption, 1024 * 1024)
    .option('--shutdown-timeout <ms>', 'on SIGINT or SIGTERM, how long pending posts are committed before the rest are refused', integerOption, 10_000)
    .action(run(serveCommand));
  // Errors name the subcommand the user typed, whichever file defines it.
  program.hook('preAction', (_program, actionCommand) => {
    context.command = actionCommand.name();
  });
  addLedgerCommands(program, {
    stdout: io.stdout,
    stderr: io.stderr,
    json: (command) => Boolean(command.optsWithGlobals<GlobalOptions>().json),
    withDatabase: (url, work) => {
      const options = url === undefined ? program.opts<GlobalOptions>() : { url };
      return withConnection(options, io, secrets, context, work);
    },
  });
  return program;
}

async function withConnection<T>(
  options: GlobalOptions,
  io: CliIo,
  secrets: string[],
  context: RunContext,
  work: (conn: Connection) => Promise<T>,
): Promise<T> {
  const conn = await connect({ ...connectionOptions(options), logger: progressLogger(io, context) }, io.env);
  // The resolved password may come from anywhere (env, URL): keep it out of every message.
  if (conn.config.password) secrets.push(conn.config.password);
  let result: T;
  try {
    result = await work(conn);
  } catch (error) {
    // The operation's error is the one worth reporting, not a failure to close after it.
    await conn.close().catch(() => undefined);
    throw error;
  }
  await conn.close();
  return result;
}

/** Topics the command shows: what it waits on. Recoveries it reports itself; slowness is not news on a terminal. */
const SHOWN_TOPICS = new Set(['retry', 'changefeed']);
const SHOWN_LEVELS = new Set<LogLevel>(['info', 'warn', 'error']);

/**
 * The connection's logger: retries (and a served changefeed's outages) on stderr as they
 * happen, so that a server that is down shows progress instead of silence. Through the same
 * password mask as everything else the command writes.
 */
function progressLogger(io: CliIo, context: RunContext): Logger {
  const show = (level: LogLevel) => (fields: LogFields, message: string) => {
    if (!SHOWN_LEVELS.has(level) || !SHOWN_TOPICS.has(String(fields.topic))) return;
    io.stderr.write(context.json ? `${JSON.stringify({ level, ...fields, message })}\n` : `${prefix(context.command)}: ${oneLine(message)}\n`);
  };
  return { debug: show('debug'), info: show('info'), warn: show('warn'), error: show('error') };
}

/** Only the flags given, so the environment still fills in the rest. */
function connectionOptions(options: GlobalOptions): { backend?: string; url?: string } {
  const chosen: { backend?: string; url?: string } = {};
  if (options.backend !== undefined) chosen.backend = options.backend;
  if (options.url !== undefined) chosen.url = options.url;
  return chosen;
}

// ---------------------------------------------------------------------------
// Subcommands
// ---------------------------------------------------------------------------

async function initCommand(conn: Connection, options: GlobalOptions, io: CliIo): Promise<void> {
  await schema.initDatabase(conn);
  if (options.json) printJson(io, { initialized: true, backend: conn.backend, location: conn.location });
  else io.stdout.write(`initialized ${databaseLabel(conn)}\n`);
}

async function dropCommand(conn: Connection, options: GlobalOptions & { yes?: boolean }, io: CliIo): Promise<void> {
  const name = conn.config.name;
  // Asked first, because asking creates nothing and dropping would (SQLite opens, so makes,
  // its file to empty it); and a database without chainstore's tables is not ours to drop.
  if (!(await schema.isInitialized(conn))) {
    throw new NotFoundError(`${databaseLabel(conn)} does not exist or has no chainstore tables: nothing was dropped (and nothing created)`);
  }
  if (!options.yes) await confirmDrop(conn, io);
  await schema.dropDatabase(conn, name);
  if (options.json) printJson(io, { dropped: true, backend: conn.backend, location: conn.location });
  else io.stdout.write(`dropped ${databaseLabel(conn)}\n`);
}

/** Asks on a terminal; refuses outright when no one can answer (a script, a pipe). */
async function confirmDrop(conn: Connection, io: CliIo): Promise<void> {
  if (!io.stdin.isTTY) {
    throw new UsageError(`refusing to drop ${databaseLabel(conn)}: stdin is not a terminal, so no one can confirm; pass --yes to drop it`);
  }
  io.stderr.write(`Drop database ${conn.config.name} at ${conn.location}? [y/N] `);
  const answer = await readLine(io.stdin);
  // Input ended without an answer: end the prompt's line, so the next message starts on its own.
  if (answer === null) io.stderr.write('\n');
  if (!/^\s*y(es)?\s*$/i.test(answer ?? '')) throw new DeclinedError(`${databaseLabel(conn)} was not dropped`);
}

/** The next line of `input`, or null if it ends first. */
function readLine(input: NodeJS.ReadableStream): Promise<string | null> {
  return new Promise((resolve) => {
    const lines = readline.createInterface({ input, terminal: false });
    let answered = false;
    lines.once('line', (line) => {
      answered = true;
      lines.close();
      resolve(line);
    });
    lines.once('close', () => {
      if (!answered) resolve(null);
    });
  });
}

async function recoverCommand(conn: Connection, options: GlobalOptions, io: CliIo): Promise<void> {
  const report = await recover(conn);
  if (options.json) printJson(io, report);
  else io.stdout.write(formatRecovery(report));
}

async function statusCommand(conn: Connection, options: GlobalOptions, io: CliIo): Promise<void> {
  const report = await readStatus(conn);
  if (options.json) printJson(io, report);
  else io.stdout.write(formatStatus(report));
}

async function startCommand(conn: Connection, options: GlobalOptions, io: CliIo): Promise<void> {
  await schema.initDatabase(conn);
  const recovery = await recover(conn);
  const status = await readStatus(conn);
  if (options.json) {
    printJson(io, { recovery, status });
    return;
  }
  io.stdout.write(`initialized ${databaseLabel(conn)}\n`);
  io.stdout.write(formatRecovery(recovery));
  io.stdout.write(formatStatus(status));
}

/** `serve`'s flags (commander fills in the defaults). */
interface ServeOptions extends GlobalOptions {
  host?: string;
  port?: number;
  wsHost?: string;
  wsPort?: number;
  advertisedStreamUrl?: string;
  maxBlockSize?: number;
  bodyLimit?: number;
  shutdownTimeout?: number;
}

/**
 * Runs the node on the command's connection until SIGINT or SIGTERM, then closes it: the
 * block in flight is finished and every pending post answered before the command returns.
 * Log lines (JSON, one per block) go to stdout, through the same password mask as the rest.
 */
async function serveCommand(conn: Connection, options: ServeOptions, io: CliIo): Promise<void> {
  const [{ startNode }, { default: pino }] = await Promise.all([import('../server'), import('pino')]);
  const logger = pino({ base: undefined }, { write: (line: string) => io.stdout.write(line) });
  const node = await startNode({
    connection: conn,
    logger,
    host: options.host,
    port: options.port,
    wsHost: options.wsHost,
    wsPort: options.wsPort,
    advertisedStreamUrl: options.advertisedStreamUrl,
    maxBlockSize: options.maxBlockSize,
    bodyLimit: options.bodyLimit,
    shutdownTimeout: options.shutdownTimeout,
  }).catch((error: unknown) => {
    throw listenError(error, options) ?? error;
  });
  io.stderr.write(`chainstore node: API ${node.url}  stream ${node.streamUrl}  (${databaseLabel(conn)}; Ctrl-C stops it)\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const stop = (received: NodeJS.Signals) => {
      // A second signal, of either kind, meets Node's default and ends the process at once.
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      resolve(received);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  io.stderr.write(
    `chainstore node: ${signal}: finishing the block in flight and the pending posts (a second signal stops at once; the next start repairs an unfinished commit)\n`,
  );
  await node.close();
}

/**
 * A port `serve` cannot listen on, said in the operator's terms: which of the two servers,
 * which address, and the flag that moves it (Node says only `listen EADDRINUSE: address
 * already in use 127.0.0.1:9984`). Null for any other error.
 */
function listenError(error: unknown, options: ServeOptions): Error | null {
  const { code, port, address } = (error ?? {}) as { code?: unknown; port?: unknown; address?: unknown };
  const why = code === 'EADDRINUSE' ? 'the port is in use' : code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)' : null;
  if (why === null || typeof port !== 'number') return null;
  const servers = [
    ...(port === options.port ? [{ what: 'the HTTP API', flag: '--port' }] : []),
    ...(port === options.wsPort ? [{ what: 'the event stream', flag: '--ws-port' }] : []),
  ];
  if (!servers.length) return null;
  const where = typeof address === 'string' ? `${address.includes(':') ? `[${address}]` : address}:${port}` : `port ${port}`;
  const what = servers.map((server) => server.what).join(' and ');
  const flags = servers.map((server) => server.flag).join(' or ');
  return new Error(`cannot serve ${what} on ${where}: ${why}; choose another port with ${flags}`);
}

/** A whole number option (commander hands options over as strings). */
function integerOption(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`expected a whole number, got '${text}'`);
  return Number(text);
}

// ---------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------

/**
 * Reads what `status` shows, writing nothing; on a database without tables it reports
 * `initialized: false` and stops there.
 *
 * @example
 * const { latestBlockHeight, records } = await readStatus(conn);
 */
export async function readStatus(conn: Connection): Promise<StatusReport> {
  const base = { backend: conn.backend, location: conn.location };
  if (!(await schema.isInitialized(conn))) {
    return { ...base, initialized: false, latestBlockHeight: null, preCommit: null, records: null };
  }
  const [latest, preCommit, records] = await Promise.all([
    query.getLatestBlock(conn),
    query.getPreCommitState(conn),
    admin.countRecords(conn),
  ]);
  const latestBlockHeight = latest ? latest.height : null;
  return { ...base, initialized: true, latestBlockHeight, preCommit: await describePreCommit(conn, preCommit, latestBlockHeight), records };
}

/**
 * Whether the pre-commit record marks a commit that never finished, and whether `recover`
 * repairs it (judged by recover()'s own rules, judgePreCommit). A pending one gets its stored transactions counted, which is
 * what a person deciding about it needs to know.
 */
async function describePreCommit(conn: Connection, state: PreCommitState | null, latestHeight: number | null): Promise<StatusReport['preCommit']> {
  if (!state) return null;
  const ids = state.transactions;
  const verdict = judgePreCommit(state, latestHeight);
  const committed = verdict === 'complete';
  const repairable = verdict === 'unfinished';
  const stored = committed ? null : ids.length ? (await query.getTransactions(conn, ids)).length : 0;
  return { height: state.height, transactions: ids.length, pending: !committed, repairable, transactionIds: [...ids], stored };
}

function formatStatus(report: StatusReport): string {
  const lines = [row('backend', report.backend), row('location', report.location)];
  if (!report.initialized) {
    lines.push('the database has no tables yet (run: chainstore init)');
    return lines.join('\n') + '\n';
  }
  lines.push(row('latest block', report.latestBlockHeight === null ? 'no blocks' : `height ${report.latestBlockHeight}`));
  lines.push(row('pre-commit', formatPreCommit(report.preCommit, report.latestBlockHeight)));
  if (report.preCommit?.pending && report.preCommit.transactions) lines.push(row('', describeKeys(report.preCommit.transactionIds, STATUS_IDS)));
  lines.push('records');
  const records = report.records ?? {};
  const names = [...TABLES.filter((table) => table in records), ...Object.keys(records).filter((key) => !(TABLES as readonly string[]).includes(key))];
  const width = Math.max(0, ...names.map((name) => name.length));
  for (const name of names) lines.push(`  ${name.padEnd(width)}  ${records[name]}`);
  return lines.join('\n') + '\n';
}

/** Transaction ids `status` lists of a pending pre-commit record; `--json` has them all. */
const STATUS_IDS = 10;

function formatPreCommit(preCommit: StatusReport['preCommit'], latestHeight: number | null): string {
  if (!preCommit) return 'none';
  const what = `height ${preCommit.height}, ${plural(preCommit.transactions, 'transaction')}`;
  if (!preCommit.pending) return `${what}, committed`;
  const stored = `${preCommit.stored ?? 0} stored`;
  if (preCommit.repairable) return `${what}, unfinished commit (${stored}; run: chainstore recover)`;
  return `${what}, unfinished commit (${stored}) that does not follow the latest block (height ${latestHeight}): recover will not repair it, a person must decide`;
}

function formatRecovery(report: RecoveryReport): string {
  if (report.action === 'none') return `recover: nothing to do (${report.height < 0 ? 'no blocks' : `latest block ${report.height}`})\n`;
  return `recover: rolled back the unfinished commit of block ${report.height} (${plural(report.transactions.length, 'transaction')})\n`;
}

/** `database ledger at db.internal:5432/ledger`, or just `database ./chain.db` where both are the file. */
function databaseLabel(conn: Connection): string {
  const name = conn.config.name;
  return name === conn.location ? `database ${name}` : `database ${name} at ${conn.location}`;
}

const row = (label: string, value: string) => `${label.padEnd(13)} ${value}`;
const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

// ---------------------------------------------------------------------------
// Errors and exit codes
// ---------------------------------------------------------------------------

/**
 * The exit code for an error: 2 for usage and configuration, 3 for recovery, 1 otherwise.
 * Goes by the stable `code` rather than `instanceof`, so errors from another copy of the
 * package are classified too.
 */
function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) return EXIT_CODES.usage;
  if (error instanceof DeclinedError) return EXIT_CODES.failure;
  if (error instanceof NotFoundError) return EXIT_CODES.notFound;
  switch ((error as { code?: unknown } | null)?.code) {
    case 'CHAINSTORE_CONFIGURATION':
    case 'CHAINSTORE_VALIDATION':
      return EXIT_CODES.usage;
    case 'CHAINSTORE_RECOVERY':
      return EXIT_CODES.recovery;
    default:
      return EXIT_CODES.failure;
  }
}

/** `chainstore status`, naming the subcommand the user typed (only `chainstore` before there is one). */
function prefix(command: string | undefined): string {
  return command ? `chainstore ${command}` : 'chainstore';
}

/** Our own errors speak for themselves; a stray one (a driver's, a bug) is named by its class. */
function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const foreign = error instanceof Error && !(error instanceof ChainstoreError) && !isCliError(error) && error.name !== 'Error';
  return oneLine(foreign ? `${error.name}: ${message}` : message);
}

const isCliError = (error: Error) => error instanceof UsageError || error instanceof DeclinedError || error instanceof NotFoundError;

/** `chainstore <command>: <message>`: one line, no stack (the output streams mask passwords). */
function errorLine(error: unknown, command: string | undefined): string {
  return `${prefix(command)}: ${messageOf(error)}\n`;
}

/**
 * The error under `--json`: one line, `{"error": {command, code, name, message, exitCode}}`,
 * on stderr like the plain line (stdout holds results only, so a report redirected to a file
 * is never an error).
 */
function errorJson(error: unknown, command: string | undefined, exitCode: number): string {
  const code = (error as { code?: unknown } | null)?.code;
  const name = error instanceof Error ? error.name : typeof error;
  return `${JSON.stringify({ error: { command: command ?? null, code: typeof code === 'string' ? code : null, name, message: messageOf(error), exitCode } })}\n`;
}

/** Commander's `error: ...` lines, restyled as ours. */
function commanderErrorLine(text: string): string {
  const [first, ...rest] = text.replace(/\n+$/, '').split('\n');
  const line = `chainstore: ${first.replace(/^error:\s*/, '')}\n`;
  return rest.length ? `${line}${rest.join('\n')}\n` : line;
}

/** Commander's error under `--json`, shaped like ours (its hints, such as "Did you mean", stay in the message). */
function commanderErrorJson(text: string): string {
  const message = oneLine(text.replace(/^error:\s*/, ''));
  return `${JSON.stringify({ error: { command: null, code: 'CHAINSTORE_CLI_USAGE', name: 'UsageError', message, exitCode: EXIT_CODES.usage } })}\n`;
}

/** Passwords the command was handed, raw and URL-decoded, so no message can repeat them. */
function secretsIn(argv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const urls = [env.CHAINSTORE_DATABASE_URL, ...argv.filter((arg) => arg.includes('@'))];
  const secrets = [env.CHAINSTORE_DATABASE_PASSWORD, ...urls.flatMap(passwordsOf)];
  return [...new Set(secrets)].filter((secret): secret is string => typeof secret === 'string' && secret !== '');
}

/** The version in the package's package.json (the same file from `lib/` and `dist/lib/`). */
function packageVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'chainstore') return pkg.version ?? '0.0.0';
    }
    if (path.dirname(dir) === dir) return '0.0.0';
  }
}

if (require.main === module) {
  // A reader that stops early (`chainstore status | head -1`) is not an error worth a stack.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? EXIT_CODES.ok);
    throw error;
  });
  // exitCode rather than exit(): stdout and stderr are flushed before the process ends.
  void main().then((code) => {
    process.exitCode = code;
  });
}
