/**
 * Full-text search on MongoDB: a wildcard text index on assets and on metadata (every string
 * of a document, stemmed in English), queried with `$text` and ranked by `textScore`.
 *
 * One collection has one text index, stemmed in one language, and the query's terms are
 * stemmed in the query's `$language`: a query in another language would compare differently
 * stemmed words. So `'english'` is the index's own language, `'none'` (exact words) asks the
 * index in English and keeps only the exact-word matches, and other languages are refused.
 */
import { UnsupportedOperationError } from '../../lib/errors';
import type { TextSearchOptions, TextSearchResult } from '../../lib/query';
import { parseSearch, searchResults } from '../../lib/search';
import type { MongoConnection } from './connection';
import { BACKEND } from './errors';
import { textSearchQuery, textSearchString } from './filters';
import { TEXT_LANGUAGE } from './indexes';

/**
 * The languages `textSearch` accepts.
 *
 * @example
 * SEARCH_LANGUAGES.includes('none');   // true
 */
export const SEARCH_LANGUAGES: readonly string[] = Object.freeze([TEXT_LANGUAGE, 'none']);

/**
 * Searches asset data (default) or metadata, best match first (higher score is better).
 *
 * @example
 * await query.textSearch(conn, 'coffee -decaf', { limit: 5 });
 */
export async function textSearch(conn: MongoConnection, search: string, options: TextSearchOptions = {}): Promise<TextSearchResult[]> {
  const { table = 'assets', limit, caseSensitive = false, language = TEXT_LANGUAGE } = options;
  if (!SEARCH_LANGUAGES.includes(language)) {
    throw new UnsupportedOperationError(
      BACKEND,
      `text search language '${language}' is not supported: the text indexes stem in ${TEXT_LANGUAGE} (supported: ${SEARCH_LANGUAGES.join(', ')})`,
    );
  }
  const parsed = parseSearch(search);
  const text = textSearchString(parsed);
  if (text === null) return [];
  const field = table === 'assets' ? 'data' : 'metadata';
  const { filter, projection, sort } = textSearchQuery(text, { field, language: TEXT_LANGUAGE, caseSensitive });
  // Narrowing to exact words happens after the query, so the limit too.
  const exact = caseSensitive || language === 'none';
  const rows = await conn.attempt('text search', (db) =>
    db.collection(table).find(filter, { projection, sort, ...(exact || limit === undefined ? {} : { limit }) }).toArray(),
  );
  const hits = rows.map((row) => ({ id: row.id as string, doc: row[field], score: row.score as number }));
  return searchResults(hits, parsed, { field, caseSensitive, exactWords: language === 'none', limit });
}
