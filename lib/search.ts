/**
 * The text-search language every backend accepts (MongoDB's `$text` syntax): words are
 * alternatives, `"quoted phrases"` must all appear, `-word` / `-"phrase"` exclude. Parsed
 * here once; each backend turns the parts into its engine's query.
 */

/** Terms of a search that are used; the rest is ignored. */
export const MAX_TERMS = 64;
/** Words of a phrase that are used. */
export const MAX_PHRASE_WORDS = 32;
/**
 * Characters of a word that are used. An engine's tokenizer may split one "word" of ours
 * (no spaces, but punctuation an engine treats as a separator) into one term per piece, all
 * required: PostgreSQL builds a query tree as deep as the pieces are many, and a
 * 350,000-character word exceeded its stack. No human word is longer than this.
 */
export const MAX_WORD_LENGTH = 256;

/** `text` cut to MAX_WORD_LENGTH code points (never half a surrogate pair). */
const cutWord = (text: string): string => (text.length <= MAX_WORD_LENGTH ? text : Array.from(text).slice(0, MAX_WORD_LENGTH).join(''));

/**
 * A search string, taken apart.
 *
 * @example
 * const { words, phrases, excluded } = parseSearch('tea -"green tea"');
 * // words ['tea'], phrases [], excluded ['green tea']
 */
export interface ParsedSearch {
  /** Words of which at least one must appear (when there are no phrases). */
  words: string[];
  /** Phrases that must all appear. */
  phrases: string[];
  /** Words and phrases that must not appear. */
  excluded: string[];
}

/**
 * English stop words: words too common to search by. PostgreSQL's `english` configuration
 * (Snowball's list, these words) drops them from documents and queries, MongoDB's English
 * text index drops a list much like it, SQLite's FTS5 keeps every word. Dropped from English
 * searches here, a search for `the` or `or` finds nothing on every backend.
 *
 * @example
 * ENGLISH_STOP_WORDS.has('the');   // true
 */
export const ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set(
  ('i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers herself ' +
    'it its itself they them their theirs themselves what which who whom this that these those am is are was were be ' +
    'been being have has had having do does did doing a an the and but if or because as until while of at by for with ' +
    'about against between into through during before after above below to from up down in out on off over under ' +
    'again further then once here there when where why how all any both each few more most other some such no nor not ' +
    'only own same so than too very s t can will just don should now').split(' '),
);

/**
 * Splits a search string into words, phrases and exclusions. In English (the default), stop
 * words ({@link ENGLISH_STOP_WORDS}) are dropped from the words and exclusions, as PostgreSQL
 * and MongoDB drop them; phrases keep theirs (the engines match a phrase's words in order).
 *
 * @example
 * parseSearch('coffee "fair trade" -decaf');
 * // { words: ['coffee'], phrases: ['fair trade'], excluded: ['decaf'] }
 * parseSearch('the coffee or tea', 'english').words;   // ['coffee', 'tea']
 */
export function parseSearch(search: string, language = 'english'): ParsedSearch {
  const parsed = parseTerms(search);
  if (language !== 'english') return parsed;
  const kept = (word: string) => !ENGLISH_STOP_WORDS.has(word.toLowerCase());
  return { words: parsed.words.filter(kept), phrases: parsed.phrases, excluded: parsed.excluded.filter((term) => term.includes(' ') || kept(term)) };
}

function parseTerms(search: string): ParsedSearch {
  const parsed: ParsedSearch = { words: [], phrases: [], excluded: [] };
  const pattern = /(-?)"([^"]*)"|(-?)([^\s"]+)/g;
  let terms = 0;
  for (const match of search.matchAll(pattern)) {
    // A search is for people: past MAX_TERMS terms (or MAX_PHRASE_WORDS words in a phrase, or
    // MAX_WORD_LENGTH characters in a word) the rest is ignored, so that no engine is handed a
    // query it cannot plan.
    if (++terms > MAX_TERMS) break;
    const [, phraseNegated, phrase, wordNegated, word] = match;
    if (phrase !== undefined) {
      const text = phrase.trim().split(/\s+/).slice(0, MAX_PHRASE_WORDS).map(cutWord).join(' ');
      if (text) (phraseNegated ? parsed.excluded : parsed.phrases).push(text);
    } else if (word !== undefined && word !== '-') {
      (wordNegated ? parsed.excluded : parsed.words).push(cutWord(word));
    }
  }
  return parsed;
}

/**
 * The string values of a JSON value, joined with spaces (what the text indexes see).
 *
 * @example
 * searchableText({ serial: 'X-1', tags: ['fair', 'trade'], weight: 2 });   // 'X-1 fair trade'
 */
export function searchableText(value: unknown): string {
  const parts: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') parts.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(value);
  return parts.join(' ');
}

/**
 * `text` as a regular expression that matches it literally.
 *
 * @example
 * new RegExp(escapeRegExp('a+b')).test('a+b');   // true
 */
export const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Whether `text` satisfies a parsed search exactly, word for word (no stemming), with or
 * without regard to case. Backends whose index stems or folds case use it to narrow their
 * matches for `caseSensitive` or `language: 'none'`.
 *
 * @example
 * matchesExactly('Fair Trade coffee', parseSearch('"fair trade"'), true);   // false
 */
export function matchesExactly(text: string, search: ParsedSearch, caseSensitive: boolean): boolean {
  const flags = caseSensitive ? 'u' : 'iu';
  const has = (term: string) =>
    new RegExp(`(^|[^\\p{L}\\p{N}])${term.split(/\s+/).map(escapeRegExp).join('[^\\p{L}\\p{N}]+')}($|[^\\p{L}\\p{N}])`, flags).test(text);
  if (search.excluded.some(has)) return false;
  if (!search.phrases.every(has)) return false;
  return search.phrases.length > 0 || search.words.some(has);
}

/** A row a backend's text index matched: the record's id, its document, the engine's score. */
export interface SearchHit {
  id: string;
  doc: unknown;
  score: number;
}

/**
 * Turns an engine's matches, best first, into `textSearch` results: narrowed to exact words
 * when the index cannot tell (case, no stemming), then cut to `limit`.
 *
 * @example
 * searchResults(hits, parseSearch('Coffee'), { field: 'data', caseSensitive: true });
 */
export function searchResults(
  hits: Iterable<SearchHit>,
  search: ParsedSearch,
  options: { field: 'data' | 'metadata'; caseSensitive: boolean; exactWords: boolean; limit?: number },
): { id: string; score: number; data?: unknown; metadata?: unknown }[] {
  const exact = options.caseSensitive || options.exactWords;
  const results = [];
  for (const hit of hits) {
    if (exact && !matchesExactly(searchableText(hit.doc), search, options.caseSensitive)) continue;
    results.push({ id: hit.id, [options.field]: hit.doc, score: hit.score });
    if (options.limit !== undefined && results.length >= options.limit) break;
  }
  return results;
}
