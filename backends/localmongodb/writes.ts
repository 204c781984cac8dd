/**
 * Keyed inserts (transactions, assets, metadata, blocks) with exact duplicate reporting.
 *
 * Where the deployment has transactions, a batch is inserted in one, all or nothing; when a
 * unique key refuses it, the keys already taken are looked up and listed. On a standalone
 * server a batch is inserted unordered: every document that can be is stored, and the
 * refused ones are named from the write errors (BigchainDB reported such a batch as a
 * generic error; this names exactly the duplicates).
 *
 * A try is repeated after a lost connection, when the server may have applied it already.
 * Every document carries an `_id` made before the first try, so a "duplicate" that holds one
 * of our own `_id`s is our earlier try, not someone else's record: never reported, never lost.
 */
import { DuplicateKeyError, describeKeys } from '../../lib/errors';
import { repeatedKeys } from '../../lib/model';
import type { MongoConnection } from './connection';
import type { ClientSession, Db, Document, ObjectId } from './driver';
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
  return new DuplicateKeyError(BACKEND, `${what}: duplicate key${keys.length === 1 ? '' : 's'} ${describeKeys(keys)}`, keys, { cause });
}

/**
 * A DuplicateKeyError for a block height already stored.
 *
 * @example
 * throw heightExists('store block', 7);   // '[localmongodb] store block: height 7 exists'
 */
export function heightExists(what: string, height: number, cause?: unknown): DuplicateKeyError {
  return new DuplicateKeyError(BACKEND, `${what}: height ${height} exists`, [height], { cause });
}

/** The stored owner (`_id`, as hex) of each of `keys` that is stored. */
async function storedOwners(db: Db, plan: KeyedInsert, keys: readonly (string | number)[], session?: ClientSession): Promise<Map<string | number, string>> {
  const { name, key } = plan.collection;
  const rows = await db.collection(name).find(keyIn(key, keys), { projection: { _id: 1, [key]: 1 }, session }).toArray();
  return new Map(rows.map((row) => [row[key] as string | number, idText(row._id)]));
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
 * Inserts the plan's documents (and their companion writes), rejecting with a
 * DuplicateKeyError that lists exactly the keys repeated in the plan or already stored.
 * All or nothing where the deployment has transactions; elsewhere, what can be stored is.
 *
 * @example
 * await writeKeyed(conn, 'store assets', { collection: { name: 'assets', key: 'id' }, docs });
 */
export async function writeKeyed<D extends Keyed>(conn: MongoConnection, what: string, plan: KeyedInsert<D>, companion?: Companion<D>): Promise<void> {
  if (plan.docs.length === 0) return;
  await refuseRepeated(conn, what, plan);
  // One document with nothing beside it is atomic on its own; otherwise a transaction, if any.
  if ((plan.docs.length > 1 || companion) && (await conn.serverInfo()).transactions) {
    await writeInTransaction(conn, what, plan, companion);
    return;
  }
  const outcome = await conn.attempt(what, (db) => insertUnordered(db, plan));
  if (companion && outcome.inserted.length) await conn.attempt(what, (db) => companion(outcome.inserted, db));
  if (outcome.failure !== undefined) throw mapMongoError(outcome.failure, what, { secret: conn.config.password });
  if (outcome.duplicates.length) throw duplicates(what, outcome.duplicates);
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
