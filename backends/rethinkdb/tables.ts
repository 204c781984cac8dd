/**
 * The tables of the rethinkdb backend: primary keys, secondary indexes, and how a stored
 * document becomes the public record.
 *
 * RethinkDB has no unique secondary indexes, so every uniqueness rule of the contract is a
 * primary key: transactions, assets and metadata by `id`, blocks, validator sets and ABCI
 * chains by `height`, the pre-commit record by a constant id, a UTXO by
 * `"<transaction_id>:<output_index>"`, an election by a digest of (election_id, height) (an
 * election id may be any string, and primary keys are limited to 127 characters).
 *
 * Every document carries `seq`: `[number of the write that stored it, index in its batch]`,
 * the order documents were written in (the number comes from the table's change-log counter,
 * see changelog.ts); one replaced by an upsert also keeps `prev_seq`, the stamp it replaced
 * (how a feed tells an UPDATE from an INSERT when it reads a cut write from the state). A
 * transaction is stored whole under `body`, next to the fields its lookups are indexed on,
 * so nothing a user writes can collide with a field of ours.
 */
import { type RDatum, type RValue, r } from 'rethinkdb-ts';
import { TABLES } from '../../lib/tables';

/**
 * The change log (see changelog.ts): kept by the backend, not a public table.
 *
 * @example
 * table(db, CHANGES_TABLE).count();
 */
export const CHANGES_TABLE = 'changes';

/**
 * Every table the backend keeps: the public ones and the change log.
 *
 * @example
 * STORED_TABLES.includes('changes');   // true
 */
export const STORED_TABLES = [...TABLES, CHANGES_TABLE] as const;

/**
 * A table the backend keeps.
 *
 * @example
 * const table: StoredTable = 'changes';
 */
export type StoredTable = (typeof STORED_TABLES)[number];

/**
 * A secondary index: its name, the function computing its key(s) from a document, and
 * whether it is a multi index (one entry per element of the array the function returns).
 *
 * @example
 * const byAsset: IndexDefinition = { name: 'asset_id', key: (row) => row('asset_id') };
 */
export interface IndexDefinition {
  name: string;
  key: (row: RDatum) => RValue;
  multi?: boolean;
}

/**
 * One table: primary key, secondary indexes, and the public record of a stored document.
 *
 * @example
 * TABLE_DEFINITIONS.blocks.primaryKey;   // 'height'
 */
export interface TableDefinition {
  primaryKey: string;
  indexes: readonly IndexDefinition[];
  /** The public record a stored document stands for (a ReQL expression). */
  record: (doc: RDatum) => RValue;
}

/**
 * A document's place in write order: `[1, seq]` for a numbered stamp (`[number, index]`),
 * `[0, seq]` for a stamp of an earlier version of this backend (`[time, writer, n]`). ReQL
 * sorts numbers before times, so without the leading 0 a database written by both versions
 * would put its older documents last.
 *
 * @example
 * table(db, 'assets').orderBy((doc) => stampOrder(doc));
 */
export function stampOrder(doc: RDatum): RValue {
  return r.branch(doc('seq').nth(0).typeOf().eq('NUMBER'), [1, doc('seq')], [0, doc('seq')]);
}

/** `{ a: doc('a'), b: doc('b') }`: an explicit object, so a null field stays in the record. */
const fields =
  (...names: string[]) =>
  (doc: RDatum): Record<string, RDatum> =>
    Object.fromEntries(names.map((name) => [name, doc(name)]));

/**
 * The tables, by name.
 *
 * @example
 * for (const index of TABLE_DEFINITIONS.transactions.indexes) console.log(index.name, index.multi ?? false);
 */
export const TABLE_DEFINITIONS: Readonly<Record<StoredTable, TableDefinition>> = {
  transactions: {
    primaryKey: 'id',
    indexes: [
      // getTxidsFiltered: one asset's transactions in write order. (Databases made by an
      // earlier version also have `asset_seq`, [asset_id, ...seq], which is no longer used.)
      { name: 'asset_order', key: (row) => [row('asset_id'), stampOrder(row)] },
      // getOwnedIds: every public key of every output.
      { name: 'owners', key: (row) => row('owners'), multi: true },
      // getAssetTokensForPublicKey: [asset id, key] of each output owned by that key alone.
      { name: 'asset_owner', key: (row) => row('asset_owners'), multi: true },
      // getSpent, getSpendingTransactions: [transaction id, output index] of each input.
      { name: 'spends', key: (row) => row('spends'), multi: true },
      // listRecords: every transaction in write order.
      { name: 'write_order', key: (row) => stampOrder(row) },
    ],
    record: (doc) => doc('body'),
  },
  assets: { primaryKey: 'id', indexes: [], record: fields('id', 'data') },
  metadata: { primaryKey: 'id', indexes: [], record: fields('id', 'metadata') },
  blocks: {
    primaryKey: 'height',
    indexes: [{ name: 'transactions', key: (row) => row('transactions'), multi: true }],
    record: fields('height', 'app_hash', 'transactions'),
  },
  utxos: {
    primaryKey: 'id',
    indexes: [
      { name: 'transaction_id', key: (row) => row('transaction_id') },
      { name: 'asset_id', key: (row) => row('asset_id') },
    ],
    record: fields('transaction_id', 'output_index', 'amount', 'asset_id', 'condition_uri'),
  },
  pre_commit: { primaryKey: 'id', indexes: [], record: fields('height', 'transactions') },
  validators: { primaryKey: 'height', indexes: [], record: fields('height', 'validators') },
  elections: {
    primaryKey: 'id',
    indexes: [
      // getElection: one election's records by height.
      { name: 'election_height', key: (row) => [row('election_id'), row('height')] },
      // deleteElections: every record at a height.
      { name: 'height', key: (row) => row('height') },
    ],
    record: fields('election_id', 'height', 'is_concluded'),
  },
  abci_chains: {
    primaryKey: 'height',
    // storeAbciChain: chain ids are unique (checked before the write: RethinkDB has no unique secondary index).
    indexes: [{ name: 'chain_id', key: (row) => row('chain_id') }],
    record: fields('height', 'chain_id', 'is_synced'),
  },
  [CHANGES_TABLE]: {
    primaryKey: 'id',
    indexes: [
      // Feeds read one table's entries in number order (counters and watermarks have no
      // `tbl`: not indexed).
      { name: 'tbl_seq', key: (row) => [row('tbl'), row('seq')] },
      // Feeds find the writes still in progress when they start.
      { name: 'tbl_state', key: (row) => [row('tbl'), row('state')] },
      // Pruning finds old entries.
      { name: 'at', key: (row) => row('at') },
    ],
    record: (doc) => doc,
  },
};

/**
 * A table of the configured database.
 *
 * @example
 * table('ledger', 'blocks').get(1);   // r.db('ledger').table('blocks').get(1)
 */
export function table(db: string, name: StoredTable) {
  return r.db(db).table(name);
}

/**
 * The public record of a stored document of `name`, as a ReQL expression.
 *
 * @example
 * table(db, 'assets').get(id).do((doc) => publicRecord('assets', doc));   // { id, data }
 */
export function publicRecord(name: StoredTable, doc: RDatum): RValue {
  return TABLE_DEFINITIONS[name].record(doc);
}
