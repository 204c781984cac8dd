/**
 * Ledger files: JSON Lines, one `{"table": ..., "record": ...}` entry a line, in the order
 * `exportLedger` reads them. Read and written as streams, so a file of any size takes
 * constant memory.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import * as readline from 'node:readline';
import type { Writable } from 'node:stream';
import { ConfigurationError, ValidationError } from './errors';
import type { LedgerEntry } from './pages';

/**
 * The entries of a ledger file, line by line (blank lines are skipped). A file that cannot be
 * opened rejects with ConfigurationError; a line that is not JSON with ValidationError naming
 * the file and the line.
 *
 * @example
 * const report = await importLedger(conn, readLedgerFile('ledger.jsonl'));
 */
export async function* readLedgerFile(path: string): AsyncGenerator<LedgerEntry> {
  const input = createReadStream(path, { encoding: 'utf8' });
  // Opened before the first line is asked for, so a missing file is a clear error up front.
  await once(input, 'open').catch((error: NodeJS.ErrnoException) => {
    throw new ConfigurationError(`cannot read ledger file ${path}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`, { cause: error });
  });
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let number = 0;
  for await (const line of lines) {
    number += 1;
    if (!line.trim()) continue;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch (error) {
      throw new ValidationError(`${path}, line ${number}: not JSON (${(error as Error).message})`, `line ${number}`, { cause: error });
    }
    yield entry as LedgerEntry;
  }
}

/**
 * Writes entries as JSON Lines to a stream, waiting whenever the stream asks to (so memory
 * stays flat however fast the entries come); resolves to the number of lines written.
 *
 * @example
 * await writeLedgerLines(process.stdout, exportLedger(conn));
 */
export async function writeLedgerLines(out: Writable, entries: AsyncIterable<LedgerEntry>): Promise<number> {
  let count = 0;
  for await (const entry of entries) {
    if (!out.write(`${JSON.stringify({ table: entry.table, record: entry.record })}\n`)) await once(out, 'drain');
    count += 1;
  }
  return count;
}

/**
 * Writes entries to a ledger file. The lines go to `<path>.partial`, renamed to `path` once
 * the last is written, so an export cut short never leaves a file that looks complete.
 *
 * @example
 * const lines = await writeLedgerFile('ledger.jsonl', exportLedger(conn));
 */
export async function writeLedgerFile(path: string, entries: AsyncIterable<LedgerEntry>): Promise<number> {
  const partial = `${path}.partial`;
  const out = createWriteStream(partial, { encoding: 'utf8' });
  try {
    const count = await writeLedgerLines(out, entries);
    out.end();
    await once(out, 'finish');
    await rename(partial, path);
    return count;
  } catch (error) {
    out.destroy();
    await rm(partial, { force: true });
    throw error;
  }
}
