/**
 * Strings shaped like attacks on a query language or like trouble for a driver: SQL, MongoDB
 * operator objects serialized as strings, ReQL, LIKE and regular-expression patterns, full-
 * text query syntax, NUL and the private-use character PostgreSQL's NUL escape uses, quotes,
 * backslashes, unicode of every plane, and very long strings. A fixed corpus (run every time,
 * as fast-check examples) plus generated ones.
 */
import fc from 'fast-check';

/** Every one is run on every string argument, every time. */
export const INJECTION_CORPUS: readonly string[] = [
  // SQL
  "'; DROP TABLE transactions; --",
  "' OR '1'='1",
  '" OR ""="',
  "1; SELECT pg_sleep(5); --",
  "'); DELETE FROM blocks; --",
  "' UNION SELECT body FROM transactions --",
  '$1',
  '?',
  ':name',
  '@p0',
  '/* comment */',
  // MongoDB operators, serialized
  '{"$gt": ""}',
  '{"$ne": null}',
  '{"$where": "sleep(1000) || true"}',
  '{"$regex": ".*"}',
  '{"$or": [{}, {"a": 1}]}',
  '$where',
  // ReQL and JavaScript
  "r.db('rethinkdb').table('users').delete()",
  "r.table('transactions').filter(r.row('id').match('.*'))",
  "r.js('while(true){}')",
  // patterns
  '%',
  '_',
  '%_%',
  '*',
  '.*',
  '^$',
  '[a-z]+',
  // full-text query syntax (FTS5, tsquery, $text)
  '"unbalanced',
  'NEAR(a b)',
  'text:value',
  'a & b | !c',
  "a:* <-> 'b'",
  '- -- ---',
  '-"phrase"',
  'AND OR NOT',
  // quotes and backslashes
  "'",
  '"',
  '`',
  "''",
  '\\',
  '\\\\',
  "\\'; --",
  '\\0',
  '\\u0000',
  // NUL, and the private-use character PostgreSQL's NUL escape is built on
  '\u0000',
  'a\u0000b',
  "\u0000'; DROP TABLE blocks; --",
  '\uE000',
  '\uE0000',
  '\uE000\uE000',
  'x\uE000\u0000y',
  // control characters and line breaks
  '\r\n\t\f\v\b',
  'line\u2028separator\u2029',
  // unicode
  'Ωmega ≈ ç √ ∫',
  '日本語のテキスト',
  'emoji 🦄🔥 and a flag 🇫🇷',
  '\u202Eright-to-left override',
  'zero\u200Bwidth\uFEFF',
  'e\u0301 vs \u00e9',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 astral',
  // words that mean something elsewhere
  'null',
  'undefined',
  'true',
  '0',
  '-1',
  'NaN',
  '__proto__',
  'constructor',
];

const MONGO_OPERATORS = ['$gt', '$gte', '$lt', '$ne', '$in', '$nin', '$or', '$and', '$not', '$exists', '$where', '$regex', '$expr', '$function'];

/** A MongoDB operator object, serialized as a string. */
const mongoOperatorString = fc
  .tuple(fc.constantFrom(...MONGO_OPERATORS), fc.jsonValue({ maxDepth: 1 }))
  .map(([operator, value]) => JSON.stringify({ [operator]: value }));

/** A very long string: corpus text or random characters repeated to 1,000 - 100,000 code points. */
const longString = fc
  .tuple(fc.oneof(fc.constantFrom(...INJECTION_CORPUS), fc.string({ unit: 'binary', minLength: 1, maxLength: 20 })), fc.integer({ min: 1000, max: 100_000 }))
  // Cut by code points: cutting by UTF-16 units could leave half a surrogate pair.
  .map(([seed, length]) => Array.from(seed.repeat(Math.ceil(length / seed.length))).slice(0, length).join(''));

/** Corpus pieces glued to random text. */
const mixed = fc
  .tuple(fc.string({ unit: 'binary', maxLength: 10 }), fc.constantFrom(...INJECTION_CORPUS), fc.string({ unit: 'grapheme', maxLength: 10 }))
  .map(([a, b, c]) => a + b + c);

/**
 * A non-empty injection-shaped string. (Well-formed unicode: a lone surrogate is not a
 * string any engine can store, and is outside what this checks.)
 */
export const injectionString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...INJECTION_CORPUS) },
  { weight: 2, arbitrary: mongoOperatorString },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }) },
  { weight: 3, arbitrary: mixed },
  { weight: 1, arbitrary: longString },
);

/**
 * Very long strings every run tries too: SQL repeated to 100,000 characters (thousands of
 * words), 5,000 distinct ideographs (15,000 bytes of UTF-8), and one 100,000-character word
 * made of address-like parts.
 */
export const LONG_EXAMPLES: readonly string[] = [
  "'; DROP TABLE transactions; --".repeat(3500).slice(0, 100_000),
  Array.from({ length: 5000 }, (_, i) => String.fromCodePoint(0x4e00 + i)).join(''),
  '@p0'.repeat(33_334).slice(0, 100_000),
];

const hasNul = (s: string) => s.includes('\u0000');

/**
 * The strings without NUL, and the ones with it. Apart, because PostgreSQL needs NUL escaped
 * wherever it goes: a failure there must not hide every other finding.
 */
export const INJECTIONS = {
  withoutNul: {
    arbitrary: injectionString.filter((s) => !hasNul(s)),
    /** The corpus and the long strings, as fast-check examples (each run first, every time). */
    examples: [...INJECTION_CORPUS, ...LONG_EXAMPLES].filter((s) => !hasNul(s)).map((s): [string] => [s]),
  },
  withNul: {
    // NUL put anywhere, between code points (never between the halves of a surrogate pair).
    arbitrary: fc.tuple(injectionString, fc.nat()).map(([s, at]) => {
      const points = Array.from(s);
      points.splice(at % (points.length + 1), 0, '\u0000');
      return points.join('');
    }),
    examples: INJECTION_CORPUS.filter(hasNul).map((s): [string] => [s]),
  },
};
