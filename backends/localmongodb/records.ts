/**
 * How records are laid out as documents, one collection per public table (same names).
 *
 * A transaction is kept whole, as written, under `body`, next to the fields the lookups need
 * (`id`, `asset_id`) and an `_id`. Nesting it (rather than adding internal fields beside its
 * own) keeps what was written apart from what chainstore adds, whatever the transaction
 * holds: a read returns `body`, never a field chainstore put there. The other records are
 * stored in their public shape plus `_id`, which every read leaves out.
 *
 * `_id` is an ObjectId made here, before the first try: ObjectIds made by one process
 * increase, so `_id` order is write order (getTxidsFiltered's "most recent"), and a retried
 * insert can recognise its own earlier try (see writes.ts).
 */
import { type Asset, type Block, type Metadata, type Transaction, assetIdOf } from '../../lib/model';
import type { TableName } from '../../lib/tables';
import { type Document, ObjectId } from './driver';

/**
 * A stored transaction.
 *
 * @example
 * const doc: TransactionDocument = transactionDocument(tx);   // { _id, id: tx.id, asset_id, body: tx }
 */
export interface TransactionDocument {
  _id: ObjectId;
  id: string;
  /** The asset the transaction creates or moves (its own id for a CREATE). */
  asset_id: string;
  body: Transaction;
}

/**
 * A stored asset: its public shape plus `_id`.
 *
 * @example
 * const doc: AssetDocument = { _id: new ObjectId(), id, data: { serial: 'X-1' } };
 */
export interface AssetDocument extends Asset {
  _id: ObjectId;
}

/**
 * A stored metadata record: its public shape plus `_id`.
 *
 * @example
 * const doc: MetadataDocument = { _id: new ObjectId(), id, metadata: { note: 'hi' } };
 */
export interface MetadataDocument extends Metadata {
  _id: ObjectId;
}

/**
 * A stored block: its public shape plus `_id`.
 *
 * @example
 * const doc: BlockDocument = blockDocument({ height: 1, app_hash: 'ab', transactions: [] });
 */
export interface BlockDocument extends Block {
  _id: ObjectId;
}

/**
 * The `_id` of the single pre-commit record (being the `_id`, it is unique by nature).
 *
 * @example
 * await db.collection('pre_commit').findOne({ _id: PRE_COMMIT_ID });
 */
export const PRE_COMMIT_ID = 'pre_commit';

/**
 * The document a transaction is stored as.
 *
 * @example
 * await db.collection('transactions').insertMany(txs.map(transactionDocument));
 */
export function transactionDocument(tx: Transaction): TransactionDocument {
  return { _id: new ObjectId(), id: tx.id, asset_id: assetIdOf(tx), body: tx };
}

/**
 * The document an asset is stored as.
 *
 * @example
 * assetDocument({ id, data: { serial: 'X-1' } });   // { _id, id, data: { serial: 'X-1' } }
 */
export function assetDocument(asset: Asset): AssetDocument {
  return { _id: new ObjectId(), id: asset.id, data: asset.data };
}

/**
 * The document a metadata record is stored as.
 *
 * @example
 * metadataDocument({ id, metadata: { note: 'hi' } });   // { _id, id, metadata: { note: 'hi' } }
 */
export function metadataDocument(record: Metadata): MetadataDocument {
  return { _id: new ObjectId(), id: record.id, metadata: record.metadata };
}

/**
 * The document a block is stored as.
 *
 * @example
 * await db.collection('blocks').insertOne(blockDocument(block));
 */
export function blockDocument(block: Block): BlockDocument {
  return { _id: new ObjectId(), height: block.height, app_hash: block.app_hash, transactions: block.transactions };
}

/**
 * The projection that reads a table's public record and nothing of chainstore's.
 *
 * @example
 * await db.collection('blocks').findOne({ height }, { projection: RECORD_PROJECTION.blocks });
 */
export const RECORD_PROJECTION: Readonly<Record<TableName, Document>> = Object.freeze({
  transactions: { _id: 0, body: 1 },
  assets: { _id: 0 },
  metadata: { _id: 0 },
  blocks: { _id: 0 },
  utxos: { _id: 0 },
  pre_commit: { _id: 0 },
  validators: { _id: 0 },
  elections: { _id: 0 },
  abci_chains: { _id: 0 },
});

/**
 * The public record of a stored document of `table` (a whole document, as a change stream
 * gives it, or one read with {@link RECORD_PROJECTION}).
 *
 * @example
 * publicRecord('transactions', { _id, id, asset_id, body: tx });   // tx
 * publicRecord('blocks', { _id, height: 1, app_hash: 'ab', transactions: [] });   // { height: 1, app_hash: 'ab', transactions: [] }
 */
export function publicRecord(table: TableName, doc: Document): unknown {
  if (table === 'transactions') return doc.body;
  const { _id, ...record } = doc;
  return record;
}
