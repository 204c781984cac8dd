/**
 * PostgreSQL's text and jsonb cannot hold the NUL character (U+0000), while a transaction may
 * carry it in any string. Strings with NUL are therefore stored with a reversible escape, in
 * every parameter and every document, and unescaped when read, so every string round-trips
 * as written, and a key stored escaped is found by a lookup escaped the same way:
 *
 *   U+0000 -> U+E000 '0'      U+E000 -> U+E000 U+E000
 *
 * (U+E000 is a private-use character; escaping it too keeps the scheme unambiguous.) The
 * common case pays one scan of the JSON text, on write and on read.
 */

const ESCAPE = '\uE000';

const escapeString = (s: string) => s.replace(/\uE000/g, ESCAPE + ESCAPE).replace(/\u0000/g, `${ESCAPE}0`);
const unescapeString = (s: string) => s.replace(/\uE000(\uE000|0)/g, (_, c: string) => (c === '0' ? '\u0000' : ESCAPE));

function mapStrings(value: unknown, map: (s: string) => string): unknown {
  if (typeof value === 'string') return map(value);
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, map));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [map(key), mapStrings(item, map)]));
  }
  return value;
}

/**
 * The JSON text of `value`, ready for a jsonb parameter.
 *
 * @example
 * jsonbText({ note: 'a\u0000b' });   // '{"note":"a\uE0000b"}'
 */
export function jsonbText(value: unknown): string {
  const text = JSON.stringify(value);
  if (!text.includes('\\u0000') && !text.includes(ESCAPE)) return text;
  // The escape character is written as a JSON escape, so that the text itself holds no raw
  // U+E000 and passes through escapeParameter unchanged.
  return JSON.stringify(mapStrings(value, escapeString)).replace(/\uE000/g, '\\ue000');
}

/**
 * A query parameter with its strings escaped (arrays element by element); JSON texts made by
 * {@link jsonbText} come through unchanged.
 *
 * @example
 * escapeParameter('a\u0000b');   // 'a\uE0000b'
 */
export function escapeParameter(value: unknown): unknown {
  if (typeof value === 'string') return /[\u0000\uE000]/.test(value) ? escapeString(value) : value;
  if (Array.isArray(value)) return value.map(escapeParameter);
  return value;
}

/**
 * A text column's value from the server, unescaped.
 *
 * @example
 * parseText('a\uE0000b');   // 'a\u0000b'
 */
export function parseText(text: string): string {
  return text.includes(ESCAPE) ? unescapeString(text) : text;
}

/**
 * Parses jsonb text from the server, undoing the escape.
 *
 * @example
 * parseJsonb('{"note":"a\uE0000b"}');   // { note: 'a\u0000b' }
 */
export function parseJsonb(text: string): unknown {
  const value = JSON.parse(text);
  return text.includes(ESCAPE) ? mapStrings(value, unescapeString) : value;
}
