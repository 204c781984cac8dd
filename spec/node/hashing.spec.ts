/**
 * The node's canonical serialization against the driver's serializer (json-stable-stringify
 * with the driver's key comparator): byte for byte the same on random JSON values, on values
 * holding what JSON has no form for, and on transactions the driver signed. If they
 * differed, the node would compute other ids than the driver and refuse its transactions as
 * InvalidHash.
 *
 * The reference is the library itself, not the driver's `serializeTransactionIntoCanonicalString`,
 * which first deep-copies with `clone`: that copy drops keys the object prototype also has
 * (`valueOf`, `toString`, `constructor`...). The driver's builders drop them from the data
 * too, so its own ids stay right; a transaction made another way that holds one is hashed
 * with every key, as BigchainDB hashes it.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import stableStringify from 'json-stable-stringify';
import { canonicalJson, transactionId } from '../../server';
import { keypair, output, signedCreate, signedTransfer } from './signed';

const driverSerialization = (value: unknown): string | undefined => stableStringify(value, (a, b) => (a.key > b.key ? 1 : -1));

/** Keys and strings over all of Unicode (well-formed), as a driver user may write them. */
const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    text,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(text, tie('value'), { maxKeys: 6 }),
  ),
})).value;

describe('node: canonical serialization', () => {
  it('writes what the driver writes for any JSON value', () => {
    fc.assert(
      fc.property(json, (value) => {
        // Through JSON, as a posted body is: plain objects, own keys only.
        const parsed = JSON.parse(JSON.stringify(value));
        expect(canonicalJson(parsed)).to.equal(driverSerialization(parsed));
      }),
      { numRuns: 2000 },
    );
  });

  it('writes what the driver writes for keys that look like array indexes, and for key order by UTF-16 unit', () => {
    const value = { b: 1, 10: 'ten', 2: 'two', a: [3, { z: null, '': 0 }], é: 'e acute', '\u{1F600}': 'astral', '\uFFFF': 'last of the BMP' };
    expect(canonicalJson(value)).to.equal(driverSerialization(value));
  });

  it('keeps keys named like the members of the object prototype, as BigchainDB hashes them', () => {
    const value = JSON.parse('{"valueOf":1,"toString":2,"constructor":3,"__proto__":{"hasOwnProperty":4}}');
    expect(canonicalJson(value)).to.equal('{"__proto__":{"hasOwnProperty":4},"constructor":3,"toString":2,"valueOf":1}');
    expect(canonicalJson(value)).to.equal(driverSerialization(value));
  });

  it('drops object members without a JSON form and writes null for such array items, as the driver does', () => {
    const value = { kept: 1, gone: undefined, fn: () => 1, list: [undefined, () => 1, 2], date: new Date(0) };
    expect(canonicalJson(value)).to.equal(driverSerialization(value));
    expect(canonicalJson(value)).to.equal('{"date":"1970-01-01T00:00:00.000Z","kept":1,"list":[null,null,2]}');
  });

  it('refuses a value with no JSON form at all', () => {
    expect(() => canonicalJson(undefined)).to.throw(TypeError, 'no JSON form');
  });

  it('computes the id the driver gave to CREATEs and TRANSFERs it signed', () => {
    const alice = keypair();
    const bob = keypair();
    for (let n = 0; n < 20; n += 1) {
      const create = signedCreate(alice, { n, name: `bicycle ${n}`, unicode: 'ünïcödé \u{1F6B2}' }, [output(alice.publicKey, '3')]);
      const transfer = signedTransfer(create, 0, alice, [output(bob.publicKey, '2'), output(alice.publicKey, '1')]);
      expect(transactionId(create)).to.equal(create.id);
      expect(transactionId(transfer)).to.equal(transfer.id);
    }
  });
});
