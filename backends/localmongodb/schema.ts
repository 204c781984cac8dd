/**
 * Collections and indexes of the localmongodb backend. MongoDB makes a database when its
 * first collection is made; createTables makes every collection that is missing and every
 * index (a named index that exists already is left as it is), so running it again, or on an
 * older database, adds what is missing and loses nothing.
 *
 * Where the server keeps change stream pre- and post-images (a replica set or sharded
 * cluster, MongoDB 6.0+), they are turned on for every collection (collMod): a changefeed
 * then delivers a deleted record as it was. Turning them on may be refused without harm (the
 * user lacks the collMod right, or the deployment does not offer the option): the tables are
 * still made and feeds deliver deleted records as null there. Any other refusal fails
 * createTables with a mapped error naming the collection.
 */
import type { HandlerMap } from '../../lib/dispatch';
import type * as schema from '../../lib/schema';
import { TABLES } from '../../lib/tables';
import type { MongoConnection } from './connection';
import type { Db, Document, IndexDescription } from './driver';
import { isRetryable, mapMongoError } from './errors';
import { INDEXES } from './indexes';

/** Server codes: the collection exists; an index exists under this name with other options or keys. */
const NAMESPACE_EXISTS = 48;
const INDEX_CONFLICTS = new Set([85, 86]);

/**
 * Server codes of a collMod that turning images on may meet without anything being wrong
 * with the database: the user lacks the right, or the deployment does not offer the option.
 *
 * @example
 * PRE_IMAGES_REFUSALS.get(13);   // 'unauthorized'
 */
export const PRE_IMAGES_REFUSALS: ReadonlyMap<number, 'unauthorized' | 'unsupported'> = new Map([
  [13, 'unauthorized'], // Unauthorized: an application's readWrite user has no collMod right
  [59, 'unsupported'], // CommandNotFound
  [72, 'unsupported'], // InvalidOptions: "unknown option to collMod" (servers before the option)
  [115, 'unsupported'], // CommandNotSupported
  [8000, 'unsupported'], // AtlasError: a managed tier that refuses the command
  [40415, 'unsupported'], // IDLUnknownField: a server that parses collMod strictly and knows no such field
]);

/**
 * The `collMod` command that makes a collection keep change stream pre- and post-images.
 *
 * @example
 * await db.command(preImagesCommand('utxos'));   // { collMod: 'utxos', changeStreamPreAndPostImages: { enabled: true } }
 */
export function preImagesCommand(table: string): Document {
  return { collMod: table, changeStreamPreAndPostImages: { enabled: true } };
}

/**
 * True when a collection's options (as listCollections gives them) keep pre- and post-images.
 *
 * @example
 * keepsImages({ changeStreamPreAndPostImages: { enabled: true } });   // true
 */
export function keepsImages(options: Document | undefined): boolean {
  return (options?.changeStreamPreAndPostImages as { enabled?: unknown } | undefined)?.enabled === true;
}

const code = (error: unknown) => (error as { code?: unknown } | null)?.code as number | undefined;

/**
 * What a failed collMod that turns images on means: a refusal createTables lives with
 * (`'unauthorized'`, `'unsupported'`), or an error to throw (mapped, naming the collection;
 * a lost connection is thrown as it is, for the caller's retries).
 *
 * @example
 * preImagesFailure(new MongoServerError({ code: 13, errmsg: 'not authorized' }), 'utxos');   // 'unauthorized'
 * preImagesFailure(new MongoServerError({ code: 2, errmsg: 'BadValue' }), 'utxos');          // an OperationError
 */
export function preImagesFailure(error: unknown, table: string): 'unauthorized' | 'unsupported' | Error {
  const refusal = PRE_IMAGES_REFUSALS.get(code(error) ?? 0);
  if (refusal) return refusal;
  if (isRetryable(error)) return error as Error;
  return mapMongoError(error, `create tables: turning on change stream pre- and post-images of ${table} (collMod)`);
}

/**
 * Turns pre- and post-images on, unless the user may not or the deployment cannot (then a
 * feed delivers deleted records as null until an administrator runs initDatabase once).
 */
async function enablePreImages(db: Db, table: string): Promise<void> {
  await db.command(preImagesCommand(table)).catch((error: unknown) => {
    const outcome = preImagesFailure(error, table);
    if (outcome instanceof Error) throw outcome;
  });
}

/**
 * Creates `indexes` on a collection. An index that exists under its name with other options
 * (made by an older version, or by an operator) is kept rather than dropped: additive.
 */
async function createIndexes(db: Db, table: string, indexes: readonly IndexDescription[]): Promise<void> {
  if (indexes.length === 0) return;
  try {
    await db.collection(table).createIndexes([...indexes]);
  } catch (error) {
    if (!INDEX_CONFLICTS.has(code(error) ?? 0)) throw error;
    // One conflicting index fails the whole command: create the others one by one.
    for (const index of indexes) {
      await db.collection(table).createIndexes([index]).catch((conflict: unknown) => {
        if (!INDEX_CONFLICTS.has(code(conflict) ?? 0)) throw conflict;
      });
    }
  }
}

/**
 * The schema handlers of the localmongodb backend, registered by its index.
 *
 * @example
 * registerHandlers(MongoConnection, schema, schemaHandlers);
 */
export const schemaHandlers: HandlerMap<typeof schema, typeof MongoConnection> = {
  // MongoDB makes a database with its first collection: here, only reach the server.
  async createDatabase(conn, name = conn.config.name) {
    await conn.attempt('create database', (_db, client) => client.db(name).command({ ping: 1 }));
  },

  async createTables(conn, name = conn.config.name) {
    const { preImages } = await conn.serverInfo();
    await conn.attempt('create tables', async (_db, client) => {
      const db = client.db(name);
      const existing = new Map((await db.listCollections().toArray()).map((c) => [c.name, (c as { options?: Document }).options ?? {}]));
      for (const table of TABLES) {
        if (!existing.has(table)) {
          await db.createCollection(table).catch((error: unknown) => {
            // Made meanwhile by another process: what we wanted.
            if (code(error) !== NAMESPACE_EXISTS) throw error;
          });
        }
        // Also on collections made before (by an older version): additive.
        if (preImages && !keepsImages(existing.get(table))) await enablePreImages(db, table);
        await createIndexes(db, table, INDEXES[table]);
      }
    });
  },

  async dropDatabase(conn, name = conn.config.name) {
    await conn.attempt('drop database', (_db, client) => client.db(name).dropDatabase());
  },

  async isInitialized(conn, name = conn.config.name) {
    const found = await conn.attempt('inspect schema', (_db, client) =>
      client.db(name).listCollections({ name: 'transactions' }, { nameOnly: true }).toArray(),
    );
    return found.length > 0;
  },
};
