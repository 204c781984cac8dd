/**
 * A checksum of a ledger, table by table: how an export, an import or a migration proves that
 * both sides hold the same records.
 *
 * Each table has a count and a SHA-256 digest of its records' canonical JSON (lib/canonical.ts,
 * so the key order an engine returns does not matter). For `transactions` the digest is of the
 * records in the order `listRecords` reads them, their write order: a copy that kept every
 * transaction but not their order (which `getTxidsFiltered` and `lastTx` answer by) does not
 * match. The other tables are read in an order each engine chooses (its key's, or write order),
 * so their digest is order-free: the sum, modulo 2^256, of each record's SHA-256.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical';
import type { LedgerEntry } from './pages';
import { TABLES, type TableName } from './tables';

/**
 * One table's checksum.
 *
 * @example
 * const { count, sha256 } = digest.transactions;
 */
export interface TableDigest {
  count: number;
  /** 64 hex characters. */
  sha256: string;
}

/**
 * Every table's checksum, by table.
 *
 * @example
 * const digest: LedgerDigestReport = await digestLedger(conn);
 * console.log(digest.blocks.count);
 */
export type LedgerDigestReport = Record<TableName, TableDigest>;

const MODULUS = 1n << 256n;

/**
 * Builds a {@link LedgerDigestReport} from entries fed one at a time, in constant memory.
 *
 * @example
 * const digest = new LedgerDigest();
 * for await (const entry of exportLedger(conn)) digest.add(entry);
 * console.log(digest.report().transactions.sha256);
 */
export class LedgerDigest {
  readonly #counts = new Map<TableName, number>();
  readonly #ordered = createHash('sha256');
  readonly #sums = new Map<TableName, bigint>();

  /** Adds one record (of `transactions` in write order; of the other tables in any order). */
  add(entry: LedgerEntry): void {
    const text = canonicalJson(entry.record);
    this.#counts.set(entry.table, (this.#counts.get(entry.table) ?? 0) + 1);
    if (entry.table === 'transactions') {
      this.#ordered.update(text).update('\n');
      return;
    }
    const hash = BigInt(`0x${createHash('sha256').update(text).digest('hex')}`);
    this.#sums.set(entry.table, ((this.#sums.get(entry.table) ?? 0n) + hash) % MODULUS);
  }

  /** The checksums so far, every table listed (empty ones with count 0). */
  report(): LedgerDigestReport {
    const ordered = this.#ordered.copy().digest('hex');
    return Object.fromEntries(
      TABLES.map((table) => [
        table,
        {
          count: this.#counts.get(table) ?? 0,
          sha256: table === 'transactions' ? ordered : (this.#sums.get(table) ?? 0n).toString(16).padStart(64, '0'),
        },
      ]),
    ) as LedgerDigestReport;
  }
}

/**
 * The tables whose counts or checksums differ between two reports (empty when they match).
 *
 * @example
 * const differing = compareDigests(source, target);   // [] or e.g. ['utxos']
 */
export function compareDigests(a: LedgerDigestReport, b: LedgerDigestReport): TableName[] {
  return TABLES.filter((table) => a[table].count !== b[table].count || a[table].sha256 !== b[table].sha256);
}
