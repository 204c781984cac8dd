/**
 * Text search on RethinkDB, which has no text index: a scan of every asset (or metadata)
 * document, matching regular expressions against the text stored with it (the string values
 * of its data, see documents.ts). Its cost grows with the table, not with the results.
 *
 * The language is the shared one (lib/search.ts): words are alternatives, `"phrases"` must all
 * appear (and alone decide a match when present), `-word` excludes. Words match whole words,
 * ignoring case unless `caseSensitive`. There is no stemming: with `language: 'english'` (the
 * default) a search word also matches longer words that begin with it (`run` finds `running`,
 * `shoe` finds `shoes`; `running` does not find `run`); with `'none'` words match exactly.
 * Other languages are refused. The score is how often the search's words occur in the
 * document's text (counted per whitespace-separated token); best first, then write order.
 *
 * The expressions are RE2 syntax (what the server's `match` runs) restricted to constructs
 * JavaScript reads the same way with the `u` flag, so they can be checked without a server.
 */
import { type RDatum, type RStream, r } from 'rethinkdb-ts';
import { UnsupportedOperationError, quoted } from '../../lib/errors';
import type { TextSearchOptions, TextSearchResult } from '../../lib/query';
import { type ParsedSearch, parseSearch, escapeRegExp } from '../../lib/search';
import { stampOrder, table } from './tables';

/**
 * The languages the search understands.
 *
 * @example
 * LANGUAGES.includes(options.language ?? 'english');
 */
export const LANGUAGES = ['english', 'none'] as const;

/** A letter or a digit, in any script; anything else separates words. */
const WORD_CHAR = '[\\p{L}\\p{N}]';
const NOT_WORD_CHAR = '[^\\p{L}\\p{N}]';

/** Escapes the characters RE2 and JavaScript regular expressions treat as syntax. */

/**
 * What a search looks for, as regular expressions over a document's text.
 *
 * @example
 * searchPlan(parseSearch('mug -red'), { caseSensitive: false, language: 'english' });
 * // { anyOf: '(?i)(?:^|[^\\p{L}\\p{N}])(?:mug[\\p{L}\\p{N}]*)(?:$|[^\\p{L}\\p{N}])', allOf: [], noneOf: '(?i)…red…', scoreWords: ['(?i)…mug…'] }
 */
export interface SearchPlan {
  /** At least one of the words must appear (absent when phrases decide). */
  anyOf?: string;
  /** Every phrase must appear. */
  allOf: string[];
  /** None of the excluded words or phrases may appear. */
  noneOf?: string;
  /** One expression per word whose occurrences make the score. */
  scoreWords: string[];
}

/**
 * The regular expressions of a parsed search; null when nothing can match (no word and no
 * phrase).
 *
 * @example
 * searchPlan(parseSearch('"blue mug"'), { caseSensitive: true, language: 'none' })?.allOf;
 * // ['(?:^|[^\\p{L}\\p{N}])blue[^\\p{L}\\p{N}]+mug(?:$|[^\\p{L}\\p{N}])']
 */
export function searchPlan(search: ParsedSearch, options: { caseSensitive: boolean; language: string }): SearchPlan | null {
  const { words, phrases, excluded } = search;
  if (words.length === 0 && phrases.length === 0) return null;
  const flags = options.caseSensitive ? '' : '(?i)';
  const stemless = options.language === 'none';
  const word = (w: string) => `${escapeRegExp(w)}${stemless ? '' : `${WORD_CHAR}*`}`;
  const term = (text: string) => text.split(/\s+/).filter(Boolean).map(word).join(`${NOT_WORD_CHAR}+`);
  const whole = (body: string) => `${flags}(?:^|${NOT_WORD_CHAR})${body}(?:$|${NOT_WORD_CHAR})`;
  const anyTerm = (texts: string[]) => whole(`(?:${texts.map(term).join('|')})`);
  // As on MongoDB: with phrases, only the phrases decide a match; otherwise any word does.
  const scoring = phrases.length ? phrases.flatMap((p) => p.split(/\s+/).filter(Boolean)) : words;
  return {
    ...(phrases.length ? {} : { anyOf: anyTerm(words) }),
    allOf: phrases.map((p) => whole(term(p))),
    ...(excluded.length ? { noneOf: anyTerm(excluded) } : {}),
    scoreWords: [...new Set(scoring)].map((w) => whole(word(w))),
  };
}

/**
 * Checks `language` and returns the search's plan (null when nothing can match).
 *
 * @example
 * planFor('coffee -decaf', { language: 'english' });
 */
export function planFor(search: string, options: TextSearchOptions = {}): SearchPlan | null {
  const { caseSensitive = false, language = 'english' } = options;
  if (!(LANGUAGES as readonly string[]).includes(language)) {
    throw new UnsupportedOperationError('rethinkdb', `text search language ${quoted(language)} is not supported (supported: ${LANGUAGES.join(', ')}; there is no stemming)`);
  }
  return searchPlan(parseSearch(search, language), { caseSensitive, language });
}

/**
 * The scan that runs a plan over asset data (default) or metadata: the matching documents,
 * best score first (then write order), at most `limit`, as `{ id, data | metadata, score }`.
 *
 * @example
 * textSearchTerm(db, plan, { table: 'metadata', limit: 10 });
 */
export function textSearchTerm(db: string, plan: SearchPlan, options: TextSearchOptions = {}): RStream<TextSearchResult> {
  const name = options.table ?? 'assets';
  const field = name === 'assets' ? 'data' : 'metadata';
  const text = (doc: RDatum) => doc('text').default('');
  const found = (doc: RDatum, pattern: string) => text(doc).match(pattern).ne(null);
  const conditions = (doc: RDatum) => [
    ...(plan.anyOf ? [found(doc, plan.anyOf)] : []),
    ...plan.allOf.map((pattern) => found(doc, pattern)),
    ...(plan.noneOf ? [found(doc, plan.noneOf).not()] : []),
  ];
  const occurrences = (doc: RDatum, pattern: string) =>
    text(doc)
      .split()
      .filter((token: RDatum) => token.match(pattern).ne(null))
      .count();
  const score = (doc: RDatum) => plan.scoreWords.map((pattern) => occurrences(doc, pattern)).reduce((sum, count) => sum.add(count));
  const hits = table(db, name)
    .filter((doc: RDatum) => r.and(...(conditions(doc) as [RDatum<boolean>, ...RDatum<boolean>[]])))
    .map<TextSearchResult & { order: unknown }>((doc: RDatum) => ({ id: doc('id'), [field]: doc(field), score: score(doc), order: stampOrder(doc) }))
    .orderBy(r.desc('score'), r.asc('order'));
  return (options.limit === undefined ? hits : hits.limit(options.limit)).without('order') as RStream<Partial<TextSearchResult>> as RStream<TextSearchResult>;
}
