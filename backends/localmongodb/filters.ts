/**
 * Every filter, sort and pipeline document the backend sends, built by pure functions, so
 * each can be read and checked without a server.
 *
 * User strings only ever appear as values compared for equality (never as field names, and
 * never in an aggregation expression where a leading `$` would name a field), so a string
 * shaped like an operator (`{"$gt": ""}`) is data.
 */
import { ChangeFeed } from '../../lib/changefeed';
import { type OutputRef, type Transaction, ownersOf } from '../../lib/model';
import type { UtxoFilter } from '../../lib/query';
import type { ParsedSearch } from '../../lib/search';
import type { ChangeStreamOptions, Document, ResumeToken, Timestamp } from './driver';

/**
 * Documents whose `field` is one of `values`.
 *
 * @example
 * keyIn('id', [a, b]);   // { id: { $in: [a, b] } }
 */
export function keyIn(field: string, values: readonly (string | number)[]): Document {
  return { [field]: { $in: [...values] } };
}

/**
 * The transactions of an asset (the CREATE that made it and the TRANSFERs of it).
 *
 * @example
 * txidsFilter(assetId, 'TRANSFER');   // { asset_id: assetId, 'body.operation': 'TRANSFER' }
 */
export function txidsFilter(assetId: string, operation?: string): Document {
  return operation === undefined ? { asset_id: assetId } : { asset_id: assetId, 'body.operation': operation };
}

/**
 * Write order (oldest first), or newest first.
 *
 * @example
 * writeOrder(true);   // { _id: -1 }
 */
export function writeOrder(newestFirst = false): Document {
  return { _id: newestFirst ? -1 : 1 };
}

/**
 * Transactions with an input that fulfils output `outputIndex` of `txid`: both fields of
 * the same input, hence $elemMatch.
 *
 * @example
 * spentFilter(txid, 0);   // { 'body.inputs': { $elemMatch: { 'fulfills.transaction_id': txid, 'fulfills.output_index': 0 } } }
 */
export function spentFilter(txid: string, outputIndex: number): Document {
  return { 'body.inputs': { $elemMatch: { 'fulfills.transaction_id': txid, 'fulfills.output_index': outputIndex } } };
}

/** Output indexes by transaction id, in first-seen order, each index once. */
function groupRefs(refs: readonly OutputRef[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  for (const { transaction_id, output_index } of refs) {
    const indexes = groups.get(transaction_id);
    if (!indexes) groups.set(transaction_id, [output_index]);
    else if (!indexes.includes(output_index)) indexes.push(output_index);
  }
  return groups;
}

/**
 * Transactions spending any of `refs`. Refs are grouped by transaction id, and each group
 * names its own indexes: exact pairs, never the cross product of ids and indexes.
 *
 * @example
 * spendingFilter([{ transaction_id: a, output_index: 0 }, { transaction_id: a, output_index: 2 }]);
 * // { $or: [{ 'body.inputs': { $elemMatch: { 'fulfills.transaction_id': a, 'fulfills.output_index': { $in: [0, 2] } } } }] }
 */
export function spendingFilter(refs: readonly OutputRef[]): Document {
  return {
    $or: [...groupRefs(refs)].map(([txid, indexes]) => ({
      'body.inputs': { $elemMatch: { 'fulfills.transaction_id': txid, 'fulfills.output_index': { $in: indexes } } },
    })),
  };
}

/**
 * Transactions with an output whose public_keys include `publicKey`.
 *
 * @example
 * ownedFilter(alice);   // { 'body.outputs.public_keys': alice }
 */
export function ownedFilter(publicKey: string): Document {
  return { 'body.outputs.public_keys': publicKey };
}

/**
 * Transactions of an asset with an output owned by exactly `publicKey` (that key and no other).
 *
 * @example
 * assetTokensFilter(assetId, alice);
 * // { asset_id: assetId, 'body.outputs': { $elemMatch: { public_keys: { $size: 1, $all: [alice] } } } }
 */
export function assetTokensFilter(assetId: string, publicKey: string): Document {
  return { asset_id: assetId, 'body.outputs': { $elemMatch: { public_keys: { $size: 1, $all: [publicKey] } } } };
}

/**
 * UTXOs with exactly these references (grouped by transaction id, as {@link spendingFilter}).
 *
 * @example
 * utxoRefsFilter([{ transaction_id: a, output_index: 0 }, { transaction_id: b, output_index: 1 }]);
 * // { $or: [{ transaction_id: a, output_index: { $in: [0] } }, { transaction_id: b, output_index: { $in: [1] } }] }
 */
export function utxoRefsFilter(refs: readonly OutputRef[]): Document {
  return { $or: [...groupRefs(refs)].map(([txid, indexes]) => ({ transaction_id: txid, output_index: { $in: indexes } })) };
}

/**
 * The first step of `getUnspentOutputs({ public_key })`: the transactions whose outputs list
 * the key (narrowed to one transaction when the filter names it).
 *
 * @example
 * ownerTransactionsFilter({ public_key: alice, transaction_id: t });   // { 'body.outputs.public_keys': alice, id: t }
 */
export function ownerTransactionsFilter(filter: UtxoFilter & { public_key: string }): Document {
  return filter.transaction_id === undefined ? ownedFilter(filter.public_key) : { ...ownedFilter(filter.public_key), id: filter.transaction_id };
}

/**
 * The outputs of `txs` whose public_keys include `publicKey`.
 *
 * @example
 * ownedOutputs([tx], alice);   // [{ transaction_id: tx.id, output_index: 0 }, ...]
 */
export function ownedOutputs(txs: readonly Transaction[], publicKey: string): OutputRef[] {
  const refs: OutputRef[] = [];
  for (const tx of txs) {
    tx.outputs.forEach((output, index) => {
      if (ownersOf(output).includes(publicKey)) refs.push({ transaction_id: tx.id, output_index: index });
    });
  }
  return refs;
}

/**
 * The UTXO filter: `transaction_id` and `asset_id` as given; `public_key` as the outputs
 * (found by {@link ownedOutputs}) whose transaction output lists the key.
 *
 * @example
 * utxoFilter({ asset_id: a });   // { asset_id: a }
 * utxoFilter({ asset_id: a, public_key: k }, [{ transaction_id: t, output_index: 1 }]);
 * // { asset_id: a, $or: [{ transaction_id: t, output_index: { $in: [1] } }] }
 */
export function utxoFilter(filter: UtxoFilter, owned?: readonly OutputRef[]): Document {
  const query: Document = {};
  if (filter.transaction_id !== undefined) query.transaction_id = filter.transaction_id;
  if (filter.asset_id !== undefined) query.asset_id = filter.asset_id;
  if (filter.public_key !== undefined) Object.assign(query, utxoRefsFilter(owned ?? []));
  return query;
}

/**
 * The validator set in force at `height` (the latest at or below it), or the latest.
 *
 * @example
 * validatorSetFilter(7);   // { height: { $lte: 7 } }
 */
export function validatorSetFilter(height?: number): Document {
  return height === undefined ? {} : { height: { $lte: height } };
}

/**
 * Highest height first.
 *
 * @example
 * await db.collection('blocks').findOne({}, { sort: HIGHEST_FIRST });
 */
export const HIGHEST_FIRST: Readonly<Document> = Object.freeze({ height: -1 });

// ---------------------------------------------------------------------------
// Text search
// ---------------------------------------------------------------------------

/** A term the text index can match: it has a letter or a digit (the tokenizer drops the rest). */
const searchable = (term: string) => /[\p{L}\p{N}]/u.test(term);

/**
 * A word with a separator inside ("pre-market", "X-1", "e.mail"): a letter or digit, then
 * anything else, then a letter or digit. MongoDB's tokenizer splits such a word at hyphens
 * and punctuation, and reads it unquoted as its pieces, any of which matches ("pre-market"
 * finds every record with "market"; the manual: a hyphenated word is not a negation, the
 * hyphen is a delimiter), while `-pre-market` excludes every record with either piece. The
 * other backends read it as its pieces together, in order; MongoDB does that for a quoted
 * phrase (its terms, then the exact text). Quoting a word the tokenizer keeps whole (an
 * underscore inside) only skips its stemming.
 *
 * @example
 * isCompound('pre-market');   // true
 * isCompound('coffee-');      // false
 */
export function isCompound(word: string): boolean {
  return /[\p{L}\p{N}][^\p{L}\p{N}]+[\p{L}\p{N}]/u.test(word);
}

/** An exclusion: a single word as -word (stemmed, as the index finds it), anything else as -"phrase". */
const exclusion = (term: string) => (/\s/.test(term) || isCompound(term) ? `-"${term}"` : `-${term}`);

/**
 * A parsed search as MongoDB `$search` strings, one per query to run; their matches together
 * are the search's. Terms without a letter or digit can match nothing and are left out; no
 * string at all when no term can match.
 *
 * With phrases, only the phrases decide a match (as on every backend): one query with the
 * phrases quoted and the single words for ranking. Without, any word decides: one query
 * with the single words, and one per compound word, quoted (see {@link isCompound}: one
 * `$text` query cannot say "coffee, or pre and market together"). Every query carries the
 * exclusions, compound ones quoted.
 *
 * @example
 * textSearchStrings(parseSearch('coffee "fair trade" -decaf -"instant mix"'));   // ['"fair trade" coffee -decaf -"instant mix"']
 * textSearchStrings(parseSearch('coffee pre-market -e-mail'));                    // ['coffee -"e-mail"', '"pre-market" -"e-mail"']
 * textSearchStrings(parseSearch('* %'));                                         // []
 */
export function textSearchStrings({ words, phrases, excluded }: ParsedSearch): string[] {
  const exclusions = excluded.filter(searchable).map(exclusion);
  const single = words.filter((word) => searchable(word) && !isCompound(word));
  const quoted = phrases.filter(searchable).map((phrase) => `"${phrase}"`);
  const query = (positive: string[]) => [...positive, ...exclusions].join(' ');
  if (quoted.length) return [query([...quoted, ...single])];
  const compound = words.filter(isCompound).map((word) => `"${word}"`);
  return [...(single.length ? [query(single)] : []), ...compound.map((word) => query([word]))];
}

/**
 * The `$text` query, its projection and its sort (best match first, then write order: the
 * `_id` is read to merge the matches of several queries in that order).
 * `language` is the stemming language given to MongoDB; case sensitivity is MongoDB's own.
 *
 * @example
 * textSearchQuery('coffee', { field: 'data', language: 'english', caseSensitive: false });
 * // { filter: { $text: { $search: 'coffee', $language: 'english', $caseSensitive: false } },
 * //   projection: { _id: 1, id: 1, data: 1, score: { $meta: 'textScore' } }, sort: { score: { $meta: 'textScore' }, _id: 1 } }
 */
export function textSearchQuery(
  search: string,
  options: { field: 'data' | 'metadata'; language: string; caseSensitive: boolean },
): { filter: Document; projection: Document; sort: Document } {
  return {
    filter: { $text: { $search: search, $language: options.language, $caseSensitive: options.caseSensitive } },
    projection: { _id: 1, id: 1, [options.field]: 1, score: { $meta: 'textScore' } },
    sort: { score: { $meta: 'textScore' }, _id: 1 },
  };
}

// ---------------------------------------------------------------------------
// Change streams
// ---------------------------------------------------------------------------

/**
 * The change stream operation types of each bit of a feed's mask. A store that replaces a
 * record is a `replace` (chainstore's own upserts) or an `update` (another writer's).
 *
 * @example
 * OPERATION_TYPES[ChangeFeed.UPDATE];   // ['update', 'replace']
 */
export const OPERATION_TYPES: Readonly<Record<number, readonly string[]>> = Object.freeze({
  [ChangeFeed.INSERT]: ['insert'],
  [ChangeFeed.DELETE]: ['delete'],
  [ChangeFeed.UPDATE]: ['update', 'replace'],
});

/**
 * The pipeline of a feed's change stream: the operation types of its mask, and `invalidate`
 * (the collection was dropped or renamed), which the feed needs to open a stream after it.
 * Where the server can (see server.ts splitsLargeEvents), events over 16 MiB (a record near
 * the document limit with its pre-image, say) are split into fragments, which the feed joins
 * again; elsewhere such an event ends the feed with the server's BSONObjectTooLarge error.
 * The split stage must come last.
 *
 * @example
 * changeStreamPipeline(ChangeFeed.INSERT | ChangeFeed.DELETE);
 * // [{ $match: { operationType: { $in: ['insert', 'delete', 'invalidate'] } } }]
 * changeStreamPipeline(ChangeFeed.INSERT, true);
 * // [{ $match: ... }, { $changeStreamSplitLargeEvent: {} }]
 */
export function changeStreamPipeline(operations: number, splitLargeEvents = false): Document[] {
  const types: string[] = [];
  for (const bit of [ChangeFeed.INSERT, ChangeFeed.DELETE, ChangeFeed.UPDATE]) {
    if (operations & bit) types.push(...OPERATION_TYPES[bit]);
  }
  const match = { $match: { operationType: { $in: [...types, 'invalidate'] } } };
  return splitLargeEvents ? [match, { $changeStreamSplitLargeEvent: {} }] : [match];
}

/**
 * Where a change stream starts: at an operation time (inclusive), or after an event (the
 * last one delivered; `afterInvalidate` when that event ended a stream).
 *
 * @example
 * const position: StreamPosition = { token: lastEvent._id, afterInvalidate: false };
 */
export type StreamPosition = { at: Timestamp } | { token: ResumeToken; afterInvalidate: boolean };

/**
 * The options of a feed's change stream: its start, and the documents each event carries.
 * An update event carries the document as it is when the event is read (`updateLookup`:
 * MongoDB looks it up; null only when it was deleted since), which needs no collection
 * setting. A delete event carries the document as it was (`fullDocumentBeforeChange`) only
 * where the collection keeps pre-images (MongoDB 6.0+, turned on by createTables); asking
 * for it elsewhere would only ever give nothing.
 *
 * @example
 * changeStreamOptions(ChangeFeed.ALL, { at: time }, true);
 * // { startAtOperationTime: time, fullDocument: 'updateLookup', fullDocumentBeforeChange: 'whenAvailable' }
 */
export function changeStreamOptions(operations: number, position: StreamPosition, preImages: boolean): ChangeStreamOptions {
  const options: ChangeStreamOptions =
    'at' in position
      ? { startAtOperationTime: position.at }
      : position.afterInvalidate
        ? { startAfter: position.token }
        : { resumeAfter: position.token };
  if (operations & ChangeFeed.UPDATE) options.fullDocument = 'updateLookup';
  if (operations & ChangeFeed.DELETE && preImages) options.fullDocumentBeforeChange = 'whenAvailable';
  return options;
}
