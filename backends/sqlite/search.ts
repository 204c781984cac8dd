/**
 * Full-text search on SQLite: FTS5 with the porter stemmer, ranked by bm25.
 */
import { UnsupportedOperationError, quoted } from '../../lib/errors';
import type { TextSearchOptions, TextSearchResult } from '../../lib/query';
import { type ParsedSearch, parseSearch, searchResults } from '../../lib/search';
import type { SqliteConnection } from './connection';

/** The languages this backend's index understands. */
const LANGUAGES = ['english', 'none'];

/** FTS5 string literal: the tokenizer still applies inside, so stemming works on it. */
// NUL ends an FTS5 query string early: it separates words like a space.
const literal = (term: string) => `"${term.replace(/\u0000/g, ' ').replace(/"/g, '""')}"`;

/**
 * An FTS5 MATCH expression for a parsed search, or null when nothing can match.
 *
 * @example
 * fts5Query(parseSearch('coffee -decaf'));   // '("coffee") NOT ("decaf")'
 * fts5Query(parseSearch('tea "fair trade"'));  // '"fair trade"'
 * fts5Query(parseSearch('-decaf'));          // null
 */
export function fts5Query({ words, phrases, excluded }: ParsedSearch): string | null {
  // As on MongoDB: with phrases, only the phrases decide a match; otherwise any word does.
  const positive = phrases.length ? phrases.map(literal).join(' AND ') : words.map(literal).join(' OR ');
  if (!positive) return null;
  return excluded.length ? `(${positive}) NOT (${excluded.map(literal).join(' OR ')})` : positive;
}

/**
 * Searches asset data (default) or metadata, best match first. The FTS5 score (bm25, where
 * lower is better) is negated so that, as on MongoDB, a higher score is a better match.
 *
 * @example
 * await query.textSearch(conn, 'coffee -decaf', { limit: 5 });
 */
export async function textSearch(conn: SqliteConnection, search: string, options: TextSearchOptions = {}): Promise<TextSearchResult[]> {
  const { table = 'assets', limit, caseSensitive = false, language = 'english' } = options;
  if (!LANGUAGES.includes(language)) {
    throw new UnsupportedOperationError('sqlite', `text search language ${quoted(language)} is not supported (supported: ${LANGUAGES.join(', ')})`);
  }
  const parsed = parseSearch(search, language);
  const match = fts5Query(parsed);
  if (match === null) return [];
  const column = table === 'assets' ? 'data' : 'metadata';
  // Exact matching narrows the index's (stemmed, case-folded) matches, so the limit applies after it.
  const exact = caseSensitive || language === 'none';
  const sql =
    `SELECT d.id, d.${column} AS doc, -bm25(${table}_fts) AS score FROM ${table}_fts JOIN ${table} d ON d.seq = ${table}_fts.rowid ` +
    `WHERE ${table}_fts MATCH ? ORDER BY bm25(${table}_fts)${exact || limit === undefined ? '' : ' LIMIT ?'}`;
  const params: unknown[] = exact || limit === undefined ? [match] : [match, limit];
  const rows = conn.read('text search', () => conn.statement(sql).all(...params)) as { id: string; doc: string; score: number }[];
  const hits = rows.map((row) => ({ id: row.id, doc: JSON.parse(row.doc), score: row.score }));
  return searchResults(hits, parsed, { field: column, caseSensitive, exactWords: language === 'none', limit });
}
