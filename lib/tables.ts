/**
 * The tables (collections) every backend keeps, by their public names. Changefeeds,
 * `status` and `countRecords` speak of tables by these names on every engine.
 *
 * @example
 * const counts = await admin.countRecords(conn);
 * for (const table of TABLES) console.log(table, counts[table]);
 */
export const TABLES = [
  'transactions',
  'assets',
  'metadata',
  'blocks',
  'utxos',
  'pre_commit',
  'validators',
  'elections',
  'abci_chains',
] as const;

/**
 * A table's public name.
 *
 * @example
 * const table: TableName = 'utxos';
 * const feed = await changefeed.getChangefeed(conn, table, ChangeFeed.ALL);
 */
export type TableName = (typeof TABLES)[number];

/**
 * True if `name` is one of {@link TABLES}.
 *
 * @example
 * isTableName('blocks');   // true
 * isTableName('block');    // false
 */
export function isTableName(name: unknown): name is TableName {
  return typeof name === 'string' && (TABLES as readonly string[]).includes(name);
}
