/**
 * The MongoDB server the conformance suite runs against: CHAINSTORE_TEST_MONGODB_URL. No
 * MongoDB server is assumed to be around, so without that variable the MongoDB specs are
 * skipped with one plain line saying how to run them; with it, an unreachable server fails them.
 */
import { type Connection, connect, schema } from '../../lib';
import { TABLES } from '../../lib/tables';
import type { MongoConnection } from '../../backends/localmongodb';

/**
 * Where the MongoDB specs connect (unset: they are skipped).
 *
 * @example
 * // CHAINSTORE_TEST_MONGODB_URL='mongodb://127.0.0.1:27017/?replicaSet=rs0' npx mocha spec/backends/localmongodb.spec.ts
 */
export const MONGODB_URL = process.env.CHAINSTORE_TEST_MONGODB_URL || undefined;

/**
 * The database the specs use when the URL names none.
 *
 * @example
 * (await connectMongo()).config.name;   // 'chainstore_test' for mongodb://127.0.0.1:27017/?replicaSet=rs0
 */
export const MONGODB_TEST_DATABASE = 'chainstore_test';

let announced = false;

/**
 * Skips the enclosing suite when no MongoDB server is configured.
 *
 * @example
 * describe('localmongodb backend', function () {
 *   before(skipWithoutMongo);
 * });
 */
export function skipWithoutMongo(this: Mocha.Context): void {
  if (MONGODB_URL) return;
  if (!announced) {
    announced = true;
    console.log(
      '  skipping MongoDB conformance: CHAINSTORE_TEST_MONGODB_URL is not set (start a server with: ' +
        'docker run -d -p 27017:27017 mongo:7 --replSet rs0, run rs.initiate() in it, then set ' +
        'CHAINSTORE_TEST_MONGODB_URL=mongodb://127.0.0.1:27017/?replicaSet=rs0)',
    );
  }
  this.skip();
}

/**
 * A connection to the test database (a URL naming a database wins over the default one).
 *
 * @example
 * const conn = await connectMongo({ maxTries: 1 });
 */
export function connectMongo(options: Record<string, unknown> = {}): Promise<Connection> {
  return connect({ backend: 'localmongodb', url: MONGODB_URL, name: MONGODB_TEST_DATABASE, ...options });
}

/** The URL up to its path, the database its path names (if any), and the rest. */
const URL_PARTS = /^([a-z][a-z0-9+.-]*:\/\/(?:.*@)?[^@/?#]*)(?:\/([^?#]*))?(.*)$/is;

/**
 * A second database on the test server for the specs that make and drop one, named after the
 * test database. The spec drops it.
 *
 * @example
 * otherMongo('second');   // { name: 'chainstore_test_second', connect } for a URL naming no database
 */
export function otherMongo(suffix: string): { name: string; connect(): Promise<Connection> } {
  const [, start = '', path = '', rest = ''] = URL_PARTS.exec(MONGODB_URL ?? '') ?? [];
  const testDatabase = path ? decodeURIComponent(path) : MONGODB_TEST_DATABASE;
  const name = `${testDatabase}_${suffix}`;
  // A URL naming a database wins over the name option: that URL names the other one instead.
  const connectOther = path
    ? () => connect({ backend: 'localmongodb', url: `${start}/${encodeURIComponent(name)}${rest}` })
    : () => connectMongo({ name });
  return { name, connect: connectOther };
}

/**
 * Empties every collection, creating collections and indexes first if needed: faster than
 * dropping the database, and the indexes and collection options stay as initDatabase made them.
 *
 * @example
 * runConformance({ name: 'localmongodb', connect: () => connectMongo(), reset: emptyDatabase });
 */
export async function emptyDatabase(conn: Connection): Promise<void> {
  await schema.initDatabase(conn);
  await (conn as MongoConnection).attempt('reset test database', async (db) => {
    for (const table of TABLES) await db.collection(table).deleteMany({});
  });
}
