/**
 * BigchainDB 2.2.2's v2.0 transaction schema (draft-04): the common schema, then the
 * TRANSFER one for a TRANSFER and the CREATE one for every other operation, as
 * `validate_transaction_schema` applies them. Written afresh from BigchainDB's YAML, with
 * its patterns exactly as they are (several unanchored: BigchainDB accepts what they accept).
 *
 * Like BigchainDB, two validators: a compiled one (ajv) decides, and only for a transaction
 * it refuses, a walk of the same schema in Python jsonschema's order finds the error that
 * jsonschema's `best_match` reports, worded as jsonschema words it.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import { pyRepr } from './pyrepr';

/** A draft-04 schema, as far as these three use it. */
type Schema = { readonly [keyword: string]: unknown };

const sha3Hexdigest = { pattern: '[0-9a-f]{64}', type: 'string' };

/** The schema every transaction meets (BigchainDB's `transaction_v2.0.yaml`). Key order matters: it is jsonschema's order. */
const COMMON: Schema = {
  type: 'object',
  additionalProperties: false,
  title: 'Transaction Schema',
  required: ['id', 'inputs', 'outputs', 'operation', 'metadata', 'asset', 'version'],
  properties: {
    id: { anyOf: [{ $ref: '#/definitions/sha3_hexdigest' }, { type: 'null' }] },
    operation: { $ref: '#/definitions/operation' },
    asset: { $ref: '#/definitions/asset' },
    inputs: { type: 'array', title: 'Transaction inputs', items: { $ref: '#/definitions/input' } },
    outputs: { type: 'array', items: { $ref: '#/definitions/output' } },
    metadata: { $ref: '#/definitions/metadata' },
    version: { type: 'string', pattern: '^2\\.0$' },
  },
  definitions: {
    offset: { type: 'integer', minimum: 0 },
    base58: { pattern: '[1-9a-zA-Z^OIl]{43,44}', type: 'string' },
    public_keys: { anyOf: [{ type: 'array', items: { $ref: '#/definitions/base58' } }, { type: 'null' }] },
    sha3_hexdigest: sha3Hexdigest,
    operation: { type: 'string', enum: ['CREATE', 'TRANSFER', 'VALIDATOR_ELECTION', 'CHAIN_MIGRATION_ELECTION', 'VOTE'] },
    asset: {
      type: 'object',
      additionalProperties: false,
      properties: {
        id: { $ref: '#/definitions/sha3_hexdigest' },
        data: { anyOf: [{ type: 'object', additionalProperties: true }, { type: 'null' }] },
      },
    },
    output: {
      type: 'object',
      additionalProperties: false,
      required: ['amount', 'condition', 'public_keys'],
      properties: {
        amount: { type: 'string', pattern: '^[0-9]{1,20}$' },
        condition: {
          type: 'object',
          additionalProperties: false,
          required: ['details', 'uri'],
          properties: {
            details: { $ref: '#/definitions/condition_details' },
            uri: {
              type: 'string',
              pattern: '^ni:///sha-256;([a-zA-Z0-9_-]{0,86})[?](fpt=(ed25519|threshold)-sha-256(&)?|cost=[0-9]+(&)?|subtypes=ed25519-sha-256(&)?){2,3}$',
            },
          },
        },
        public_keys: { $ref: '#/definitions/public_keys' },
      },
    },
    input: {
      type: 'object',
      additionalProperties: false,
      required: ['owners_before', 'fulfillment'],
      properties: {
        owners_before: { $ref: '#/definitions/public_keys' },
        fulfillment: { anyOf: [{ type: 'string', pattern: '^[a-zA-Z0-9_-]*$' }, { $ref: '#/definitions/condition_details' }] },
        fulfills: {
          anyOf: [
            {
              type: 'object',
              additionalProperties: false,
              required: ['output_index', 'transaction_id'],
              properties: { output_index: { $ref: '#/definitions/offset' }, transaction_id: { $ref: '#/definitions/sha3_hexdigest' } },
            },
            { type: 'null' },
          ],
        },
      },
    },
    metadata: { anyOf: [{ type: 'object', additionalProperties: true, minProperties: 1 }, { type: 'null' }] },
    condition_details: {
      anyOf: [
        {
          type: 'object',
          additionalProperties: false,
          required: ['type', 'public_key'],
          properties: { type: { type: 'string', pattern: '^ed25519-sha-256$' }, public_key: { $ref: '#/definitions/base58' } },
        },
        {
          type: 'object',
          additionalProperties: false,
          required: ['type', 'threshold', 'subconditions'],
          properties: {
            type: { type: 'string', pattern: '^threshold-sha-256$' },
            threshold: { type: 'integer', minimum: 1, maximum: 100 },
            subconditions: { type: 'array', items: { $ref: '#/definitions/condition_details' } },
          },
        },
      ],
    },
  },
};

/** What a CREATE (and any operation but TRANSFER) must also meet: asset data, exactly one input that spends nothing. */
const CREATE: Schema = {
  type: 'object',
  title: 'Transaction Schema - CREATE specific constraints',
  required: ['asset', 'inputs'],
  properties: {
    asset: {
      additionalProperties: false,
      properties: { data: { anyOf: [{ type: 'object', additionalProperties: true }, { type: 'null' }] } },
      required: ['data'],
    },
    inputs: { type: 'array', title: 'Transaction inputs', maxItems: 1, minItems: 1, items: { type: 'object', required: ['fulfills'], properties: { fulfills: { type: 'null' } } } },
  },
};

/** What a TRANSFER must also meet: an asset id, and at least one input, each spending an output. */
const TRANSFER: Schema = {
  type: 'object',
  title: 'Transaction Schema - TRANSFER specific properties',
  required: ['asset'],
  properties: {
    asset: { additionalProperties: false, properties: { id: { $ref: '#/definitions/sha3_hexdigest' } }, required: ['id'] },
    inputs: { type: 'array', title: 'Transaction inputs', minItems: 1, items: { type: 'object', required: ['fulfills'], properties: { fulfills: { type: 'object' } } } },
  },
  definitions: { sha3_hexdigest: sha3Hexdigest },
};

// `definitions` and `title` are draft-04 vocabulary ajv accepts without its strict mode.
const ajv = new Ajv({ strict: false, allErrors: false });
const compiled = new Map<Schema, ValidateFunction>([COMMON, CREATE, TRANSFER].map((schema) => [schema, ajv.compile(schema)]));

/**
 * Null when `tx` meets BigchainDB's schema; else the message BigchainDB puts after
 * "Invalid transaction schema: ", e.g. `'version' is a required property`.
 *
 * @example
 * transactionSchemaError({ ...tx, version: '1.0' });   // "'1.0' does not match '^2\\\\.0$'"
 */
export function transactionSchemaError(tx: unknown): string | null {
  for (const schema of [COMMON, (tx as { operation?: unknown }).operation === 'TRANSFER' ? TRANSFER : CREATE]) {
    if (!compiled.get(schema)!(tx)) return bestMatch([...errorsOf(tx, schema, schema)])?.message ?? 'is not valid';
  }
  return null;
}

// ---------------------------------------------------------------------------
// The error jsonschema reports
// ---------------------------------------------------------------------------

/** One error as jsonschema 3.2 makes it: its keyword, its instance path's length, its anyOf context. */
interface SchemaError {
  readonly keyword: string;
  readonly depth: number;
  readonly message: string;
  readonly context: readonly SchemaError[];
}

/** jsonschema's `relevance`: shallower first, then anything but anyOf/oneOf (weak matches). */
const relevance = (error: SchemaError): [number, number] => [-error.depth, error.keyword === 'anyOf' ? 0 : 1];
const compare = (a: SchemaError, b: SchemaError) => {
  const [x, y] = [relevance(a), relevance(b)];
  return x[0] - y[0] || x[1] - y[1];
};

/** `best_match`: the first most relevant error, then into anyOf contexts by the first least relevant. */
function bestMatch(errors: readonly SchemaError[]): SchemaError | undefined {
  let best = errors.reduce<SchemaError | undefined>((top, error) => (top === undefined || compare(error, top) > 0 ? error : top), undefined);
  while (best && best.context.length) best = best.context.reduce((low, error) => (compare(error, low) < 0 ? error : low));
  return best;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function isType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    default:
      return false;
  }
}

/** jsonschema's `iter_errors`: keyword by keyword in the schema's own order, `$ref` alone when present. */
function* errorsOf(instance: unknown, schema: Schema, root: Schema, depth = 0): Generator<SchemaError> {
  const error = (keyword: string, message: string, context: SchemaError[] = []): SchemaError => ({ keyword, depth, message, context });
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.replace('#/definitions/', '');
    yield* errorsOf(instance, (root.definitions as Record<string, Schema>)[name], root, depth);
    return;
  }
  for (const [keyword, value] of Object.entries(schema)) {
    switch (keyword) {
      case 'type': {
        const types = Array.isArray(value) ? (value as string[]) : [value as string];
        if (!types.some((type) => isType(instance, type))) yield error(keyword, `${pyRepr(instance)} is not of type ${types.map((type) => pyRepr(type)).join(', ')}`);
        break;
      }
      case 'properties':
        if (!isObject(instance)) break;
        for (const [name, sub] of Object.entries(value as Record<string, Schema>)) {
          if (name in instance) yield* errorsOf(instance[name], sub, root, depth + 1);
        }
        break;
      case 'additionalProperties': {
        if (!isObject(instance) || value !== false) break;
        const known = Object.keys((schema.properties as object | undefined) ?? {});
        // jsonschema lists the extras in a set's order, which varies between runs for
        // several; the instance's order is as good as any.
        const extras = Object.keys(instance).filter((name) => !known.includes(name));
        if (extras.length) yield error(keyword, `Additional properties are not allowed (${extras.map((name) => pyRepr(name)).join(', ')} ${extras.length === 1 ? 'was' : 'were'} unexpected)`);
        break;
      }
      case 'required':
        if (!isObject(instance)) break;
        for (const name of value as string[]) if (!(name in instance)) yield error(keyword, `${pyRepr(name)} is a required property`);
        break;
      case 'pattern':
        if (typeof instance === 'string' && !new RegExp(value as string).test(instance)) yield error(keyword, `${pyRepr(instance)} does not match ${pyRepr(value)}`);
        break;
      case 'enum':
        if (!(value as unknown[]).includes(instance)) yield error(keyword, `${pyRepr(instance)} is not one of ${pyRepr(value)}`);
        break;
      case 'anyOf': {
        const context: SchemaError[] = [];
        let matched = false;
        for (const branch of value as Schema[]) {
          // Context errors carry paths relative to the anyOf's instance, as jsonschema's do.
          const branchErrors = [...errorsOf(instance, branch, root, 0)];
          if (branchErrors.length === 0) {
            matched = true;
            break;
          }
          context.push(...branchErrors);
        }
        if (!matched) yield error(keyword, `${pyRepr(instance)} is not valid under any of the given schemas`, context);
        break;
      }
      case 'items':
        if (Array.isArray(instance)) for (const item of instance) yield* errorsOf(item, value as Schema, root, depth + 1);
        break;
      case 'minItems':
        if (Array.isArray(instance) && instance.length < (value as number)) yield error(keyword, `${pyRepr(instance)} is too short`);
        break;
      case 'maxItems':
        if (Array.isArray(instance) && instance.length > (value as number)) yield error(keyword, `${pyRepr(instance)} is too long`);
        break;
      case 'minProperties':
        if (isObject(instance) && Object.keys(instance).length < (value as number)) yield error(keyword, `${pyRepr(instance)} does not have enough properties`);
        break;
      case 'minimum':
        if (typeof instance === 'number' && instance < (value as number)) yield error(keyword, `${pyRepr(instance)} is less than the minimum of ${pyRepr(value)}`);
        break;
      case 'maximum':
        if (typeof instance === 'number' && instance > (value as number)) yield error(keyword, `${pyRepr(instance)} is greater than the maximum of ${pyRepr(value)}`);
        break;
      default:
        // title, definitions: no check.
        break;
    }
  }
}
