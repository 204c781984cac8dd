/**
 * Reading a whole ledger: every record of every table, table after table, page after page
 * of `query.listRecords`, so a ledger of any size streams in constant memory.
 */
import type { Connection } from './connection';
import { LedgerDigest, type LedgerDigestReport } from './digest';
import { ValidationError } from './errors';
import { DEFAULT_PAGE_SIZE, type LedgerEntry, type RecordPage } from './pages';
import { listRecords } from './query';
import { TABLES, type TableName, isTableName } from './tables';

/**
 * Options of {@link exportLedger}.
 *
 * @example
 * exportLedger(conn, { tables: ['blocks'], pageSize: 5000 });
 */
export interface ExportOptions {
  /** The tables to read, in this order. Default: every table, in the order of `TABLES`. */
  tables?: readonly TableName[];
  /** Records read per query. Default 1000. */
  pageSize?: number;
}

/**
 * Every record of the ledger as `{ table, record }` entries: the tables in the order of
 * `TABLES` (transactions first, so an import stores each transaction before the records that
 * refer to it), transactions in write order. Records written while it runs may or may not be
 * included; export a ledger no node is writing to for an exact copy.
 *
 * @example
 * import { createWriteStream } from 'node:fs';
 * const out = createWriteStream('ledger.jsonl');
 * for await (const entry of exportLedger(conn)) out.write(`${JSON.stringify(entry)}\n`);
 */
export async function* exportLedger(conn: Connection, options: ExportOptions = {}): AsyncGenerator<LedgerEntry> {
  const tables = options.tables ?? TABLES;
  const bad = tables.find((table) => !isTableName(table));
  if (bad !== undefined) throw new ValidationError(`invalid options.tables: ${JSON.stringify(bad)} is not one of ${TABLES.join(', ')}`, 'options.tables');
  const limit = options.pageSize ?? DEFAULT_PAGE_SIZE;
  for (const table of tables) {
    let after: string | null = null;
    do {
      const page: RecordPage = await listRecords(conn, table, { after, limit });
      for (const record of page.records) yield { table, record } as LedgerEntry;
      after = page.next;
    } while (after);
  }
}

/**
 * The checksum of every table of the ledger (see lib/digest.ts), read with {@link exportLedger}.
 *
 * @example
 * const [source, target] = await Promise.all([digestLedger(from), digestLedger(to)]);
 * if (compareDigests(source, target).length) throw new Error('the copy differs');
 */
export async function digestLedger(conn: Connection, options: ExportOptions = {}): Promise<LedgerDigestReport> {
  const digest = new LedgerDigest();
  for await (const entry of exportLedger(conn, options)) digest.add(entry);
  return digest.report();
}
