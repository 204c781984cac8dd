/**
 * Full-text search on MongoDB: a wildcard text index on assets and on metadata (every string
 * of a document, stemmed in English), queried with `$text` and ranked by `textScore`.
 *
 * A word the index splits into pieces ("pre-market") is searched as a quoted phrase, so it
 * means its pieces together, in order, as on the other backends (filters.ts textSearchStrings).
 *
 * One collection has one text index, stemmed in one language, and the query's terms are
 * stemmed in the query's `$language`: a query in another language would compare differently
 * stemmed words. So `'english'` is the index's own language, `'none'` (exact words) asks the
 * index in English and keeps only the exact-word matches, and other languages are refused.
 */
import { UnsupportedOperationError, quoted } from '../../lib/errors';
import type { TextSearchOptions, TextSearchResult } from '../../lib/query';
import { type SearchHit, parseSearch, searchResults } from '../../lib/search';
import type { MongoConnection } from './connection';
import type { Document } from './driver';
import { BACKEND } from './errors';
import { textSearchQuery, textSearchStrings } from './filters';
import { TEXT_LANGUAGE } from './indexes';

/**
 * The languages `textSearch` accepts.
 *
 * @example
 * SEARCH_LANGUAGES.includes('none');   // true
 */
export const SEARCH_LANGUAGES: readonly string[] = Object.freeze([TEXT_LANGUAGE, 'none']);

/**
 * The matches of several queries as one list: each record once, with its best score, best
 * first, then in write order (`_id`), as one query would sort them.
 *
 * @example
 * mergeHits([[{ _id, id: 'a', score: 1 }], [{ _id, id: 'a', score: 2 }]], 'data');   // [{ id: 'a', doc: undefined, score: 2 }]
 */
export function mergeHits(lists: readonly (readonly Document[])[], field: 'data' | 'metadata'): SearchHit[] {
  const best = new Map<string, { order: string; hit: SearchHit }>();
  for (const rows of lists) {
    for (const row of rows) {
      const hit = { id: row.id as string, doc: row[field], score: row.score as number };
      const seen = best.get(hit.id);
      if (!seen || hit.score > seen.hit.score) best.set(hit.id, { order: String(row._id), hit });
    }
  }
  return [...best.values()]
    .sort((a, b) => b.hit.score - a.hit.score || (a.order < b.order ? -1 : a.order > b.order ? 1 : 0))
    .map((entry) => entry.hit);
}

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
      `text search language ${quoted(language)} is not supported: the text indexes stem in ${TEXT_LANGUAGE} (supported: ${SEARCH_LANGUAGES.join(', ')})`,
    );
  }
  const parsed = parseSearch(search, language);
  const strings = textSearchStrings(parsed);
  if (strings.length === 0) return [];
  const field = table === 'assets' ? 'data' : 'metadata';
  // Narrowing to exact words happens after the queries, so the limit too. Otherwise each
  // query's best `limit` hold the best `limit` of all of them.
  const exact = caseSensitive || language === 'none';
  const lists = await conn.attempt('text search', async (db) => {
    const found: Document[][] = [];
    for (const text of strings) {
      const { filter, projection, sort } = textSearchQuery(text, { field, language: TEXT_LANGUAGE, caseSensitive });
      found.push(await db.collection(table).find(filter, { projection, sort, ...(exact || limit === undefined ? {} : { limit }) }).toArray());
    }
    return found;
  });
  return searchResults(mergeHits(lists, field), parsed, { field, caseSensitive, exactWords: language === 'none', limit });
}
