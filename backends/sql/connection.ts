/**
 * The SQL family: what SQLite and PostgreSQL share. Both keep the same tables with the
 * same columns, so most reads and the small state writes are one SQL text run by either
 * engine. A family connection only has to say how it runs a statement and how the few
 * dialect differences are spelled; the handlers in this folder, registered for
 * {@link SqlConnection}, serve both engines through dispatch inheritance.
 *
 * SQL in this family uses `?` placeholders; an engine that numbers them (`$1`) rewrites.
 */
import { Connection } from '../../lib/connection';

/** A row as the driver returns it. */
export type Row = Record<string, unknown>;

/**
 * How the side tables (`outputs`, `spends`) name their transaction: `side` is their column,
 * `column` the one of `transactions` it matches.
 */
export interface TransactionLink {
  readonly side: string;
  readonly column: string;
}

/** The family's layout: side rows name their transaction by id. */
const BY_ID: TransactionLink = { side: 'transaction_id', column: 'id' };

/**
 * Base class of the SQL engines' connections.
 *
 * @example
 * class MyEngineConnection extends SqlConnection { ... }   // inherits every family handler
 */
export abstract class SqlConnection extends Connection {
  /**
   * The rows of a query. `what` names the operation for error messages; `signal` stops
   * retries on a lost connection (a feed being closed).
   *
   * @example
   * const rows = await conn.rows('get block', 'SELECT * FROM blocks WHERE height = ?', [1]);
   */
  abstract rows<R = Row>(what: string, sql: string, params?: readonly unknown[], signal?: AbortSignal): Promise<R[]>;

  /**
   * Runs a statement that returns no rows (one statement: atomic on its own).
   *
   * @example
   * await conn.run('delete abci chain', 'DELETE FROM abci_chains WHERE height = ?', [3]);
   */
  abstract run(what: string, sql: string, params?: readonly unknown[]): Promise<void>;

  /**
   * SQL testing `column` against a list of keys passed as one parameter (one `?`), so a
   * statement stays the same, and prepared, whatever the list's length.
   *
   * @example
   * conn.inList('id');   // sqlite: "id IN (SELECT value FROM json_each(?))"; postgres: "id = ANY(?)"
   */
  abstract inList(column: string): string;

  /** The parameter for {@link SqlConnection.inList}. */
  abstract listParam(values: readonly unknown[]): unknown;

  /** A JSON column's value, as JavaScript (SQLite returns text, PostgreSQL parsed jsonb). */
  abstract fromJson(value: unknown): unknown;

  /** The parameter for a JSON column. */
  abstract toJson(value: unknown): string;

  /**
   * How the family's lookups through `outputs` and `spends` reach a transaction. By id,
   * unless an engine's side rows also keep the transaction's row number: reaching the row by
   * it skips a search of the id index, one page read fewer per result on a large ledger.
   *
   * @example
   * conn.transactionLink;   // postgres: { side: 'transaction_id', column: 'id' }; sqlite: { side: 'tx_seq', column: 'seq' }
   */
  get transactionLink(): TransactionLink {
    return BY_ID;
  }
}

/** A boolean column's value: SQLite stores 0 and 1, PostgreSQL true and false. */
export const bool = (value: unknown): boolean => value === true || value === 1 || value === '1' || value === 't';
