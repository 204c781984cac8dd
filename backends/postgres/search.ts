/**
 * Full-text search on PostgreSQL: tsvector columns generated from every string of a
 * document (accents and combining marks folded with `unaccent`, English stemming,
 * GIN-indexed); the search words are folded the same way. Ranked with ts_rank divided by
 * 1 + log2 of the record's length in words (normalization 1), so that a record the words
 * cover more of ranks higher: `coffee` above `coffee and cream`. Another language is computed
 * on the fly (a scan; documented), `'none'` uses the `simple` configuration.
 */
import { UnsupportedOperationError, quoted } from '../../lib/errors';
import type { TextSearchOptions, TextSearchResult } from '../../lib/query';
import { type ParsedSearch, parseSearch, searchResults } from '../../lib/search';
import type { PostgresConnection } from './connection';

/**
 * ts_rank's normalization that divides by 1 + log2 of the document's length in words: plain
 * ts_rank scores every record with one occurrence of a word alike, whatever else it says.
 */
const RANK_BY_LENGTH = 1;

/** The tsquery for a parsed search, with its parameters; null when nothing can match. */
export function tsQuery({ words, phrases, excluded }: ParsedSearch, firstParam: number): { sql: string; values: string[] } | null {
  const values: string[] = [];
  const term = (fn: string, text: string) => {
    // Folded and cut as the indexed text is (schema.ts, chainstore_search_fold).
    values.push(text);
    return `${fn}(cfg.c, chainstore_search_fold($${firstParam + values.length - 1}))`;
  };
  // As on MongoDB: with phrases, only the phrases decide a match; otherwise any word does.
  const positive = phrases.length ? phrases.map((p) => term('phraseto_tsquery', p)).join(' && ') : words.map((w) => term('plainto_tsquery', w)).join(' || ');
  if (!positive) return null;
  // A term of punctuation alone has no lexemes and its tsquery is empty; `empty && !!x` is
  // `!!x`, which would match every record without x. So an empty positive part matches
  // nothing (a NULL query), whatever the exclusions say.
  const combined = excluded.length ? `p && !!(${excluded.map((e) => term('phraseto_tsquery', e)).join(' || ')})` : 'p';
  const sql = `(SELECT CASE WHEN numnode(p) = 0 THEN NULL ELSE ${combined} END FROM (SELECT ${positive} AS p) positive)`;
  return { sql, values };
}

/**
 * Searches asset data (default) or metadata, best match first (higher score is better).
 *
 * @example
 * await query.textSearch(conn, 'coffee -decaf', { limit: 5 });
 */
export async function textSearch(conn: PostgresConnection, search: string, options: TextSearchOptions = {}): Promise<TextSearchResult[]> {
  const { table = 'assets', limit, caseSensitive = false, language = 'english' } = options;
  // A text search configuration is a plain name; anything else is no language this server has.
  if (!/^[a-z_][a-z0-9_]*$/i.test(language)) {
    throw new UnsupportedOperationError('postgres', `text search language ${quoted(language)} is not supported`);
  }
  const parsed = parseSearch(search, language);
  const config = language === 'none' ? 'simple' : language;
  const query = tsQuery(parsed, 2);
  if (!query) return [];
  const column = table === 'assets' ? 'data' : 'metadata';
  // The stored, indexed vector is English; any other configuration is computed per row.
  const vector = config === 'english' ? 't.search' : `to_tsvector(cfg.c, chainstore_search_text_folded(t.${column}))`;
  const exact = caseSensitive || language === 'none';
  const sql =
    `SELECT t.id, t.${column} AS doc, ts_rank(${vector}, q.q, ${RANK_BY_LENGTH}) AS score ` +
    `FROM (SELECT $1::regconfig AS c) cfg, LATERAL (SELECT ${query.sql} AS q) q, ${table} t ` +
    `WHERE ${vector} @@ q.q ORDER BY score DESC, t.seq${exact || limit === undefined ? '' : ` LIMIT ${Number(limit)}`}`;
  let rows: { id: string; doc: unknown; score: number }[];
  try {
    rows = await conn.query('text search', sql, [config, ...query.values]);
  } catch (error) {
    // An unknown text search configuration is a language this server does not speak.
    if ((error as { cause?: { code?: string } }).cause?.code === '42704') {
      throw new UnsupportedOperationError('postgres', `text search language ${quoted(language)} is not supported by this server`, { cause: error });
    }
    throw error;
  }
  return searchResults(rows, parsed, { field: column, caseSensitive, exactWords: language === 'none', limit });
}
