/**
 * SQL texts the SQL family runs on every engine, named once so that an engine's own
 * code paths (such as SQLite's synchronous commit) use the very same statements.
 */

export const INSERT_BLOCK = 'INSERT INTO blocks (height, app_hash, transactions) VALUES (?, ?, ?)';

export const UPSERT_PRE_COMMIT =
  'INSERT INTO pre_commit (id, height, transactions) VALUES (1, ?, ?) ' +
  'ON CONFLICT (id) DO UPDATE SET height = excluded.height, transactions = excluded.transactions';

export const UPSERT_VALIDATOR_SET =
  'INSERT INTO validators (height, validators) VALUES (?, ?) ON CONFLICT (height) DO UPDATE SET validators = excluded.validators';

export const UPSERT_ELECTION =
  'INSERT INTO elections (election_id, height, is_concluded) VALUES (?, ?, ?) ' +
  'ON CONFLICT (election_id, height) DO UPDATE SET is_concluded = excluded.is_concluded';

export const UPSERT_ABCI_CHAIN =
  'INSERT INTO abci_chains (height, chain_id, is_synced) VALUES (?, ?, ?) ' +
  'ON CONFLICT (height) DO UPDATE SET chain_id = excluded.chain_id, is_synced = excluded.is_synced';

export const UPSERT_UTXO =
  'INSERT INTO utxos (transaction_id, output_index, amount, asset_id, condition_uri) VALUES (?, ?, ?, ?, ?) ' +
  'ON CONFLICT (transaction_id, output_index) DO UPDATE ' +
  'SET amount = excluded.amount, asset_id = excluded.asset_id, condition_uri = excluded.condition_uri';

export const DELETE_UTXO = 'DELETE FROM utxos WHERE transaction_id = ? AND output_index = ?';

/** Columns of a UTXO, from table alias `u`. */
export const UTXO_COLUMNS = 'u.transaction_id, u.output_index, u.amount, u.asset_id, u.condition_uri';

/**
 * Drops the change events older than the newest `?` (a connection's changeLogRetention).
 * Housekeeping: engines run it every {@link PRUNE_EVERY_WRITES} writes and ignore its failure.
 */
export const PRUNE_CHANGE_LOG = 'DELETE FROM changes WHERE seq <= (SELECT MAX(seq) FROM changes) - ?';

/** Writes between two prunings of the change log. */
export const PRUNE_EVERY_WRITES = 1000;
