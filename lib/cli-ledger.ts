/**
 * The `export`, `import` and `migrate` subcommands of the `chainstore` command: a ledger to
 * a JSON Lines file, a file into a database, and a ledger from one database into another,
 * each ending with a comparison of counts and checksums of both sides.
 *
 * Progress goes to stderr: a bar (cli-progress) on a terminal, a line every few seconds and
 * at the end otherwise (a log file or CI gets a readable record, not control characters).
 */
import { createReadStream } from 'node:fs';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { ChainstoreError, admin, compareDigests, digestLedger, exportLedger, importLedger, readLedgerFile, schema, writeLedgerFile, writeLedgerLines } from './index';
import type { Connection } from './connection';
import { DEFAULT_BATCH_SIZE, type ImportProgress } from './import';
import { type MigrateReport, migrateLedger } from './migrate';
import type { LedgerEntry } from './pages';
import { TABLES, type TableName } from './tables';

/** What the subcommands need from the program they are added to. */
export interface LedgerCommandContext {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  /** Runs `work` with a connection to the database named by the global options (or `url`), closing it after. */
  withDatabase<T>(url: string | undefined, work: (conn: Connection) => Promise<T>): Promise<T>;
  /** Whether `--json` was given. */
  json(command: Command): boolean;
}

/** The error the commands end with when both sides' checksums differ (exit code 1). */
export class LedgerMismatchError extends ChainstoreError {
  override readonly code: string = 'CHAINSTORE_LEDGER_MISMATCH';
  constructor(readonly differing: readonly TableName[]) {
    super(`the copy differs from its source in ${differing.join(', ')} (counts or checksums; see the report)`);
  }
}

const total = (counts: Record<TableName, number>) => TABLES.reduce((sum, table) => sum + counts[table], 0);

/** How often a progress line is written when stderr is not a terminal. */
const LINE_INTERVAL_MS = 5000;

/** Shows progress on stderr: a bar on a terminal, periodic lines otherwise. */
class Progress {
  readonly #bar: SingleBar | undefined;
  /** The first line comes after an interval too: a quick run prints only its last. */
  #lastLine = Date.now();

  constructor(
    private readonly stderr: LedgerCommandContext['stderr'],
    private readonly verb: string,
    private readonly expected: number | undefined,
  ) {
    if (stderr.isTTY) {
      this.#bar = new SingleBar({
        format: `${verb} [{bar}] {percentage}% | {value}/{total} records | {table} | {eta_formatted} left`,
        stream: stderr as NodeJS.WritableStream,
        hideCursor: true,
      });
      this.#bar.start(expected ?? 0, 0, { table: '' });
    }
  }

  update(done: number, table: string): void {
    if (this.#bar) {
      if (this.expected === undefined || done > this.expected) this.#bar.setTotal(done);
      this.#bar.update(done, { table });
      return;
    }
    const now = Date.now();
    if (now - this.#lastLine < LINE_INTERVAL_MS) return;
    this.#lastLine = now;
    this.#line(done, table);
  }

  stop(done: number): void {
    if (this.#bar) {
      this.#bar.update(done);
      this.#bar.stop();
    } else this.#line(done, 'done');
  }

  #line(done: number, table: string): void {
    const share = this.expected ? ` (${((100 * done) / Math.max(this.expected, 1)).toFixed(1)}%)` : '';
    this.stderr.write(`chainstore: ${this.verb} ${done}${this.expected === undefined ? '' : `/${this.expected}`} records${share}, ${table}\n`);
  }
}

/** Entries passed through, counted into `progress` as they go. */
async function* counted(entries: AsyncIterable<LedgerEntry>, progress: Progress): AsyncGenerator<LedgerEntry> {
  let done = 0;
  for await (const entry of entries) {
    yield entry;
    done += 1;
    progress.update(done, entry.table);
  }
  progress.stop(done);
}

function integer(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`expected a positive integer, got '${text}'`);
  return value;
}

/** The lines a report prints: per table, what was written and skipped, and whether both sides agree. */
function formatReport({ written, skipped, target, differing }: MigrateReport): string {
  const lines = TABLES.map((table) => {
    const mark = differing.includes(table) ? 'DIFFERS' : 'ok';
    return `  ${table.padEnd(13)} ${String(written[table]).padStart(9)} written ${String(skipped[table]).padStart(9)} already there   ${String(target[table].count).padStart(9)} in target   ${mark}`;
  });
  const verdict = differing.length ? `checksums differ in ${differing.join(', ')}` : 'counts and checksums of both sides match';
  return `${lines.join('\n')}\n${verdict}\n`;
}

/**
 * Adds `export`, `import` and `migrate` to the program.
 *
 * @example
 * addLedgerCommands(program, context);   // chainstore export --out ledger.jsonl
 */
export function addLedgerCommands(program: Command, context: LedgerCommandContext): void {
  program
    .command('export')
    .description('write every record of the ledger as JSON Lines (one {"table", "record"} a line), to a file or stdout')
    .option('-o, --out <file>', 'file to write (written as <file>.partial, renamed when complete); default stdout')
    .option('--page-size <n>', 'records read per query', integer, DEFAULT_BATCH_SIZE)
    .action(async (options: { out?: string; pageSize: number }, command: Command) => {
      await context.withDatabase(undefined, async (conn) => {
        const expected = total(await admin.countRecords(conn));
        const progress = new Progress(context.stderr, 'exported', expected);
        const entries = counted(exportLedger(conn, { pageSize: options.pageSize }), progress);
        // The records go to the process's own stdout, unmasked: they are data, and masking a
        // string that happens to equal a password would change the ledger they copy.
        const lines = options.out ? await writeLedgerFile(options.out, entries) : await writeLedgerLines(process.stdout, entries);
        const summary = { exported: lines, to: options.out ?? 'stdout', backend: conn.backend, location: conn.location };
        // With the records on stdout, the summary goes to stderr.
        if (context.json(command) && options.out) context.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        else context.stderr.write(`chainstore: exported ${lines} records from ${conn.backend} (${conn.location}) to ${summary.to}\n`);
      });
    });

  program
    .command('import')
    .description('write the records of a ledger file into the database (making its tables where missing; run again after an interruption: nothing is written twice), then compare checksums')
    .argument('<file>', 'a file written by chainstore export')
    .option('--batch-size <n>', 'records written per call', integer, DEFAULT_BATCH_SIZE)
    .action(async (file: string, options: { batchSize: number }, command: Command) => {
      await context.withDatabase(undefined, async (conn) => {
        await schema.initDatabase(conn);
        const progress = new Progress(context.stderr, 'imported', context.stderr.isTTY ? await countLines(file) : undefined);
        const report = await importLedger(conn, readLedgerFile(file), { batchSize: options.batchSize, onProgress: onProgress(progress) });
        progress.stop(total(report.written) + total(report.skipped));
        const target = await digestLedger(conn);
        finish(context, command, { ...report, target, differing: compareDigests(report.digest, target) });
      });
    });

  program
    .command('migrate')
    .description('copy the ledger from one database to another (making the target\'s tables where missing; run again after an interruption: nothing is written twice), then compare checksums')
    .requiredOption('--from <url>', 'the source database URL')
    .requiredOption('--to <url>', 'the target database URL')
    .option('--batch-size <n>', 'records read and written per call', integer, DEFAULT_BATCH_SIZE)
    .action(async (options: { from: string; to: string; batchSize: number }, command: Command) => {
      await context.withDatabase(options.from, (from) =>
        context.withDatabase(options.to, async (to) => {
          const progress = new Progress(context.stderr, 'migrated', total(await admin.countRecords(from)));
          const report = await migrateLedger(from, to, { batchSize: options.batchSize, onProgress: onProgress(progress) });
          progress.stop(total(report.written) + total(report.skipped));
          finish(context, command, report);
        }),
      );
    });
}

const onProgress = (progress: Progress) => (p: ImportProgress) => progress.update(p.read, p.table);

/** Prints the report (text or JSON) and fails if both sides differ. */
function finish(context: LedgerCommandContext, command: Command, report: MigrateReport): void {
  if (context.json(command)) context.stdout.write(`${JSON.stringify({ written: report.written, skipped: report.skipped, source: report.digest, target: report.target, differing: report.differing }, null, 2)}\n`);
  else context.stdout.write(formatReport(report));
  if (report.differing.length) throw new LedgerMismatchError(report.differing);
}

/** Lines in a file, for the progress bar's total (read as a stream: constant memory). */
async function countLines(file: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(file)) {
    for (let i = (chunk as Buffer).indexOf(10); i !== -1; i = (chunk as Buffer).indexOf(10, i + 1)) lines += 1;
  }
  return lines;
}
