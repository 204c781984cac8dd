/**
 * The assertions the conformance suite is written with: the part of chai's `expect` it uses,
 * on node:assert's `AssertionError`, so that `chainstore/testing` needs no assertion library.
 *
 * Why not chai itself: the suite runs inside the user's project, and a peer dependency on
 * chai would tie every backend author to one chai major (chai 5 is ES-module only, chai 4
 * is CommonJS), for about fifteen matchers. Mocha prints these failures with a diff, as it
 * does chai's, because they carry `actual` and `expected`.
 *
 * @example
 * import { expect } from './expect';
 * expect(await query.getBlock(conn, 1), 'block 1').to.deep.equal({ height: 1, app_hash: 'a', transactions: [] });
 * expect(ids).to.have.members([a.id, b.id]);
 * expect(error).to.be.an.instanceOf(ValidationError);
 */
import { AssertionError } from 'node:assert';
import { inspect } from 'node:util';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyClass = abstract new (...args: any[]) => unknown;

/** `.a(type)` / `.an(type)` checks a type name; `.an.instanceOf(Class)` a class. */
export interface TypeAssertion {
  (type: string): void;
  instanceOf(type: AnyClass): void;
}

/** `.include(part)` checks a substring, an array member or (deep) object properties; `.include.members(list)` a subset. */
export interface IncludeAssertion {
  (part: unknown): void;
  members(list: readonly unknown[]): void;
}

/**
 * What `expect(actual)` returns. `to`, `be` and `have` only read well; `deep` switches
 * `equal`, `include` and `members` from `===` to structural equality, as chai's does.
 *
 * @example
 * expect(hits).to.have.length(2);
 * expect(hit).to.deep.include({ id: mug });
 */
export class Assertion {
  #deep = false;

  constructor(
    private readonly actual: unknown,
    private readonly message: string | undefined,
  ) {}

  get to(): this {
    return this;
  }

  get be(): this {
    return this;
  }

  get have(): this {
    return this;
  }

  get deep(): this {
    this.#deep = true;
    return this;
  }

  get a(): TypeAssertion {
    return this.an;
  }

  get an(): TypeAssertion {
    const check = (type: string): void => {
      const actualType = typeName(this.actual);
      this.#assert(actualType === type, `to be a${/^[aeiou]/.test(type) ? 'n' : ''} ${type}, but it is ${actualType}`, type, actualType);
    };
    return Object.assign(check, {
      instanceOf: (type: AnyClass): void => {
        this.#assert(this.actual instanceof type, `to be an instance of ${type.name}`);
      },
    });
  }

  get include(): IncludeAssertion {
    const check = (part: unknown): void => {
      const { actual } = this;
      if (typeof actual === 'string') {
        this.#assert(typeof part === 'string' && actual.includes(part), `to include ${show(part)}`);
      } else if (Array.isArray(actual)) {
        this.#assert(actual.some((member) => this.#same(member, part)), `to include ${show(part)}`);
      } else if (actual !== null && typeof actual === 'object' && part !== null && typeof part === 'object') {
        const record = actual as Record<string, unknown>;
        const missing = Object.entries(part).filter(([key, value]) => !(key in record) || !this.#same(record[key], value));
        this.#assert(missing.length === 0, `to ${this.#deep ? 'deeply ' : ''}include ${show(part)}`);
      } else {
        this.#assert(false, `to include ${show(part)}, but it is ${typeName(actual)}`);
      }
    };
    return Object.assign(check, {
      members: (list: readonly unknown[]): void => {
        const actual = this.#array('include.members');
        const missing = list.filter((wanted) => !actual.some((member) => this.#same(member, wanted)));
        this.#assert(missing.length === 0, `to include the members ${show(list)} (missing ${show(missing)})`);
      },
    });
  }

  /** Strict equality, or structural with `deep` (own enumerable keys, type tags, -0 apart from 0). */
  equal(expected: unknown): void {
    const pass = this.#same(this.actual, expected);
    this.#assert(pass, `to ${this.#deep ? 'deeply ' : ''}equal ${show(expected)}`, expected, this.actual);
  }

  /** The same members, in any order, as many times each (`===`, or structural with `deep`). */
  members(list: readonly unknown[]): void {
    const actual = this.#array('members');
    const unmatched = [...list];
    const extra: unknown[] = [];
    for (const member of actual) {
      const at = unmatched.findIndex((wanted) => this.#same(member, wanted));
      if (at === -1) extra.push(member);
      else unmatched.splice(at, 1);
    }
    const pass = extra.length === 0 && unmatched.length === 0;
    this.#assert(pass, `to have the same members as ${show(list)} (missing ${show(unmatched)}, extra ${show(extra)})`, list, actual);
  }

  length(expected: number): void {
    const length = (this.actual as { length?: unknown } | null | undefined)?.length;
    this.#assert(length === expected, `to have length ${expected}, but its length is ${show(length)}`, expected, length);
  }

  satisfy(predicate: (value: never) => boolean): void {
    this.#assert(predicate(this.actual as never), `to satisfy ${predicate.toString()}`);
  }

  greaterThan(bound: number): void {
    this.#assert(typeof this.actual === 'number' && this.actual > bound, `to be greater than ${bound}`);
  }

  below(bound: number): void {
    this.#assert(typeof this.actual === 'number' && this.actual < bound, `to be below ${bound}`);
  }

  #same(left: unknown, right: unknown): boolean {
    return this.#deep ? deepEqual(left, right) : left === right;
  }

  #array(matcher: string): readonly unknown[] {
    if (!Array.isArray(this.actual)) this.#assert(false, `to be an array for .${matcher}(), but it is ${typeName(this.actual)}`);
    return this.actual as readonly unknown[];
  }

  #assert(pass: boolean, expectation: string, ...diff: [expected: unknown, actual: unknown] | []): void {
    if (pass) return;
    const prefix = this.message ? `${this.message}: ` : '';
    const error = new AssertionError({
      message: `${prefix}expected ${show(this.actual)} ${expectation}`,
      ...(diff.length ? { expected: diff[0], actual: diff[1] } : {}),
    });
    // Without a pair to compare, a diff would only repeat the message.
    if (!diff.length) Object.assign(error, { showDiff: false });
    throw error;
  }
}

/**
 * Starts an assertion on `actual`; `message` prefixes its failure, as in chai.
 *
 * @example
 * expect(error.code).to.equal('CHAINSTORE_VALIDATION');
 * expect.fail('the feed ended early');
 */
export function expect(actual: unknown, message?: string): Assertion {
  return new Assertion(actual, message);
}

/**
 * Fails the running test with `message`.
 *
 * @example
 * if (next.done) expect.fail('the feed ended after 2 of 3 events');
 */
expect.fail = function fail(message: string): never {
  throw new AssertionError({ message });
};

/** chai's type names: 'null', 'array', 'object', 'date', or typeof for primitives. */
function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return Object.prototype.toString.call(value).slice(8, -1).toLowerCase();
}

/**
 * chai's deep equality for the values records are made of: the same type tag, the same own
 * enumerable keys with deeply equal values; prototypes are not compared (a record built
 * with a null prototype equals the literal written in a test), NaN equals NaN, -0 is not 0.
 */
export function deepEqual(left: unknown, right: unknown): boolean {
  if (left === right) return left !== 0 || 1 / (left as number) === 1 / (right as number);
  if (typeof left === 'number' && typeof right === 'number') return Number.isNaN(left) && Number.isNaN(right);
  if (left === null || right === null || typeof left !== 'object' || typeof right !== 'object') return false;
  const tag = Object.prototype.toString.call(left);
  if (tag !== Object.prototype.toString.call(right)) return false;
  if (left instanceof Date) return left.getTime() === (right as Date).getTime();
  if (ArrayBuffer.isView(left)) return Buffer.from(left.buffer, left.byteOffset, left.byteLength).equals(viewBytes(right as ArrayBufferView));
  if (left instanceof Map || left instanceof Set) return deepEqual([...left], [...(right as Map<unknown, unknown> | Set<unknown>)]);
  const leftKeys = Object.keys(left);
  const rightKeys = Object.keys(right);
  if (leftKeys.length !== rightKeys.length) return false;
  const rightRecord = right as Record<string, unknown>;
  const leftRecord = left as Record<string, unknown>;
  return leftKeys.every((key) => Object.prototype.hasOwnProperty.call(rightRecord, key) && deepEqual(leftRecord[key], rightRecord[key]));
}

function viewBytes(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

function show(value: unknown): string {
  return inspect(value, { depth: 4, breakLength: Infinity, maxArrayLength: 20, maxStringLength: 200 });
}
