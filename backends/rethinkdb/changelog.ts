/**
 * The change log: how every write records its changes in the `changes` table so that feeds
 * (changefeed.ts, logreader.ts) lose none of them, and the terms they read it with.
 *
 * RethinkDB is atomic per document only: a query that writes several documents can stop
 * between any two of them (its connection closed, a server crashed) and nothing is rolled
 * back. So the log is not written "with" the change: it is written before it, and completed
 * after it. A logged write is one query that, for one table and at most {@link ENTRY_SIZE}
 * records, does in this order (ReQL evaluates the argument of a `do` before its body, and a
 * write returns once it is applied):
 *
 *  A. intent. Takes the table's next number from its counter document (an atomic
 *     single-document replace) and inserts a *pending* entry `{ id, tbl, seq, kind, keys }`
 *     listing every key the write may change; a delete also records `prior`, the records as
 *     they are. The id (`writer:n:table`) is chosen by the client, so a retry of the same
 *     query finds its entry and reuses its number instead of taking another.
 *  B. change. Writes the documents, each stamped `seq: [number, index]`. A stored document
 *     is replaced or deleted only by a write with a higher number (an insert conflict
 *     function, a conditional replace: both single-document atomic), so the state is that of
 *     the highest-numbered write whatever order concurrent writes land in, and feeds that
 *     deliver in number order end on the stored state. Re-running B changes nothing.
 *  C. completion. Marks the entry done with its events: those the server reports for B
 *     (`returnChanges`), and for the keys it does not report, what the state shows this write
 *     did (a retry finds the work of an earlier try already done).
 *
 * What a cut leaves behind, and why no event is lost:
 *  - cut during A, before the entry exists: nothing was changed (B never started). The number
 *    taken is a hole no entry will fill; readers skip it after `pendingTimeout`.
 *  - cut after A, before C: a pending entry naming every key the write may have changed.
 *    Readers wait for it up to `pendingTimeout`, then read the current documents of its keys
 *    ({@link resolveEntry}): a document stamped with the entry's number was written by it
 *    (an INSERT, or an UPDATE when it replaced a document: `prev_seq`); a recorded `prior`
 *    record whose document is gone was deleted by it. They deliver that, then keep checking
 *    the entry until it is done or pruned, delivering the keys changed later. The writer's
 *    own retry (connection.ts) re-runs A, B and C and completes the entry.
 *  - cut after C: a done entry, nothing to repair.
 *
 * Ordering. Entries are ordered per table by their number (index `tbl_seq`). The number comes
 * from a counter document, not from r.now(): r.now() is the clock of whichever server parses
 * the query, and servers' clocks differ and step back; an atomic increment orders writes by
 * when they reached the counter, on any server. (`at: r.now()` is kept only to prune by age.)
 * A number is taken a moment before its entry becomes visible, so a reader can see a later
 * number first; it delivers what it sees and comes back for the missing one (a hole,
 * logreader.ts). That is safe: an entry becomes visible before its write changes anything,
 * and a document is never overwritten by a lower number, so a late write either loses to the
 * later one or reports a change that happened after it.
 *
 * Limits, also stated in the README: a pending entry read from state reports the state found
 * (if another write changed a record again before the reader looked, the cut write's version
 * of that record is reported by no event, the later write's is); and a hole is given up after
 * `pendingTimeout`, which is safe because a query stops at its deadline (`queryTimeout`,
 * smaller) and RethinkDB interrupts the query of a closed connection before its next step,
 * so a write whose entry appears later never gets to change anything. With `queryTimeout: 0`
 * that bound is gone: an entry that appears more than `pendingTimeout` after its number was
 * taken, while the feed's wake-up is down, goes unseen.
 */
import { type RDatum, type RStream, type RValue, r } from 'rethinkdb-ts';
import { ChangeFeed } from '../../lib/changefeed';
import type { TableName } from '../../lib/tables';
import { CHANGES_TABLE, TABLE_DEFINITIONS, publicRecord, table } from './tables';

/** Operation bits: ChangeFeed's own. */
const { INSERT, DELETE, UPDATE } = ChangeFeed;

/**
 * Most records one logged write changes in one table: each becomes one event of one entry, so
 * an entry holds at most this many events. Writers split larger batches (query.ts).
 *
 * @example
 * for (const batch of chunks(utxos, ENTRY_SIZE)) await conn.run(...);
 */
export const ENTRY_SIZE = 1000;

/**
 * A primary key: a string, or a height.
 *
 * @example
 * const key: Key = 42;
 */
export type Key = string | number;

/**
 * What a logged write does: inserts new records (`new`, a stored key is an error), inserts or
 * replaces them (`put`), or deletes them (`del`).
 *
 * @example
 * const kind: WriteKind = 'put';
 */
export type WriteKind = 'new' | 'put' | 'del';

/**
 * One event of an entry: the operation bit, the key, and the public record (as it is now for
 * an INSERT or UPDATE, as it was for a DELETE).
 *
 * @example
 * const event: LoggedEvent = { op: ChangeFeed.DELETE, key: 'ab…:0', record: utxo };
 */
export interface LoggedEvent {
  op: number;
  key: Key;
  record: unknown;
}

/**
 * One change-log entry: the changes of one logged write to one table.
 *
 * @example
 * if (entry.state === 'done') for (const { op, record } of entry.events!) console.log(op, record);
 */
export interface ChangeEntry {
  id: string;
  tbl: TableName;
  /** Its number, from the table's counter: the order of the log. */
  seq: number;
  state: 'pending' | 'done';
  kind: WriteKind;
  /** The keys the write may change. */
  keys: Key[];
  /** A pending delete's records as they were before it. */
  prior?: { key: Key; record: unknown }[];
  /** A done entry's events (or, read from state, a pending one's so far). */
  events?: LoggedEvent[];
}

/**
 * The id of a table's counter document (in the change-log table; it has no `tbl` or `seq`,
 * so no index and no feed sees it).
 *
 * @example
 * table(db, CHANGES_TABLE).get(counterId('blocks'))('value');   // the last number taken
 */
export const counterId = (tbl: TableName): string => `seq:${tbl}`;

/**
 * The id of the document recording up to which number a table's entries were pruned.
 *
 * @example
 * table(db, CHANGES_TABLE).get(prunedId('blocks'))('through');
 */
export const prunedId = (tbl: TableName): string => `pruned:${tbl}`;

const changeLog = (db: string) => table(db, CHANGES_TABLE);

/**
 * Takes the next number of a table (1 for the first): an atomic single-document replace of
 * its counter, creating it when missing.
 *
 * @example
 * takeNumber(db, 'blocks').do((seq) => ...);
 */
export function takeNumber(db: string, tbl: TableName): RDatum<number> {
  const id = counterId(tbl);
  const taken = changeLog(db)
    .get(id)
    .replace((counter: RDatum) => r.branch(counter.eq(null), { id, value: 1 }, counter.merge({ value: counter('value').add(1) })), {
      returnChanges: 'always',
    }) as RDatum;
  return taken('changes').nth(0)('new_val')('value');
}

/**
 * True if a stored document's stamp is not older than `stamp`, so a write stamped `stamp`
 * must leave the document alone. Stamps compare as arrays (`[number, index]`); a stamp of an
 * earlier version of this backend (`[time, writer, n]`) or none at all counts as older.
 *
 * @example
 * r.branch(notOlder(old('seq'), incoming('seq')), old, incoming);
 */
export function notOlder(stored: RDatum, stamp: RValue): RDatum<boolean> {
  return r.branch(stored.typeOf().ne('ARRAY'), false, stored.nth(0).typeOf().ne('NUMBER'), false, stored.ge(stamp)) as RDatum<boolean>;
}

/**
 * What a logged write writes: new or upserted documents (built on the client, their `seq`
 * being their index in the batch), or the documents of a selection to delete (built inside
 * the query, hence a builder).
 *
 * @example
 * const spec: WriteSpec = { table: 'utxos', kind: 'del', selection: () => table(db, 'utxos').getAll(r.args(keys)) };
 */
export type WriteSpec =
  | { table: TableName; kind: 'new' | 'put'; docs: readonly object[] }
  | { table: TableName; kind: 'del'; selection: () => RStream };

/**
 * What a logged write gives back: the keys of a `new` write that were not inserted (stored
 * already by another write), with the server's first error; empty for the other kinds.
 *
 * @example
 * const { rejected, first_error }: WriteOutcome = await conn.run('store assets', term, { write: true });
 */
export interface WriteOutcome {
  rejected: Key[];
  first_error: string | null;
}

/**
 * How deep a document may nest (the driver's default, 20, is too shallow for asset data).
 *
 * @example
 * r.expr(docs, MAX_NESTING);
 */
export const MAX_NESTING = 1000;

const NOTHING_REJECTED = { rejected: [], first_error: null };

/**
 * The query of one logged write (A, B and C above) and its {@link WriteOutcome}. `id` is the
 * entry's id: the same on every try of the query.
 *
 * @example
 * await conn.run('store block', loggedWrite(db, { table: 'blocks', kind: 'new', docs: [blockDoc(block, 0)] }, `${writer.id}:${writer.next()}:blocks`), { write: true });
 */
export function loggedWrite(db: string, spec: WriteSpec, id: string): RDatum<WriteOutcome> {
  if (spec.kind === 'del') return logWrite(db, spec, id, undefined);
  // Bound once: the documents are sent once, however many steps use them.
  return r.expr(spec.docs, MAX_NESTING).do((docs: RDatum) => logWrite(db, spec, id, docs)) as RDatum<WriteOutcome>;
}

/** Steps A, B and C of a logged write, `docs` (new or upserted documents) bound to a variable. */
function logWrite(db: string, spec: WriteSpec, id: string, docs: RDatum | undefined): RDatum<WriteOutcome> {
  return openEntry(db, spec, id, docs).do((entry: RDatum) =>
    r.branch(
      entry.eq(null),
      NOTHING_REJECTED,
      applyChange(db, spec, entry, docs).do((result: RDatum) =>
        completeEntry(db, spec.table, spec.kind, entry, result).do((_completed: RDatum) =>
          spec.kind === 'new' ? insertOutcome(db, spec.table, entry, result) : NOTHING_REJECTED,
        ),
      ),
    ),
  ) as RDatum<WriteOutcome>;
}

/**
 * Step A: the write's entry, as stored: the one an earlier try made, or a new pending one
 * with a new number; null when the write changes nothing (a delete of nothing).
 */
function openEntry(db: string, spec: WriteSpec, id: string, docs: RDatum | undefined): RDatum {
  const log = changeLog(db);
  const pk = TABLE_DEFINITIONS[spec.table].primaryKey;
  const contents = (): RDatum =>
    spec.kind === 'del'
      ? spec
          .selection()
          .map((doc: RDatum) => ({ key: doc(pk), record: publicRecord(spec.table, doc) }))
          .coerceTo('array')
          .do((prior: RDatum) => ({ keys: prior('key'), prior }))
      : (r.expr({ keys: docs!(pk) }) as RDatum);
  return log.get(id).do((existing: RDatum) =>
    r.branch(
      existing.ne(null),
      existing,
      contents().do((opened: RDatum) =>
        r.branch(
          opened('keys').isEmpty(),
          null,
          takeNumber(db, spec.table).do((seq: RDatum) =>
            log
              // Two tries of one query racing: the first entry stays, and both go on with it.
              .insert(opened.merge({ id, tbl: spec.table, seq, kind: spec.kind, state: 'pending', at: r.now() }), {
                conflict: (_id: RDatum, stored: RDatum, _incoming: RDatum) => stored,
              })
              .do((_inserted: RDatum) => log.get(id)),
          ),
        ),
      ),
    ),
  );
}

/**
 * Step B: writes the documents stamped with the entry's number, each only over an older one,
 * and returns the write result with its changes.
 */
function applyChange(db: string, spec: WriteSpec, entry: RDatum, docs: RDatum | undefined): RDatum {
  const target = table(db, spec.table);
  if (spec.kind === 'del') {
    return target
      .getAll(r.args(entry('keys')))
      .replace((doc: RDatum) => r.branch(notOlder(doc('seq').default(null), [entry('seq')]), doc, null), { returnChanges: true }) as RDatum;
  }
  const stamped = docs!.map((doc: RDatum) => doc.merge({ seq: [entry('seq'), doc('seq')] }));
  if (spec.kind === 'new') {
    // A key stored by another write is an error; one stored by an earlier try of this very
    // write (same stamp) is reported as an error too, and sorted out by insertOutcome.
    return target.insert(stamped, { conflict: 'error', returnChanges: true }) as RDatum;
  }
  return target.insert(stamped, {
    conflict: (_id: RDatum, stored: RDatum, incoming: RDatum) =>
      r.branch(notOlder(stored('seq').default(null), incoming('seq')), stored, incoming.merge({ prev_seq: stored('seq').default(null) })),
    returnChanges: true,
  }) as RDatum;
}

/** An event from a change the server reported. */
function eventOf(tbl: TableName, change: RDatum): RValue {
  const pk = TABLE_DEFINITIONS[tbl].primaryKey;
  return r.branch(
    change('new_val').eq(null),
    { op: DELETE, key: change('old_val')(pk), record: publicRecord(tbl, change('old_val')) },
    { op: r.branch(change('old_val').eq(null), INSERT, UPDATE), key: change('new_val')(pk), record: publicRecord(tbl, change('new_val')) },
  );
}

/**
 * Step C: marks the entry done with its events (unless an earlier try did): the changes the
 * server reported, in batch order, then, for the entry's keys it did not report, what the
 * state shows this write did.
 */
function completeEntry(db: string, tbl: TableName, kind: WriteKind, entry: RDatum, result: RDatum): RDatum {
  const side = kind === 'del' ? 'old_val' : 'new_val';
  const changes = result('changes').default([]);
  return changes
    .orderBy((change: RDatum) => change(side)('seq').default(null))
    .map((change: RDatum) => eventOf(tbl, change))
    .do((reported: RDatum) =>
      stateEvents(db, tbl, kind, entry, entry('keys').setDifference(reported('key'))).do((found: RDatum) =>
        changeLog(db)
          .get(entry('id'))
          // Only a pending entry: an earlier try may have completed it with the changes it saw.
          .update((stored: RDatum) => r.branch(stored('state').eq('pending'), { state: 'done', events: reported.add(found), prior: r.literal() }, {})),
      ),
    );
}

/**
 * The events the current state shows a write did to `keys` (see the top of this file): the
 * documents stamped with its number, or the prior records whose documents are gone. `kind`
 * is known when the write is built, or read from the entry.
 */
function stateEvents(db: string, tbl: TableName, kind: WriteKind | RDatum, entry: RDatum, keys: RDatum): RDatum {
  const deletions = (): RDatum =>
    entry('prior')
      .default([])
      .filter((prior: RDatum) => keys.contains(prior('key')).and(table(db, tbl).get(prior('key')).eq(null)))
      .map((prior: RDatum) => ({ op: DELETE, key: prior('key'), record: prior('record') }));
  const writes = (): RDatum =>
    r.branch(
      keys.isEmpty(),
      [],
      table(db, tbl)
        .getAll(r.args(keys))
        .filter((doc: RDatum) => doc('seq').nth(0).eq(entry('seq')))
        .orderBy((doc: RDatum) => doc('seq'))
        .map((doc: RDatum) => ({
          op: r.branch(doc.hasFields('prev_seq'), UPDATE, INSERT),
          key: doc(TABLE_DEFINITIONS[tbl].primaryKey),
          record: publicRecord(tbl, doc),
        })),
    );
  if (typeof kind === 'string') return kind === 'del' ? deletions() : writes();
  return r.branch(kind.eq('del'), deletions(), writes());
}

/**
 * The events the current state shows a pending entry's write did (for any entry, as stored):
 * what a feed delivers for a write that has not completed in time.
 *
 * @example
 * changeLog(db).get(id).do((entry) => entry.merge({ events: resolveEntry(db, 'utxos', entry) }));
 */
export function resolveEntry(db: string, tbl: TableName, entry: RDatum): RDatum<LoggedEvent[]> {
  return stateEvents(db, tbl, entry('kind'), entry, entry('keys')) as RDatum<LoggedEvent[]>;
}

/**
 * The outcome of a `new` write: the keys not inserted by it, on this try or an earlier one
 * (their documents do not carry its number).
 */
function insertOutcome(db: string, tbl: TableName, entry: RDatum, result: RDatum): RDatum {
  const pk = TABLE_DEFINITIONS[tbl].primaryKey;
  return r.branch(
    result('errors').eq(0),
    NOTHING_REJECTED,
    table(db, tbl)
      .getAll(r.args(entry('keys')))
      .filter((doc: RDatum) => doc('seq').nth(0).eq(entry('seq')))(pk)
      .coerceTo('array')
      .do((ours: RDatum) => ({ rejected: entry('keys').setDifference(ours), first_error: result('first_error').default(null) })),
  );
}

// ---------------------------------------------------------------------------
// Reading the log
// ---------------------------------------------------------------------------

/**
 * Pending entries of the same table and entries with the same number across tables are
 * found through these indexes (tables.ts).
 */
const BY_NUMBER = 'tbl_seq';
const BY_STATE = 'tbl_state';
/** What a feed does not need of an entry it reads (the events are what it delivers). */
const BULK = ['keys', 'prior', 'at'];

/**
 * A done entry as is, a pending one with the events the current state shows so far.
 *
 * @example
 * entries.map((entry) => withEvents(db, 'blocks', entry));
 */
function withEvents(db: string, tbl: TableName, entry: RDatum): RDatum {
  return r.branch(entry('state').eq('done'), entry, entry.merge({ events: resolveEntry(db, tbl, entry) }));
}

/**
 * What {@link tailRead} answers.
 *
 * @example
 * const { pruned, entries }: TailAnswer = await conn.run('read changefeed', tailRead(db, 'blocks', 41, 16));
 */
export interface TailAnswer {
  /** Entries numbered up to this one were pruned (0: none). */
  pruned: number;
  entries: ChangeEntry[];
}

/**
 * One read of a feed: how far the table's log was pruned, and the next entries after number
 * `after`, in order, at most `limit` (pending ones come without events).
 *
 * @example
 * await conn.run('read changefeed', tailRead(db, 'blocks', reader.position, 16));
 */
export function tailRead(db: string, tbl: TableName, after: number, limit: number): RDatum<TailAnswer> {
  const log = changeLog(db);
  return r.expr({
    pruned: log.get(prunedId(tbl))('through').default(0),
    entries: log
      .between([tbl, after], [tbl, r.maxval], { index: BY_NUMBER, leftBound: 'open', rightBound: 'closed' })
      .orderBy({ index: BY_NUMBER })
      .limit(limit)
      .without(...BULK)
      .coerceTo('array'),
  }) as RDatum as RDatum<TailAnswer>;
}

/**
 * What {@link startRead} answers.
 *
 * @example
 * const { counter, recent, pending }: StartAnswer = await conn.run('start changefeed', startRead(db, 'blocks', 256));
 */
export interface StartAnswer {
  /** The table's last number taken: the feed starts after it. */
  counter: number;
  /** The numbers among the last `window` up to `counter` whose entries are visible. */
  recent: number[];
  /** Entries up to `counter` still pending, with the events their state shows already. */
  pending: ChangeEntry[];
}

/**
 * Where a feed starts: the table's counter, which of the last `window` numbers have visible
 * entries (the others may be writes in flight), and the pending entries up to the counter.
 *
 * @example
 * reader.begin(await conn.run('start changefeed', startRead(db, 'blocks', 256)));
 */
export function startRead(db: string, tbl: TableName, window: number): RDatum<StartAnswer> {
  const log = changeLog(db);
  return log
    .get(counterId(tbl))('value')
    .default(0)
    .do((counter: RDatum) => ({
      counter,
      recent: log
        .between([tbl, counter.sub(window)], [tbl, counter], { index: BY_NUMBER, leftBound: 'open', rightBound: 'closed' })('seq')
        .coerceTo('array'),
      pending: log
        .getAll([tbl, 'pending'], { index: BY_STATE })
        .filter((entry: RDatum) => entry('seq').le(counter))
        .map((entry: RDatum) => withEvents(db, tbl, entry))
        .coerceTo('array'),
    })) as RDatum<StartAnswer>;
}

/**
 * The entries with these numbers (holes a feed came back for), pending ones with the events
 * their state shows.
 *
 * @example
 * await conn.run('read changefeed', entriesNumbered(db, 'blocks', [42, 45]));
 */
export function entriesNumbered(db: string, tbl: TableName, numbers: readonly number[]): RStream<ChangeEntry> {
  return changeLog(db)
    .getAll(r.args(numbers.map((n) => [tbl, n])), { index: BY_NUMBER })
    .map((entry: RDatum) => withEvents(db, tbl, entry))
    .without(...BULK) as RStream as RStream<ChangeEntry>;
}

/**
 * The entries with these ids (entries a feed watches until they are done), pending ones with
 * the events their state shows.
 *
 * @example
 * await conn.run('read changefeed', entriesById(db, 'blocks', ['6f1c…:41:blocks']));
 */
export function entriesById(db: string, tbl: TableName, ids: readonly string[]): RStream<ChangeEntry> {
  return changeLog(db)
    .getAll(r.args([...ids]))
    .map((entry: RDatum) => withEvents(db, tbl, entry))
    .without(...BULK) as RStream as RStream<ChangeEntry>;
}

/**
 * The server-side wake-up of a feed: the entries of its table's log inserted or updated from
 * now on (their id, number and state only). Deletions (pruning) are dropped on the server, so
 * a pruning run does not send a feed one report per entry; error reports (a feed that fell
 * behind its queue) pass.
 *
 * @example
 * const { cursor } = await conn.cursor('open changefeed', liveEntries(db, 'blocks'));
 */
export function liveEntries(db: string, tbl: TableName) {
  return changeLog(db)
    .between([tbl, r.minval], [tbl, r.maxval], { index: BY_NUMBER })
    .pluck('id', 'tbl', 'seq', 'state')
    .changes()
    // A branch, not `or`: an error report has no `new_val` to read.
    .filter((change: RDatum) => r.branch(change.hasFields('new_val'), change('new_val').ne(null), true));
}

/**
 * Deletes the entries older than `retention` milliseconds (by the server's clock), table by
 * table up to a number: first recording that number (`through`, never lowered), so a feed
 * that had not read them yet knows and fails loudly instead of skipping them. Entries of an
 * earlier version of this backend (numbered by time, no `seq`; no feed reads them) are
 * deleted by age.
 *
 * @example
 * await conn.run('prune change log', pruneEntries(db, 86_400_000), { write: true });
 */
export function pruneEntries(db: string, retention: number) {
  const log = changeLog(db);
  return r
    .now()
    .sub(retention / 1000)
    .do((cutoff: RDatum) =>
      log
        .between(r.minval, cutoff, { index: 'at' })
        .filter((entry: RDatum) => entry.hasFields('seq').not())
        .delete()
        .do((_legacy: RDatum) => pruneNumbered(log, cutoff)),
    );
}

/** Prunes the numbered entries older than `cutoff`, recording the cut first. */
function pruneNumbered(log: ReturnType<typeof changeLog>, cutoff: RDatum) {
  return log
    .between(r.minval, cutoff, { index: 'at' })
    .filter((entry: RDatum) => entry.hasFields('seq'))
    .group('tbl')
    .max('seq')('seq')
    .ungroup()
    .forEach((cut: RDatum) =>
      log
        .insert(
          { id: r.expr('pruned:').add(cut('group')), through: cut('reduction') },
          { conflict: (_id: RDatum, stored: RDatum, incoming: RDatum) => r.branch(stored('through').gt(incoming('through')), stored, incoming) },
        )
        .do((_recorded: RDatum) =>
          log.between([cut('group'), r.minval], [cut('group'), cut('reduction')], { index: BY_NUMBER, rightBound: 'closed' }).delete(),
        ),
    );
}
