/**
 * The sqlite change log: how changes are written to `changes` and read back as events.
 *
 * Most tables log each change with a trigger, one entry per row, holding the record. The
 * three bulk tables (transactions, assets, metadata) log their inserts differently: a write
 * appends ONE entry per run of consecutive rowids it inserted (`ref` .. `ref_to`, the rows'
 * `seq`), not one per row. Copying every stored transaction into the log made a bulk write
 * take 2.5 times as long as the same write without the log (measured in bench/); a range
 * entry costs one row per batch.
 *
 * A feed turns a range back into one event per row, in rowid order, with the record as it
 * was inserted: the row's first later UPDATE or DELETE entry (triggers still log those per
 * row, with `ref` = the row's seq, and an UPDATE keeps the record it replaced in `prior`)
 * holds that record; without one the row is unchanged and is read from its table. A range
 * is resolved in one read transaction, so a concurrent change is seen together with its
 * log entry or not at all. Rowids reused after a delete are told apart by the same rule:
 * the DELETE entry of the old row comes before the range that inserted the new one.
 *
 * Databases made by an earlier version logged inserts per row with a trigger: schema.ts
 * adds the new columns and retires those triggers (retired.ts); their entries read as before.
 */
import { ChangeFeed } from '../../lib/changefeed';
import { OperationError } from '../../lib/errors';
import { LOG_IDENTITY } from '../sql/changefeed';
import type { TableName } from '../../lib/tables';
import type { SqliteConnection } from './connection';
import { retiredTrigger } from './retired';

/** Operation bits, as stored in `changes.op`: ChangeFeed's own. */
const { INSERT, DELETE, UPDATE } = ChangeFeed;

/** The tables whose inserts are logged by range. */
export const RANGED_TABLES = ['transactions', 'assets', 'metadata'] as const;
export type RangedTable = (typeof RANGED_TABLES)[number];

const isRanged = (table: string): table is RangedTable => (RANGED_TABLES as readonly string[]).includes(table);

/** How a row of each logged table is turned into its public record (JSON), in SQL. */
export const RECORD_OF: Record<TableName, (row: string) => string> = {
  // The body is already the transaction's JSON text: stored as is, not parsed again.
  transactions: (r) => `${r}.body`,
  assets: (r) => `json_object('id', ${r}.id, 'data', json(${r}.data))`,
  metadata: (r) => `json_object('id', ${r}.id, 'metadata', json(${r}.metadata))`,
  blocks: (r) => `json_object('height', ${r}.height, 'app_hash', ${r}.app_hash, 'transactions', json(${r}.transactions))`,
  utxos: (r) =>
    `json_object('transaction_id', ${r}.transaction_id, 'output_index', ${r}.output_index, 'amount', ${r}.amount, ` +
    `'asset_id', ${r}.asset_id, 'condition_uri', ${r}.condition_uri)`,
  pre_commit: (r) => `json_object('height', ${r}.height, 'transactions', json(${r}.transactions))`,
  validators: (r) => `json_object('height', ${r}.height, 'validators', json(${r}.validators))`,
  elections: (r) =>
    `json_object('election_id', ${r}.election_id, 'height', ${r}.height, 'is_concluded', json(CASE WHEN ${r}.is_concluded THEN 'true' ELSE 'false' END))`,
  abci_chains: (r) =>
    `json_object('height', ${r}.height, 'chain_id', ${r}.chain_id, 'is_synced', json(CASE WHEN ${r}.is_synced THEN 'true' ELSE 'false' END))`,
};

/**
 * The change-log triggers of `table` (DROP + CREATE, so an upgraded database gets the
 * current bodies). Ranged tables log no inserts here and name the row in `ref`.
 */
export function changeLogTriggers(table: TableName): string {
  const record = RECORD_OF[table];
  const name = (event: string) => `${table}_log_${event}`;
  const trigger = (event: string, columns: string, values: string) => `
    DROP TRIGGER IF EXISTS ${name(event.toLowerCase())};
    CREATE TRIGGER ${name(event.toLowerCase())} AFTER ${event} ON ${table} BEGIN
      INSERT INTO changes (tbl, op, record${columns}) VALUES ('${table}', ${values});
    END;`;
  if (!isRanged(table)) {
    return (
      trigger('INSERT', '', `${INSERT}, ${record('NEW')}`) +
      trigger('DELETE', '', `${DELETE}, ${record('OLD')}`) +
      trigger('UPDATE', '', `${UPDATE}, ${record('NEW')}`)
    );
  }
  return (
    retiredTrigger(name('insert')) +
    trigger('DELETE', ', ref', `${DELETE}, ${record('OLD')}, OLD.seq`) +
    trigger('UPDATE', ', ref, prior', `${UPDATE}, ${record('NEW')}, OLD.seq, ${record('OLD')}`)
  );
}

/** The log's random identity (see LOG_IDENTITY in ../sql/changefeed.ts), made with the log. */
export const LOG_IDENTITY_SQL = `
  CREATE TABLE IF NOT EXISTS change_log_identity (id TEXT NOT NULL);
  INSERT INTO change_log_identity (id) SELECT lower(hex(randomblob(16))) WHERE NOT EXISTS (SELECT 1 FROM change_log_identity);`;

/** The log's id now (see {@link LOG_IDENTITY_SQL}), for ChangeLogFeed.checkSameLog. */
export function logIdentity(conn: SqliteConnection): unknown {
  return conn.statement(`SELECT ${LOG_IDENTITY} AS id`).pluck().get();
}

/** The columns a range needs, for databases made before ranges (added by schema.ts). */
export const RANGE_COLUMNS = { ref: 'INTEGER', ref_to: 'INTEGER', prior: 'TEXT' } as const;

/** Finds a row's first UPDATE or DELETE entry after a range (the condition matches the index's). */
export const CHANGE_REF_INDEX = `CREATE INDEX IF NOT EXISTS changes_ref ON changes (tbl, ref, seq) WHERE ref IS NOT NULL AND op <> ${INSERT}`;

const APPEND_RANGE = `INSERT INTO changes (tbl, op, record, ref, ref_to) VALUES (?, ${INSERT}, '', ?, ?)`;

/**
 * Collects the rowids one write inserts into the ranged tables and logs them as ranges.
 * Used inside the write's transaction; {@link InsertLog.flush} before it commits.
 *
 * @example
 * const log = new InsertLog(conn);
 * log.inserted('transactions', insertTx.run(...).lastInsertRowid);
 * log.flush();
 */
export class InsertLog {
  readonly #open = new Map<RangedTable, { from: number; to: number }>();

  constructor(private readonly conn: SqliteConnection) {}

  /** Notes a row inserted into `table`. */
  inserted(table: RangedTable, rowid: number | bigint): void {
    const seq = Number(rowid);
    const run = this.#open.get(table);
    if (run && seq === run.to + 1) {
      run.to = seq;
      return;
    }
    this.flush(table);
    this.#open.set(table, { from: seq, to: seq });
  }

  /**
   * Logs the pending inserts of `table` (all tables without one). Called before a row of
   * that table is updated, so its events keep the order of the writes.
   */
  flush(table?: RangedTable): void {
    for (const [name, run] of this.#open) {
      if (table !== undefined && name !== table) continue;
      this.conn.statement(APPEND_RANGE).run(name, run.from, run.to);
      this.#open.delete(name);
    }
  }
}

/**
 * The records inserted by rows `from`..`to` of a range logged at `seq`, in rowid order, as
 * JSON text. Every row resolves while the range entry is kept (later entries outlive it);
 * one that does not means the log is not what this code wrote, and fails loudly.
 *
 * @example
 * resolveRange(conn, 'transactions', 42, 1001, 2000);   // ['{"id":...}', ...]
 */
export function resolveRange(conn: SqliteConnection, table: RangedTable, seq: number, from: number, to: number): string[] {
  const rows = conn.statement(resolveSql(table)).all({ from, to, seq }) as { ref: number; record: string | null }[];
  return rows.map(({ ref, record }) => {
    if (record === null) throw new OperationError(conn.backend, `change log: row ${ref} of ${table}, logged by entry ${seq}, is neither stored nor changed since`);
    return record;
  });
}

const resolveSql = (table: RangedTable) => `
  WITH RECURSIVE refs(ref) AS (SELECT @from UNION ALL SELECT ref + 1 FROM refs WHERE ref < @to)
  SELECT COALESCE(
    (SELECT CASE c.op WHEN ${UPDATE} THEN c.prior ELSE c.record END FROM changes c
      WHERE c.tbl = '${table}' AND c.ref = refs.ref AND c.ref IS NOT NULL AND c.op <> ${INSERT} AND c.seq > @seq
      ORDER BY c.seq LIMIT 1),
    (SELECT ${RECORD_OF[table]('t')} FROM ${table} t WHERE t.seq = refs.ref)) AS record, ref
  FROM refs`;
