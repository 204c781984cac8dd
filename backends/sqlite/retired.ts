/**
 * Trigger names an earlier version used, kept taken. An earlier version's `initDatabase`
 * (a process not yet upgraded, sharing the file) creates its triggers with
 * `CREATE TRIGGER IF NOT EXISTS`: were the names free, it would put back per-row triggers
 * that log every insert a second time, or index search text twice. A placeholder of the
 * same name on a table nothing writes makes that statement do nothing, and costs no write
 * anything.
 */

/** The table the placeholders hang on; never written. */
export const RETIRED_TABLE = 'retired_trigger_names';

export const RETIRED_TABLE_SQL = `CREATE TABLE IF NOT EXISTS ${RETIRED_TABLE} (unused INTEGER);`;

/**
 * SQL replacing trigger `name` (whatever it was) by an inert placeholder. Idempotent.
 *
 * @example
 * db.exec(retiredTrigger('transactions_log_insert'));
 */
export function retiredTrigger(name: string): string {
  return `
    DROP TRIGGER IF EXISTS ${name};
    CREATE TRIGGER ${name} AFTER INSERT ON ${RETIRED_TABLE} BEGIN SELECT 1; END;`;
}
