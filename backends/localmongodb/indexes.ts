/**
 * The indexes of every collection, exactly as `createIndexes` receives them: the unique keys
 * of docs/design.md section 5, one index per lookup, and the text indexes that `textSearch` uses.
 * Every index is named, so creating them again is a no-op, and a later version can tell
 * its own indexes apart.
 */
import type { TableName } from '../../lib/tables';
import type { IndexDescription } from './driver';

/**
 * The field a text index reads a document's language from. MongoDB's default, `language`,
 * is a plausible key of asset data, and an unknown language there makes the insert fail
 * (BigchainDB had to refuse such assets); this name is chainstore's own.
 *
 * @example
 * INDEXES.assets[1].language_override;   // TEXT_LANGUAGE_FIELD
 */
export const TEXT_LANGUAGE_FIELD = '_chainstore_text_language';

/**
 * The language the text indexes stem with; `textSearch` narrows to exact words for `'none'`.
 *
 * @example
 * INDEXES.metadata[1].default_language;   // 'english'
 */
export const TEXT_LANGUAGE = 'english';

/** A wildcard text index: every string of the document, stemmed in English. */
const textIndex: IndexDescription = {
  key: { '$**': 'text' },
  name: 'text',
  default_language: TEXT_LANGUAGE,
  language_override: TEXT_LANGUAGE_FIELD,
};

const unique = (key: Record<string, 1>, name: string): IndexDescription => ({ key, name, unique: true });
const lookup = (key: Record<string, 1>, name: string): IndexDescription => ({ key, name });

/**
 * The indexes of each collection.
 *
 * @example
 * await db.collection('blocks').createIndexes([...INDEXES.blocks]);
 */
export const INDEXES: Readonly<Record<TableName, readonly IndexDescription[]>> = Object.freeze({
  transactions: [
    unique({ id: 1 }, 'id_unique'),
    // getTxidsFiltered: the transactions of an asset, in write order.
    lookup({ asset_id: 1, _id: 1 }, 'asset_id'),
    // getOwnedIds, getAssetTokensForPublicKey, getUnspentOutputs by public_key.
    lookup({ 'body.outputs.public_keys': 1 }, 'outputs_public_keys'),
    // getSpent, getSpendingTransactions: both fields of one input (one array), so pairs are exact.
    lookup({ 'body.inputs.fulfills.transaction_id': 1, 'body.inputs.fulfills.output_index': 1 }, 'inputs_fulfills'),
  ],
  assets: [unique({ id: 1 }, 'id_unique'), textIndex],
  metadata: [unique({ id: 1 }, 'id_unique'), textIndex],
  blocks: [unique({ height: 1 }, 'height_unique'), lookup({ transactions: 1 }, 'transactions')],
  utxos: [unique({ transaction_id: 1, output_index: 1 }, 'output_unique'), lookup({ asset_id: 1 }, 'asset_id')],
  // The single record has the fixed _id PRE_COMMIT_ID: the _id index keeps it single.
  pre_commit: [],
  validators: [unique({ height: 1 }, 'height_unique')],
  elections: [unique({ election_id: 1, height: 1 }, 'election_unique'), lookup({ height: 1 }, 'height')],
  // Chain ids are unique, as in BigchainDB.
  abci_chains: [unique({ height: 1 }, 'height_unique'), unique({ chain_id: 1 }, 'chain_id_unique')],
});
