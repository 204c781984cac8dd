/**
 * The change log: what every write appends, in the same query, to the `changes` table, and
 * the terms a changefeed reads it with.
 *
 * A write query runs with `returnChanges`; from the changes the server reports (only the
 * documents it actually inserted, replaced or deleted), the same query builds the events,
 * sorted by the documents' `seq` (so a batch keeps its order), and inserts them as entries
 * of at most {@link ENTRY_SIZE} events, one after another (`forEach` runs in order, so the
 * entries of one write become visible in order). An entry is keyed by its position:
 * `[table, at, writer, n, chunk]`, where `at` is the time the write reached the server,
 * `writer` the writing connection's id and `n` its counter for that query.
 *
 * There are no multi-document transactions in RethinkDB: the entry is written right after
 * the change it describes, so a server that dies between the two loses that one event (never
 * invents one). A change written and then failed never appears.
 */
import { type RDatum, type RValue, r } from 'rethinkdb-ts';
import type { TableName } from '../../lib/tables';
import { CHANGES_TABLE, publicRecord, table } from './tables';

/** Operation bits, as ChangeFeed defines them. */
const INSERT = 1;
const DELETE = 2;
const UPDATE = 4;

/**
 * Most events in one change-log entry (a 100,000-transaction batch makes 200 entries).
 *
 * @example
 * Math.ceil(events.length / ENTRY_SIZE);   // entries one write makes
 */
export const ENTRY_SIZE = 500;

/**
 * A time as the server sends it with `timeFormat: 'raw'`: exact, so it can be sent back as a
 * bound without the millisecond rounding of a JavaScript Date.
 *
 * @example
 * const at: RawTime = { $reql_type$: 'TIME', epoch_time: 1767225600.123, timezone: '+00:00' };
 */
export interface RawTime {
  $reql_type$: 'TIME';
  epoch_time: number;
  timezone: string;
}

/**
 * Where an entry sits in the log, for one table.
 *
 * @example
 * const position: Position = { at, writer: '6f1c0d2a9b3e4f50', n: 41, chunk: 0 };
 */
export interface Position {
  at: RawTime;
  writer: string;
  n: number;
  chunk: number;
}

/**
 * One change-log entry: up to {@link ENTRY_SIZE} events of one write to one table.
 *
 * @example
 * for (const { op, record } of entry.events) if (op & ChangeFeed.INSERT) console.log(record);
 */
export interface ChangeEntry extends Position {
  id: string;
  tbl: TableName;
  events: { op: number; record: unknown }[];
}

/**
 * Compares two positions of the same table, as the `position` index orders them.
 *
 * @example
 * comparePositions(a, b) < 0;   // a was written before b
 */
export function comparePositions(a: Position, b: Position): number {
  return (
    a.at.epoch_time - b.at.epoch_time ||
    (a.writer < b.writer ? -1 : a.writer > b.writer ? 1 : 0) ||
    a.n - b.n ||
    a.chunk - b.chunk
  );
}

/**
 * Appends the events of a write to the log. `changes` is the write result's `changes` array
 * (the write must run with `returnChanges: true`); `writer` and `n` identify the write.
 *
 * @example
 * table(db, 'blocks').insert(doc, { returnChanges: true }).do((res) => logChanges(db, 'blocks', res('changes'), writer, n));
 */
export function logChanges(db: string, tbl: TableName, changes: RDatum, writer: string, n: number): RDatum {
  // A deletion has only the old document; an insert or update is described by the new one.
  const deleted = (change: RDatum) => change('new_val').eq(null);
  return changes
    .orderBy((change: RDatum) => r.branch(deleted(change), change('old_val')('seq'), change('new_val')('seq')))
    .map((change: RDatum) =>
      r.branch(
        deleted(change),
        { op: DELETE, record: publicRecord(tbl, change('old_val')) },
        { op: r.branch(change('old_val').eq(null), INSERT, UPDATE), record: publicRecord(tbl, change('new_val')) },
      ),
    )
    .do((events: RDatum) =>
      r.branch(
        events.isEmpty(),
        { inserted: 0 },
        r.range(events.count().add(ENTRY_SIZE - 1).div(ENTRY_SIZE).floor()).forEach((chunk: RDatum) =>
          table(db, CHANGES_TABLE).insert({
            id: r.expr(`${writer}:${n}:${tbl}:`).add(chunk.coerceTo('string')),
            tbl,
            at: r.now(),
            writer,
            n,
            chunk,
            events: events.slice(chunk.mul(ENTRY_SIZE), chunk.add(1).mul(ENTRY_SIZE)),
          }),
        ),
      ),
    );
}

/**
 * Runs `write` (a write run with `returnChanges: true`), logs its changes, and gives the
 * write's result without the changes (they can be 100,000 documents).
 *
 * @example
 * logged(db, 'validators', table(db, 'validators').get(10).delete({ returnChanges: true }), writer, n);
 */
export function logged(db: string, tbl: TableName, write: RDatum, writer: string, n: number): RDatum {
  // Each function takes the value it is called with: ReQL checks the arity of a `do`.
  return write.do((result: RDatum) =>
    logChanges(db, tbl, result('changes').default([]), writer, n).do((_logged: RDatum) => result.without('changes')),
  );
}

/** The last position of a table's log: every entry comes before it. */
function tableEnd(tbl: TableName): RValue[] {
  return [tbl, r.maxval, r.maxval, r.maxval, r.maxval];
}

/** A position as an index key. */
function key(tbl: TableName, position: Position): RValue[] {
  return [tbl, position.at, position.writer, position.n, position.chunk];
}

/**
 * The bound "every entry stamped up to `at`, by anyone": where a feed starts, and where an
 * idle feed moves to.
 *
 * @example
 * const start: StartBound = { at: serverNow };
 */
export interface StartBound {
  at: RawTime;
}

/**
 * Either the position of an entry a feed read, or a time it reads after.
 *
 * @example
 * const bound: Bound = lastEntry ? position(lastEntry) : { at: serverNow };
 */
export type Bound = Position | StartBound;

function boundKey(tbl: TableName, bound: Bound): RValue[] {
  return 'writer' in bound ? key(tbl, bound) : [tbl, bound.at, r.maxval, r.maxval, r.maxval];
}

/**
 * The next entries of a table's log after `after`, in order, at most `limit`.
 *
 * @example
 * const entries = await conn.run('read changefeed', entriesAfter(db, 'blocks', last, 100), { runOptions: { timeFormat: 'raw' } });
 */
export function entriesAfter(db: string, tbl: TableName, after: Bound, limit: number) {
  return table(db, CHANGES_TABLE)
    .between(boundKey(tbl, after), tableEnd(tbl), { index: 'position', leftBound: 'open', rightBound: 'closed' })
    .orderBy({ index: 'position' })
    .limit(limit);
}

/**
 * Entries of a table's log from time `from` (included) up to `through` (included; the end of
 * the log when undefined), after `after` when given (for paging), in order, at most `limit`:
 * what a feed marks as already there when it starts, and re-reads after a lost connection to
 * find the entries that landed behind its position meanwhile.
 *
 * @example
 * overlapEntries(db, 'blocks', { $reql_type$: 'TIME', epoch_time: t - 60, timezone: '+00:00' }, last, undefined, 100);
 */
export function overlapEntries(db: string, tbl: TableName, from: RawTime, through: Bound | undefined, after: Position | undefined, limit: number) {
  const lower = after ? key(tbl, after) : [tbl, from, r.minval, r.minval, r.minval];
  const upper = through ? boundKey(tbl, through) : tableEnd(tbl);
  return table(db, CHANGES_TABLE)
    .between(lower, upper, { index: 'position', leftBound: after ? 'open' : 'closed', rightBound: 'closed' })
    .orderBy({ index: 'position' })
    .limit(limit);
}

/**
 * The whole entries with these ids (a feed learns of a late entry by its position first).
 *
 * @example
 * entriesById(db, ['6f1c…:41:blocks:0']);
 */
export function entriesById(db: string, ids: readonly string[]) {
  return table(db, CHANGES_TABLE).getAll(r.args([...ids]));
}

/**
 * The server-side wake-up of a feed: the positions of the entries inserted into its table's
 * log from now on (deletions by pruning come through too, with `new_val: null`).
 *
 * @example
 * const cursor = await conn.cursor('open changefeed', liveEntries(db, 'blocks'));
 */
export function liveEntries(db: string, tbl: TableName) {
  return table(db, CHANGES_TABLE)
    // The watermark document has no `tbl`: `default` keeps it out without an error.
    .filter((entry: RDatum) => entry('tbl').default(null).eq(tbl))
    .pluck('id', 'tbl', 'at', 'writer', 'n', 'chunk')
    .changes();
}

/**
 * The id of the document that records how far the log was pruned (`pruned_before`, a time).
 * It has no `tbl` or `at`, so neither the log's indexes nor the feeds' filters see it.
 *
 * @example
 * table(db, CHANGES_TABLE).get(WATERMARK_ID)('pruned_before');
 */
export const WATERMARK_ID = 'watermark';

/**
 * What {@link tailRead} answers (with `timeFormat: 'raw'`).
 *
 * @example
 * const { now, watermark, entries }: TailAnswer = await conn.run('read changefeed', tailRead(db, 'blocks', last, 100), { runOptions: { timeFormat: 'raw' } });
 */
export interface TailAnswer {
  now: RawTime;
  /** How far the log was pruned, or null if it never was. */
  watermark: RawTime | null;
  entries: ChangeEntry[];
}

/**
 * One read of a feed: the server's time, the pruning watermark (or null), and the next
 * entries of a table's log after `after`.
 *
 * @example
 * const { now, watermark, entries } = await conn.run('read changefeed', tailRead(db, 'blocks', last, 100), { runOptions: { timeFormat: 'raw' } });
 */
export function tailRead(db: string, tbl: TableName, after: Bound, limit: number): RDatum<TailAnswer> {
  return r.expr({
    now: r.now(),
    watermark: table(db, CHANGES_TABLE).get(WATERMARK_ID)('pruned_before').default(null),
    entries: entriesAfter(db, tbl, after, limit).coerceTo('array'),
  }) as RDatum as RDatum<TailAnswer>;
}

/**
 * Deletes the entries older than `retention` milliseconds (by the server's clock), after
 * recording the cut in the watermark, so a feed that had not read them yet knows it.
 *
 * @example
 * await conn.run('prune change log', pruneEntries(db, 86_400_000), { write: true });
 */
export function pruneEntries(db: string, retention: number) {
  const log = table(db, CHANGES_TABLE);
  return r.now().sub(retention / 1000).do((cutoff: RDatum) =>
    log
      .insert({ id: WATERMARK_ID, pruned_before: cutoff }, { conflict: 'replace' })
      .do((_recorded: RDatum) => log.between(r.minval, cutoff, { index: 'at' }).delete()),
  );
}
