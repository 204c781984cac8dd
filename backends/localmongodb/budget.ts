/**
 * How much one multi-document transaction may hold, and how larger work is cut to fit.
 *
 * Why a cap: a transaction must commit within `transactionLifetimeLimitSeconds` (60 s by
 * default) or the server aborts it; everything it writes stays pinned in the WiredTiger cache
 * until it commits (an uncommitted transaction past 5% of the cache aborts with a write
 * conflict); and the driver's `withTransaction` runs a transaction that keeps failing
 * transiently again and again for up to 120 s (its fixed retry budget). A batch of 100,000
 * records in one transaction risks all three, so the backend cuts work at the limits below
 * (1,000 documents is the size usually recommended for a MongoDB transaction):
 * within them a batch is all or nothing; above them it is written in transactions of that
 * size, each all or nothing (see writes.ts and the commit fallback in query.ts).
 */
import { BSON, type Document } from './driver';

/**
 * The most one transaction holds: documents written or deleted, and BSON bytes written.
 *
 * @example
 * const limits: TransactionLimits = { documents: 1_000, bytes: 8 * 1024 * 1024 };
 */
export interface TransactionLimits {
  readonly documents: number;
  readonly bytes: number;
}

/**
 * Documents one transaction writes or deletes, at most.
 *
 * @example
 * MAX_TRANSACTION_DOCUMENTS;   // 1000
 */
export const MAX_TRANSACTION_DOCUMENTS = 1_000;

/**
 * BSON bytes one transaction writes, at most: half the 16 MiB a single document may have.
 * The default WiredTiger cache is at least 256 MiB, and a transaction past 5% of it (12.8 MiB)
 * aborts: 8 MiB stays below that on the smallest deployment, with room for index entries.
 *
 * @example
 * MAX_TRANSACTION_BYTES;   // 8388608
 */
export const MAX_TRANSACTION_BYTES = 8 * 1024 * 1024;

/**
 * The limits the backend applies.
 *
 * @example
 * fitsOneTransaction(cost, TRANSACTION_LIMITS);
 */
export const TRANSACTION_LIMITS: TransactionLimits = Object.freeze({ documents: MAX_TRANSACTION_DOCUMENTS, bytes: MAX_TRANSACTION_BYTES });

/**
 * The BSON size of a document as the server receives it.
 *
 * @example
 * bsonSize({ a: 'x' });   // 14
 */
export function bsonSize(doc: Document): number {
  return BSON.calculateObjectSize(doc, { ignoreUndefined: true });
}

/**
 * A running count of what a transaction would hold. Sizes stop being computed once the
 * budget is exceeded: deciding "too big" for 100,000 records costs no more than for 1,001.
 *
 * @example
 * const budget = new TransactionBudget();
 * budget.add([doc1, doc2]);
 * if (budget.exceeded) ...   // more than one transaction's worth
 */
export class TransactionBudget {
  documents = 0;
  bytes = 0;

  constructor(readonly limits: TransactionLimits = TRANSACTION_LIMITS) {}

  /** True once more documents or bytes were added than one transaction may hold. */
  get exceeded(): boolean {
    return this.documents > this.limits.documents || this.bytes > this.limits.bytes;
  }

  /** Counts documents written (their BSON size counts); returns false once exceeded. */
  add(docs: readonly Document[]): boolean {
    for (const doc of docs) {
      if (this.exceeded) return false;
      this.documents += 1;
      this.bytes += bsonSize(doc);
    }
    return !this.exceeded;
  }

  /** Counts documents deleted or matched by key (only their number counts); returns false once exceeded. */
  addCount(documents: number): boolean {
    this.documents += documents;
    return !this.exceeded;
  }
}

/**
 * `items` cut into consecutive chunks that each fit in one transaction, where `documentsOf`
 * gives the documents an item writes. An item too big for a transaction on its own (a record
 * near MongoDB's 16 MiB document limit) gets a chunk of its own: it cannot be cut further.
 *
 * @example
 * chunksWithin(txDocs, (doc) => [doc, ...sideDocuments(doc)]);   // [[...up to 1,000 documents / 8 MiB], ...]
 */
export function chunksWithin<T>(items: readonly T[], documentsOf: (item: T) => readonly Document[], limits: TransactionLimits = TRANSACTION_LIMITS): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let documents = 0;
  let bytes = 0;
  for (const item of items) {
    const docs = documentsOf(item);
    const itemBytes = docs.reduce((sum, doc) => sum + bsonSize(doc), 0);
    if (chunk.length && (documents + docs.length > limits.documents || bytes + itemBytes > limits.bytes)) {
      chunks.push(chunk);
      chunk = [];
      documents = 0;
      bytes = 0;
    }
    chunk.push(item);
    documents += docs.length;
    bytes += itemBytes;
  }
  if (chunk.length) chunks.push(chunk);
  return chunks;
}

/**
 * `list` cut into consecutive slices of at most `size` items.
 *
 * @example
 * slices([1, 2, 3, 4, 5], 2);   // [[1, 2], [3, 4], [5]]
 */
export function slices<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}
