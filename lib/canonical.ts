/**
 * Canonical JSON: keys sorted, no spaces, characters as they are (raw UTF-8). Two values
 * that are equal as JSON have the same canonical text whatever their key order, which is what
 * a checksum of records read back from different engines needs (PostgreSQL's jsonb, for one,
 * returns keys in its own order). It is also the form BigchainDB hashes a transaction in.
 *
 * It writes byte for byte what `json-stable-stringify` writes (with the BigchainDB driver's
 * key comparator). It is written out here because the node runs it twice for every post and
 * that library, built for options this does not need, costs four times as much.
 */

/**
 * The canonical JSON text of `value`: keys sorted, no spaces, raw UTF-8 characters.
 *
 * @throws {TypeError} for a value with no JSON form (undefined, a function)
 * @example
 * canonicalJson({ b: 1, a: 'é' });   // '{"a":"é","b":1}'
 */
export function canonicalJson(value: unknown): string {
  const text = serialize(value);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}

/**
 * json-stable-stringify's rules: `toJSON` first; primitives as JSON.stringify writes them;
 * an array's items with `null` for those that have no JSON form; an object's keys in the
 * driver's order (`a.key > b.key`, which for distinct keys is the default sort's UTF-16
 * order), skipping those whose value has no JSON form.
 */
function serialize(value: unknown): string | undefined {
  if (value && typeof (value as { toJSON?: unknown }).toJSON === 'function') value = (value as { toJSON(): unknown }).toJSON();
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let index = 0; index < value.length; index += 1) {
      if (index > 0) out += ',';
      out += serialize(value[index]) ?? 'null';
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  for (const key of keys) {
    const item = serialize(record[key]);
    if (item === undefined) continue;
    if (out.length > 1) out += ',';
    out += `${JSON.stringify(key)}:${item}`;
  }
  return `${out}}`;
}

