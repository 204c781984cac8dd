/**
 * Every shipped backend implements every generic itself. The defaults registered for the
 * base Connection (lib/defaults.ts, and the step-by-step commitBlock of lib/ledger.ts) exist
 * for third-party backends; a built-in one inheriting them would be an oversight, except the
 * commit protocol where the engine has no multi-document transactions.
 */
import { expect } from 'chai';
import { Connection, admin, capabilities, changefeed, query, schema } from '../lib';
import { type AnyClass, type Generic, type GenericSignature, coverage, isGeneric } from '../lib/dispatch';
import { MongoConnection } from '../backends/localmongodb';
import { PostgresConnection } from '../backends/postgres';
import { RethinkConnection } from '../backends/rethinkdb';
import { SqliteConnection } from '../backends/sqlite';

const SHIPPED: [string, AnyClass, string[]][] = [
  ['sqlite', SqliteConnection, []],
  ['postgres', PostgresConnection, []],
  ['localmongodb', MongoConnection, []],
  // No multi-document transactions: the step-by-step protocol, repaired by recover().
  ['rethinkdb', RethinkConnection, ['query.commitBlock']],
];

/** Every generic of every interface module, by full name. */
const GENERICS = new Map(
  [query, schema, changefeed, admin, { capabilities }]
    .flatMap((module) => Object.values(module))
    .filter(isGeneric)
    .map((fn) => [fn.genericName, fn as Generic<GenericSignature>] as const),
);

describe('coverage of the shipped backends', () => {
  for (const [name, cls, inherits] of SHIPPED) {
    it(`${name} has no 'missing' generic, and inherits only ${inherits.length ? inherits.join(', ') : 'nothing'}`, () => {
      const states = coverage(cls);
      expect(Object.entries(states).filter(([, state]) => state === 'missing'), 'missing').to.deep.equal([]);
      // Handlers of the SQL family (backends/sql) are the engine's own code, inherited from its
      // family class; only those of the base Connection are defaults.
      const fromBase = Object.keys(states).filter((name) => {
        const fn = GENERICS.get(name)!;
        return fn.dispatch(cls) === fn.dispatch(Connection);
      });
      expect(fromBase.sort(), 'handlers inherited from the base Connection').to.deep.equal([...inherits].sort());
    });
  }
});
