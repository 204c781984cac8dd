/**
 * Query parameters read as BigchainDB reads them (flask-restful's `reqparse` with the
 * validators of `bigchaindb/web/views/parameters.py`), failing with its exact texts.
 */

/** A parameter error: BigchainDB answers `400 {"message": {"<name>": "<text>"}}`. */
export class ParameterError extends Error {
  /** The HTTP status and body to answer with (the HTTP layer sends them as they are). */
  readonly statusCode = 400;
  readonly body: { message: string | Record<string, string> };

  constructor(body: { message: string | Record<string, string> }) {
    super(typeof body.message === 'string' ? body.message : Object.values(body.message).join('; '));
    this.name = 'ParameterError';
    this.body = body;
  }
}

/** Turns the raw text of a parameter into its value, or throws with the validator's text. */
type Reader<T> = (text: string) => T;

const MISSING = 'Missing required parameter in the JSON body or the post body or the query string';

/** A hash (transaction or asset id): 64 hex digits, read in lower case. */
export const txid: Reader<string> = (text) => {
  if (!/^[a-fA-F0-9]{64}$/.test(text)) throw new Error('Invalid hash');
  return text.toLowerCase();
};

/** `true` or `false`, in any case (BigchainDB's text says lower case; its code takes any). */
export const bool: Reader<boolean> = (text) => {
  const lower = text.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw new Error('Boolean value must be "true" or "false" (lowercase)');
};

/** A base58 Ed25519 public key: 43 or 44 base58 digits. */
export const ed25519: Reader<string> = (text) => {
  if (!/^[1-9a-zA-Z]{43,44}$/.test(text) || /[Il0O]/.test(text)) throw new Error('Invalid base58 ed25519 key');
  return text;
};

/** `create` or `transfer`, in any case, read in upper case. */
export const operation: Reader<'CREATE' | 'TRANSFER'> = (text) => {
  const upper = text.toUpperCase();
  if (upper === 'CREATE' || upper === 'TRANSFER') return upper;
  throw new Error('Operation must be "CREATE" or "TRANSFER"');
};

/** The broadcast mode of a POST, exactly as spelt. */
export const mode: Reader<'async' | 'sync' | 'commit'> = (text) => {
  if (text === 'async' || text === 'sync' || text === 'commit') return text;
  throw new Error('Mode must be "async", "sync" or "commit"');
};

/** Python's `int()`: optional sign and surrounding whitespace, digits with single underscores between. */
export const int: Reader<number> = (text) => {
  const trimmed = text.trim();
  if (!/^[+-]?\d+(_\d+)*$/.test(trimmed)) throw new Error(`invalid literal for int() with base 10: ${pythonQuote(text)}`);
  return Number(trimmed.replace(/_/g, ''));
};

/** Any string. */
export const string: Reader<string> = (text) => text;

function pythonQuote(text: string): string {
  return text.includes("'") && !text.includes('"') ? `"${text}"` : `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** How a route declares one parameter. */
export interface ParameterSpec<T> {
  readonly read: Reader<T>;
  readonly required?: boolean;
}

type Values<S extends Record<string, ParameterSpec<unknown>>> = {
  [K in keyof S]: S[K] extends ParameterSpec<infer T> ? (S[K]['required'] extends true ? T : T | undefined) : never;
};

/**
 * Reads the declared parameters from a parsed query string. With `strict`, a parameter not
 * declared is refused (`Unknown arguments: a, b`), as on BigchainDB's strict routes. A
 * parameter given twice counts once, by its first value, as flask-restful reads it.
 *
 * @throws {ParameterError} with BigchainDB's body
 * @example
 * const { public_key, spent } = readParameters(request.query, { public_key: { read: ed25519, required: true }, spent: { read: bool } }, true);
 */
export function readParameters<S extends Record<string, ParameterSpec<unknown>>>(raw: unknown, specs: S, strict = false): Values<S> {
  const given = (raw ?? {}) as Record<string, string | string[] | undefined>;
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    // Own properties only: `toString` or `constructor` in the query must not find Object's.
    const value = Object.hasOwn(given, name) ? given[name] : undefined;
    const text = Array.isArray(value) ? value[0] : value;
    if (text === undefined) {
      if (spec.required) throw new ParameterError({ message: { [name]: MISSING } });
      continue;
    }
    try {
      values[name] = spec.read(text);
    } catch (error) {
      throw new ParameterError({ message: { [name]: (error as Error).message } });
    }
  }
  if (strict) {
    // `in` would take `toString`, `constructor` or `__proto__` for declared parameters.
    const unknown = Object.keys(given).filter((name) => !Object.hasOwn(specs, name));
    if (unknown.length) throw new ParameterError({ message: `Unknown arguments: ${unknown.join(', ')}` });
  }
  return values as Values<S>;
}
