/**
 * Crypto-conditions fulfillments: parsing with the driver's own library, verification with
 * Node's native Ed25519 (the library falls back to pure-JS tweetnacl, about 30 times slower,
 * when its optional native module is not built, which is the usual case).
 *
 * Signatures are verified asynchronously, in libuv's thread pool: a verification costs
 * about 100 µs of CPU, the largest single cost of accepting a post, and the event loop
 * that serves HTTP and commits blocks need not spend it.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { Ed25519Sha256, Fulfillment, ThresholdSha256 } from 'crypto-conditions';

/** The DER prefix that turns a raw 32-byte Ed25519 public key into an SPKI document. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** The parts of the library's classes it keeps private in its type declarations. */
interface Ed25519Parts {
  publicKey: Buffer;
  signature: Buffer;
}
interface ThresholdParts {
  threshold: number;
  subconditions: { type: 'condition' | 'fulfillment'; body: Fulfillment }[];
}

/** A parsed fulfillment: what it fulfils, and whether it is valid for a message. */
export interface ParsedFulfillment {
  /** The URI of the condition it fulfils, or null when that cannot be computed. */
  readonly conditionUri: string | null;
  /** Whether it is valid for `message` (the 32 bytes an input signs). */
  valid(message: Buffer): Promise<boolean>;
}

/**
 * Parses a fulfillment URI (base64url DER), or returns null when it does not parse.
 *
 * A lone Ed25519 fulfillment, which is what the driver's `signTransaction` makes, is read
 * straight from its fixed 102-byte layout: the library's ASN.1 parser costs about 300 µs,
 * four times the signature check. Anything else goes through the library.
 *
 * @example
 * const fulfillment = parseFulfillment(tx.inputs[0].fulfillment);
 * fulfillment?.conditionUri;   // 'ni:///sha-256;...?fpt=ed25519-sha-256&cost=131072'
 * await fulfillment?.valid(inputMessage(unsignedForm(tx), null));   // true
 */
export function parseFulfillment(uri: string): ParsedFulfillment | null {
  const bytes = Buffer.from(uri, 'base64');
  if (isEd25519Layout(bytes)) return ed25519Fulfillment(bytes.subarray(4, 36), bytes.subarray(38, 102));
  let fulfillment: Fulfillment;
  try {
    fulfillment = Fulfillment.fromBinary(bytes);
  } catch {
    return null;
  }
  return { conditionUri: conditionUriOf(fulfillment), valid: (message) => fulfillmentValid(fulfillment, message) };
}

/**
 * `a4 64 | 80 20 <public key> | 81 40 <signature>`: the DER of an Ed25519-SHA-256
 * fulfillment (context tag 4, two primitive fields of 32 and 64 bytes), and nothing after.
 */
function isEd25519Layout(bytes: Buffer): boolean {
  return bytes.length === 102 && bytes[0] === 0xa4 && bytes[1] === 0x64 && bytes[2] === 0x80 && bytes[3] === 0x20 && bytes[36] === 0x81 && bytes[37] === 0x40;
}

/** DER of the fingerprint contents of an Ed25519 condition, before the public key. */
const ED25519_FINGERPRINT_PREFIX = Buffer.from('30228020', 'hex');
/** Every Ed25519-SHA-256 condition costs the same (RFC draft: 2^17). */
const ED25519_COST = 131072;

function ed25519Fulfillment(publicKey: Buffer, signature: Buffer): ParsedFulfillment {
  const fingerprint = createHash('sha256').update(ED25519_FINGERPRINT_PREFIX).update(publicKey).digest('base64url');
  return {
    conditionUri: `ni:///sha-256;${fingerprint}?fpt=ed25519-sha-256&cost=${ED25519_COST}`,
    valid: (message) => ed25519Valid(publicKey, signature, message),
  };
}

function conditionUriOf(fulfillment: Fulfillment): string | null {
  try {
    return fulfillment.getConditionUri();
  } catch {
    return null;
  }
}

/**
 * Whether `fulfillment` is valid for `message`: Ed25519 signatures verified natively, a
 * threshold fulfilled by exactly `threshold` valid subfulfillments (crypto-conditions'
 * rule: enough, and no more than needed), any other type by the library.
 */
async function fulfillmentValid(fulfillment: Fulfillment, message: Buffer): Promise<boolean> {
  if (fulfillment instanceof Ed25519Sha256) {
    const { publicKey, signature } = fulfillment as unknown as Ed25519Parts;
    return ed25519Valid(publicKey, signature, message);
  }
  if (fulfillment instanceof ThresholdSha256) {
    const { threshold, subconditions } = fulfillment as unknown as ThresholdParts;
    const fulfilled = subconditions.filter((sub) => sub.type === 'fulfillment');
    if (fulfilled.length !== threshold) return false;
    const verdicts = await Promise.all(fulfilled.map((sub) => fulfillmentValid(sub.body, message)));
    return verdicts.every(Boolean);
  }
  try {
    return fulfillment.validate(message) === true;
  } catch {
    return false;
  }
}

function ed25519Valid(publicKey: Buffer, signature: Buffer, message: Buffer): Promise<boolean> {
  if (publicKey?.length !== 32 || signature?.length !== 64) return Promise.resolve(false);
  let key: KeyObject;
  try {
    key = publicKeyObject(publicKey);
  } catch {
    // Not a point on the curve: no signature can be valid for it.
    return Promise.resolve(false);
  }
  // With a callback, Node runs the verification in its thread pool.
  return new Promise((resolve) => {
    try {
      verify(null, message, key, signature, (error, valid) => resolve(!error && valid));
    } catch {
      resolve(false);
    }
  });
}

/** Keys seen recently, as Node key objects: making one costs as much as a verification. */
const keyCache = new Map<string, KeyObject>();
const KEY_CACHE_SIZE = 10_000;

function publicKeyObject(raw: Buffer): KeyObject {
  const id = raw.toString('latin1');
  let key = keyCache.get(id);
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    if (keyCache.size >= KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value as string);
    keyCache.set(id, key);
  }
  return key;
}
