/**
 * The RethinkDB server the specs run against: CHAINSTORE_TEST_RETHINKDB_URL. None can be
 * installed on the machines of this project, so without that variable the RethinkDB
 * conformance run is skipped with one plain line saying how to start a server elsewhere.
 */
import { type Connection, connect, schema } from '../../lib';
import type { RethinkConnection } from '../../backends/rethinkdb';
import { STORED_TABLES, table } from '../../backends/rethinkdb/tables';

/**
 * The line printed when the conformance run is skipped.
 *
 * @example
 * console.log(SKIP_LINE);
 */
export const SKIP_LINE =
  'skipping RethinkDB conformance: CHAINSTORE_TEST_RETHINKDB_URL is not set (start a server with: docker run -d -p 28015:28015 rethinkdb:2.4)';

/** The database the specs use when the URL names none (never the default `chainstore`). */
const TEST_DATABASE = 'chainstore_test';

/**
 * The test server's URL, with a database: the specs drop and empty it at will.
 *
 * @example
 * rethinkUrl({ CHAINSTORE_TEST_RETHINKDB_URL: 'rethinkdb://127.0.0.1:28015' });   // 'rethinkdb://127.0.0.1:28015/chainstore_test'
 */
export function rethinkUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = env.CHAINSTORE_TEST_RETHINKDB_URL;
  if (!url) return undefined;
  const parsed = new URL(url);
  if (parsed.pathname === '' || parsed.pathname === '/') parsed.pathname = `/${TEST_DATABASE}`;
  return parsed.toString();
}

let announced = false;

/**
 * Skips the enclosing suite when no test server is configured, saying so once.
 *
 * @example
 * describe('rethinkdb backend', function () { before(skipWithoutRethink); });
 */
export function skipWithoutRethink(this: Mocha.Context): void {
  if (rethinkUrl()) return;
  if (!announced) {
    announced = true;
    console.log(`  ${SKIP_LINE}`);
  }
  this.skip();
}

/**
 * A connection to the test database.
 *
 * @example
 * const conn = await connectRethink({ maxTries: 1 });
 */
export function connectRethink(options: Record<string, unknown> = {}): Promise<Connection> {
  return connect({ backend: 'rethinkdb', url: rethinkUrl(), ...options });
}

/**
 * A second database on the test server for the specs that make and drop one, named after the
 * test database. The spec drops it.
 *
 * @example
 * otherRethink('second');   // { name: 'chainstore_test_second', connect } for a URL naming no database
 */
export function otherRethink(suffix: string): { name: string; connect(): Promise<Connection> } {
  const url = new URL(rethinkUrl() ?? `rethinkdb://localhost/${TEST_DATABASE}`);
  const name = `${decodeURIComponent(url.pathname.slice(1))}_${suffix}`;
  url.pathname = `/${encodeURIComponent(name)}`;
  return { name, connect: () => connect({ backend: 'rethinkdb', url: url.toString() }) };
}

/**
 * Empties every table, the change log included (creating them first if needed): much faster
 * than dropping and creating the database, whose tables each take a moment to create.
 *
 * @example
 * runConformance({ name: 'rethinkdb', connect: () => connectRethink(), reset: emptyRethink });
 */
export async function emptyRethink(conn: Connection): Promise<void> {
  await schema.initDatabase(conn);
  const rethink = conn as RethinkConnection;
  for (const name of STORED_TABLES) await rethink.run(`empty ${name}`, table(rethink.db, name).delete({ durability: 'soft' }), { write: true });
}
