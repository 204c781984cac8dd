/**
 * Keyed inserts (transactions, assets, metadata, blocks) with exact duplicate reporting.
 *
 * Where the deployment has transactions, a batch that fits in one (budget.ts: 1,000
 * documents, 8 MiB) is inserted in one, all or nothing; when a unique key refuses it, the
 * keys already taken are looked up and listed. A larger batch is first checked for keys
 * already stored (a duplicate is then reported with nothing written), then written in
 * transactions of at most that size, each all or nothing with its asset data and metadata.
 * A record another writer stores between the check and the write is reported as a duplicate
 * too, and the rest of the batch is still written. A crash between two chunks leaves the
 * chunks already committed (writing the batch again then reports those as duplicates).
 *
 * On a standalone server there are no transactions: a batch is checked for stored keys
 * first, then inserted unordered: every document that can be is stored, and the refused
 * ones (written meanwhile by someone else) are named from the write errors.
 *
 * A try is repeated after a lost connection, when the server may have applied it already.
 * Every document carries an `_id` made before the first try, so a "duplicate" that holds one
 * of our own `_id`s is our earlier try, not someone else's record: never reported, never lost.
 */
import { DuplicateKeyError, duplicateKeys } from '../../lib/errors';
import { repeatedKeys } from '../../lib/model';
import type { MongoConnection } from './connection';
import type { ClientSession, Db, Document, ObjectId } from './driver';
import { TRANSACTION_LIMITS, type TransactionLimits, chunksWithin, slices } from './budget';
import { BACKEND, isDuplicateKeyCode, isDuplicateKeyError, mapMongoError, rootError, writeErrorsOf } from './errors';
import { keyIn } from './filters';

/**
 * A keyed collection and the field of its unique key.
 *
 * @example
 * const blocks: KeyedCollection = { name: 'blocks', key: 'height' };
 */
export type KeyedCollection = { name: 'transactions' | 'assets' | 'metadata'; key: 'id' } | { name: 'blocks'; key: 'height' };

/**
 * A document with the `_id` made for it before the first try.
 *
 * @example
 * const doc: Keyed = assetDocument({ id, data: null });
 */
export type Keyed = Document & { _id: ObjectId };

/**
 * What to insert: documents of one keyed collection.
 *
 * @example
 * const plan: KeyedInsert = { collection: { name: 'assets', key: 'id' }, docs: assets.map(assetDocument) };
 */
export interface KeyedInsert<D extends Keyed = Keyed> {
  collection: KeyedCollection;
  docs: D[];
}

/**
 * Writes that go with the inserted documents (asset data and metadata of transactions): in the
 * same transaction where there is one, else after the documents that were stored.
 *
 * @example
 * const companion: Companion<TransactionDocument> = (inserted, db, session) => writeSideRecords(db, inserted.map((d) => d.body), session);
 */
export type Companion<D extends Keyed> = (inserted: D[], db: Db, session?: ClientSession) => Promise<unknown>;

const keyOf = (plan: KeyedInsert, doc: Keyed) => doc[plan.collection.key] as string | number;
/** An `_id` as text (an ObjectId's hex; any other `_id` another writer chose, as it prints). */
const idText = (id: unknown) => String(id);

/**
 * A DuplicateKeyError of this backend listing `keys`.
 *
 * @example
 * throw duplicates('store assets', [id]);
 */
export function duplicates(what: string, keys: readonly (string | number)[], cause?: unknown): DuplicateKeyError {
  return duplicateKeys(BACKEND, what, keys, cause);
}

/**
 * Keys per `$in` lookup: 10,000 transaction ids are under 1 MB of command, far from the
 * 16 MiB a command document may have.
 */
const LOOKUP_CHUNK = 10_000;

/** The stored owner (`_id`, as hex) of each of `keys` that is stored (looked up in chunks). */
async function storedOwners(db: Db, plan: KeyedInsert, keys: readonly (string | number)[], session?: ClientSession): Promise<Map<string | number, string>> {
  const { name, key } = plan.collection;
  const owners = new Map<string | number, string>();
  for (const chunk of slices(keys, LOOKUP_CHUNK)) {
    const rows = await db.collection(name).find(keyIn(key, chunk), { projection: { _id: 1, [key]: 1 }, session }).toArray();
    for (const row of rows) owners.set(row[key] as string | number, idText(row._id));
  }
  return owners;
}

/**
 * The keys of the plan stored under an `_id` that is not the plan's: duplicates of records
 * written by someone else (our own earlier try does not count).
 *
 * @example
 * const taken = await keysTakenByOthers(db, plan);
 */
export async function keysTakenByOthers(db: Db, plan: KeyedInsert): Promise<(string | number)[]> {
  const ours = new Set(plan.docs.map((doc) => idText(doc._id)));
  const owners = await storedOwners(db, plan, [...new Set(plan.docs.map((doc) => keyOf(plan, doc)))]);
  return [...owners].filter(([, owner]) => !ours.has(owner)).map(([key]) => key);
}

/**
 * True when every document of the plan is stored under its own `_id` (an earlier try, whose
 * reply was lost, went through).
 *
 * @example
 * if (await landed(db, plan)) return;
 */
export async function landed(db: Db, plan: KeyedInsert): Promise<boolean> {
  const ids = plan.docs.map((doc) => doc._id);
  return (await db.collection(plan.collection.name).countDocuments({ _id: { $in: ids } })) === ids.length;
}

/**
 * What an unordered insert did.
 *
 * @example
 * const { inserted, duplicates, otherRefusal } = sortRefusals(plan, writeErrorsOf(error), owners);
 */
export interface UnorderedOutcome<D extends Keyed> {
  /** Stored now, or by our own earlier try. */
  inserted: D[];
  /** Keys refused because another record holds them. */
  duplicates: (string | number)[];
  /** A document was refused for another reason than a duplicate key. */
  otherRefusal: boolean;
}

/**
 * The keys of the documents an unordered insert refused as duplicates (to look up who holds them).
 *
 * @example
 * duplicateCandidates(plan, [{ index: 1, code: 11000 }]);   // [plan.docs[1].id]
 */
export function duplicateCandidates(plan: KeyedInsert, writeErrors: readonly { index: number; code: number }[]): (string | number)[] {
  return writeErrors.filter((e) => isDuplicateKeyCode(e.code)).map((e) => keyOf(plan, plan.docs[e.index]));
}

/**
 * Sorts the documents of an unordered insert that failed in part: a document refused as a
 * duplicate whose key is held under its own `_id` was stored by our earlier try; one whose
 * key is held by another record is a duplicate; the rest were stored (or refused otherwise).
 *
 * @example
 * sortRefusals(plan, [{ index: 1, code: 11000 }], new Map([[plan.docs[1].id, 'someone else']]));
 * // { inserted: [docs 0, 2, ...], duplicates: [plan.docs[1].id], otherRefusal: false }
 */
export function sortRefusals<D extends Keyed>(
  plan: KeyedInsert<D>,
  writeErrors: readonly { index: number; code: number }[],
  owners: ReadonlyMap<string | number, string>,
): UnorderedOutcome<D> {
  const refused = new Set(writeErrors.map((e) => e.index));
  const asDuplicates = new Set(writeErrors.filter((e) => isDuplicateKeyCode(e.code)).map((e) => e.index));
  const ownRetry = (doc: D) => owners.get(keyOf(plan, doc)) === idText(doc._id);
  return {
    inserted: plan.docs.filter((doc, index) => !refused.has(index) || (asDuplicates.has(index) && ownRetry(doc))),
    duplicates: plan.docs.filter((doc, index) => asDuplicates.has(index) && !ownRetry(doc)).map((doc) => keyOf(plan, doc)),
    otherRefusal: asDuplicates.size < refused.size,
  };
}

/**
 * Inserts unordered (standalone servers): every document that can be is stored; the refused
 * ones are sorted by {@link sortRefusals}.
 */
async function insertUnordered<D extends Keyed>(db: Db, plan: KeyedInsert<D>): Promise<UnorderedOutcome<D> & { failure?: unknown }> {
  try {
    await db.collection(plan.collection.name).insertMany(plan.docs, { ordered: false });
    return { inserted: plan.docs, duplicates: [], otherRefusal: false };
  } catch (error) {
    const writeErrors = writeErrorsOf(error);
    // No write errors: the batch failed on the way (a lost connection); the caller retries it.
    if (writeErrors.length === 0) throw error;
    const owners = await storedOwners(db, plan, duplicateCandidates(plan, writeErrors));
    const outcome = sortRefusals(plan, writeErrors, owners);
    return outcome.otherRefusal ? { ...outcome, failure: error } : outcome;
  }
}

/**
 * Rejects a plan that names one key twice, listing those keys and the plan's keys already
 * stored, before anything is written (a batch that cannot be stored whole is stored nowhere).
 *
 * @example
 * await refuseRepeated(conn, 'commit block', plan);
 */
export async function refuseRepeated(conn: MongoConnection, what: string, plan: KeyedInsert): Promise<void> {
  const keys = plan.docs.map((doc) => keyOf(plan, doc));
  const repeated = repeatedKeys(keys, (key) => key);
  if (repeated.length === 0) return;
  const stored = await conn.attempt(what, async (db) => [...(await storedOwners(db, plan, keys)).keys()]);
  throw duplicates(what, [...new Set([...repeated, ...stored])]);
}

/**
 * Rejects a plan with a key another record already holds, listing every such key, before
 * anything is written.
 *
 * @example
 * await refuseTaken(conn, 'write transactions', plan);
 */
export async function refuseTaken(conn: MongoConnection, what: string, plan: KeyedInsert): Promise<void> {
  const taken = await conn.attempt(what, (db) => keysTakenByOthers(db, plan));
  if (taken.length) throw duplicates(what, taken);
}

/**
 * How a keyed insert is written.
 *
 * @example
 * const options: KeyedWriteOptions<TransactionDocument> = {
 *   companion: (docs, db, session) => writeSideRecords(db, docs.map((doc) => doc.body), session),
 *   companionDocuments: sideDocuments,
 * };
 */
export interface KeyedWriteOptions<D extends Keyed> {
  /** Writes that go with the documents (in the same transaction). */
  companion?: Companion<D>;
  /** The documents the companion writes for one document: they count towards a transaction's size. */
  companionDocuments?: (doc: D) => readonly Document[];
  /** What one transaction may hold (budget.ts); a test may pass smaller limits. */
  limits?: TransactionLimits;
}

/**
 * The plan's documents cut into the transactions that write them: one when it fits the
 * limits, else chunks of at most the limits, each with its companion documents.
 *
 * @example
 * transactionChunks(plan, { companionDocuments: sideDocuments }).length;   // 1 for up to 500 CREATEs with asset data, 200 for 100,000 of them
 */
export function transactionChunks<D extends Keyed>(plan: KeyedInsert<D>, options: KeyedWriteOptions<D> = {}): D[][] {
  const { companionDocuments, limits = TRANSACTION_LIMITS } = options;
  return chunksWithin(plan.docs, (doc) => (companionDocuments ? [doc, ...companionDocuments(doc)] : [doc]), limits);
}

/**
 * Inserts the plan's documents (and their companion writes), rejecting with a
 * DuplicateKeyError that lists exactly the keys repeated in the plan or already stored.
 * All or nothing where the deployment has transactions and the plan fits in one; larger
 * plans and standalone servers write nothing when a duplicate is found before writing, and
 * everything but the duplicates when another writer stores one meanwhile (see the header).
 *
 * @example
 * await writeKeyed(conn, 'store assets', { collection: { name: 'assets', key: 'id' }, docs });
 */
export async function writeKeyed<D extends Keyed>(conn: MongoConnection, what: string, plan: KeyedInsert<D>, options: KeyedWriteOptions<D> = {}): Promise<void> {
  if (plan.docs.length === 0) return;
  const { companion } = options;
  await refuseRepeated(conn, what, plan);
  // One document with nothing beside it is atomic on its own; otherwise a transaction, if any.
  if ((plan.docs.length > 1 || companion) && (await conn.serverInfo()).transactions) {
    const chunks = transactionChunks(plan, options);
    if (chunks.length === 1) {
      await writeInTransaction(conn, what, plan, companion);
      return;
    }
    await refuseTaken(conn, what, plan);
    const refused: (string | number)[] = [];
    for (const docs of chunks) refused.push(...(await writeChunk(conn, what, { collection: plan.collection, docs }, companion)));
    if (refused.length) throw duplicates(what, refused);
    return;
  }
  if (plan.docs.length > 1) await refuseTaken(conn, what, plan);
  const outcome = await conn.attempt(what, (db) => insertUnordered(db, plan));
  if (companion && outcome.inserted.length) await conn.attempt(what, (db) => companion(outcome.inserted, db));
  if (outcome.failure !== undefined) throw mapMongoError(outcome.failure, what, { secret: conn.config.password });
  if (outcome.duplicates.length) throw duplicates(what, outcome.duplicates);
}

/**
 * Writes one chunk of a larger plan in a transaction. A key another writer stored after
 * the plan was checked makes the transaction write nothing: that key is set aside (and
 * returned, to be reported) and the rest of the chunk is written.
 */
async function writeChunk<D extends Keyed>(conn: MongoConnection, what: string, chunk: KeyedInsert<D>, companion?: Companion<D>): Promise<(string | number)[]> {
  const refused: (string | number)[] = [];
  let docs = chunk.docs;
  while (docs.length) {
    try {
      await writeInTransaction(conn, what, { collection: chunk.collection, docs }, companion);
      break;
    } catch (error) {
      if (!(error instanceof DuplicateKeyError)) throw error;
      const taken = new Set(error.keys);
      const rest = docs.filter((doc) => !taken.has(keyOf(chunk, doc)));
      // Nothing to set aside: not a key of this chunk, so not a race this loop can settle.
      if (rest.length === docs.length) throw error;
      refused.push(...docs.filter((doc) => taken.has(keyOf(chunk, doc))).map((doc) => keyOf(chunk, doc)));
      docs = rest;
    }
  }
  return refused;
}

async function writeInTransaction<D extends Keyed>(conn: MongoConnection, what: string, plan: KeyedInsert<D>, companion?: Companion<D>): Promise<void> {
  try {
    await conn.transaction(what, async (session, db) => {
      await db.collection(plan.collection.name).insertMany(plan.docs, { session, ordered: true });
      await companion?.(plan.docs, db, session);
    });
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause ?? error;
    if (!(error instanceof DuplicateKeyError) || !isDuplicateKeyError(rootError(cause))) throw error;
    // The transaction stopped at the first refused key and wrote nothing: find them all.
    const taken = await conn.attempt(what, (db) => keysTakenByOthers(db, plan));
    if (taken.length) throw duplicates(what, taken, cause);
    if (await conn.attempt(what, (db) => landed(db, plan))) return;
    throw error;
  }
}
