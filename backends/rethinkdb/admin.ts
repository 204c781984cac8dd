/**
 * Admin handlers of the rethinkdb backend: configuration, record counts, and reshaping the
 * tables (shards and replicas, via `reconfigure`). Cluster membership is RethinkDB's own
 * business: a server joins by starting with `--join`, so adding or removing replicas by host
 * is refused; `setReplicas` places replicas on the servers the cluster has.
 *
 * Reading the configuration and reconfiguring need a user allowed to read the `rethinkdb`
 * system database and to configure the tables (`admin` is).
 *
 * Server tags. RethinkDB records where replicas are (server names), not the tags they were
 * placed by; `setShards` and `setReplicas` keep each table's replica count, which would place
 * replicas on any servers and undo a placement by tag (a datacenter per tag, say). So they
 * refuse when a replica of a table is on a server with a tag other than `default`, and say
 * to use `reconfigure` with `replicas` by tag instead, which is passed to RethinkDB as given.
 */
import { type RDatum, r } from 'rethinkdb-ts';
import * as admin from '../../lib/admin';
import type { Capabilities } from '../../lib/capabilities';
import type { HandlerMap } from '../../lib/dispatch';
import { UnsupportedOperationError } from '../../lib/errors';
import type { TableName } from '../../lib/tables';
import type { RethinkConnection } from './connection';
import { STORED_TABLES, type StoredTable, table } from './tables';
import { countRecordsTerm } from './terms';

/**
 * Shards and replicas of one table; replicas by server tag need the tag of the primary replica.
 *
 * @example
 * const layout: Layout = { shards: 2, replicas: { east: 2, west: 1 }, primaryReplicaTag: 'east' };
 */
export interface Layout {
  shards: number;
  replicas: number | Record<string, number>;
  primaryReplicaTag?: string;
}

/**
 * What {@link configTerm} answers.
 *
 * @example
 * const { servers: [first] }: ConfigAnswer = await conn.run('get config', configTerm(db));
 */
export interface ConfigAnswer {
  servers: { name: string; version: string }[];
  tables: ({ name: string } & Record<string, unknown>)[];
  status: { name: string; ready: boolean }[];
}

/**
 * The server names and versions, and the configuration and readiness of the database's tables.
 *
 * @example
 * const { servers, tables, status } = await conn.run('get config', configTerm(db));
 */
export function configTerm(db: string): RDatum<ConfigAnswer> {
  const system = r.db('rethinkdb');
  return r.expr({
    servers: system.table('server_status').map((server: RDatum) => ({ name: server('name'), version: server('process')('version') })).coerceTo('array'),
    tables: system
      .table('table_config')
      .filter((config: RDatum) => config('db').eq(db))
      .pluck('name', 'primary_key', 'shards', 'indexes', 'write_acks', 'durability')
      .coerceTo('array'),
    status: system
      .table('table_status')
      .filter((status: RDatum) => status('db').eq(db))
      .map((status: RDatum) => ({ name: status('name'), ready: status('status')('all_replicas_ready') }))
      .coerceTo('array'),
  }) as RDatum as RDatum<ConfigAnswer>;
}

/**
 * A table's current layout: shard count, most replicas per shard, and the tags (other than
 * `default`) of the servers its replicas are on.
 *
 * @example
 * const { shards, replicas, tags }: CurrentLayout = layouts.blocks;
 */
export interface CurrentLayout {
  shards: number;
  replicas: number;
  tags: string[];
}

/**
 * Each table's {@link CurrentLayout}.
 *
 * @example
 * await conn.run('read layout', layoutTerm(db, ['blocks']));   // { blocks: { shards: 1, replicas: 1, tags: [] } }
 */
export function layoutTerm(db: string, tables: readonly StoredTable[]): RDatum<Record<string, CurrentLayout>> {
  const servers = r.db('rethinkdb').table('server_config');
  return r.expr(
    Object.fromEntries(
      tables.map((name) => [
        name,
        table(db, name)
          .config()('shards')
          .do((shards: RDatum) => ({
            shards: shards.count(),
            replicas: shards.map((shard: RDatum) => shard('replicas').count()).max(),
            tags: shards
              .concatMap((shard: RDatum) => shard('replicas'))
              .distinct()
              .concatMap((server: RDatum) => servers.filter((config: RDatum) => config('name').eq(server)).concatMap((config: RDatum) => config('tags')).coerceTo('array'))
              .distinct()
              .filter((tag: RDatum) => tag.ne('default')),
          })),
      ]),
    ),
  ) as RDatum;
}

/**
 * Reconfigures each table to its layout (a dry run only reports what would change).
 *
 * @example
 * reconfigureTerm(db, { blocks: { shards: 2, replicas: 3 } }, true);
 */
export function reconfigureTerm(db: string, layouts: Partial<Record<StoredTable, Layout>>, dryRun: boolean) {
  return r.expr(
    Object.fromEntries(
      Object.entries(layouts).map(([name, layout]) => [name, table(db, name as StoredTable).reconfigure({ ...layout, dryRun })]),
    ),
  );
}

/** The layout for `replicas` given as a number or by server tag (a single tag is the primary's). */
function layoutFor(shards: number, replicas: number | Record<string, number>): Layout {
  if (typeof replicas === 'number') return { shards, replicas };
  const tags = Object.keys(replicas);
  if (tags.length !== 1) {
    throw new UnsupportedOperationError(
      'rethinkdb',
      'replicas by server tag need the tag of the primary replica; give a single tag ({ tag: n }) or a number',
    );
  }
  return { shards, replicas, primaryReplicaTag: tags[0] };
}

/**
 * Refuses to reshape tables whose replicas are placed by server tag (see the top of this file).
 *
 * @example
 * refuseTagged('set shards', { blocks: { shards: 1, replicas: 2, tags: ['east'] } });   // throws UnsupportedOperationError
 */
export function refuseTagged(what: string, current: Record<string, CurrentLayout>): void {
  const tagged = Object.entries(current).filter(([, layout]) => layout.tags.length);
  if (!tagged.length) return;
  const where = tagged.map(([name, layout]) => `${name} (${layout.tags.join(', ')})`).join(', ');
  throw new UnsupportedOperationError(
    'rethinkdb',
    `${what}: replicas of ${where} are on servers with tags; a replica count would place them ignoring the tags. ` +
      'Use admin.reconfigure with replicas by tag ({ tag: n }) instead',
  );
}

/** Applies `change` to the current layout of every table and reconfigures them. */
async function reshape(conn: RethinkConnection, what: string, dryRun: boolean, change: (current: CurrentLayout) => Layout) {
  const current = await conn.run(`${what}: read layout`, layoutTerm(conn.db, STORED_TABLES));
  refuseTagged(what, current);
  const layouts = Object.fromEntries(STORED_TABLES.map((name) => [name, change(current[name])]));
  return { dryRun, tables: await conn.run(what, reconfigureTerm(conn.db, layouts, dryRun), { write: !dryRun }) };
}

const MEMBERSHIP = 'a RethinkDB server joins the cluster itself (start it with --join host:29015); place replicas on it with setReplicas';

/**
 * The admin handlers of the rethinkdb backend, registered by its index.
 *
 * @example
 * registerHandlers(RethinkConnection, admin, adminHandlers);
 */
export const adminHandlers: HandlerMap<typeof admin, typeof RethinkConnection> = {
  async getConfig(conn) {
    const { servers, tables, status } = await conn.run('get config', configTerm(conn.db));
    const ready = new Map(status.map((s) => [s.name, s.ready]));
    return {
      backend: conn.backend,
      location: conn.location,
      database: conn.db,
      version: servers[0]?.version,
      servers,
      tables: Object.fromEntries(tables.map(({ name, ...config }) => [name, { ...config, ready: ready.get(name) ?? false }])),
      ...conn.options,
      ssl: Boolean(conn.config.ssl),
    };
  },

  async reconfigure(conn, { table: only, shards, replicas, dryRun = false }) {
    const layout = layoutFor(shards, replicas);
    const names: StoredTable[] = only ? [only as TableName] : [...STORED_TABLES];
    const layouts = Object.fromEntries(names.map((name) => [name, layout]));
    return { dryRun, tables: await conn.run('reconfigure', reconfigureTerm(conn.db, layouts, dryRun), { write: !dryRun }) };
  },

  async setShards(conn, shards, { dryRun = false } = {}) {
    return reshape(conn, 'set shards', dryRun, (current) => ({ shards, replicas: current.replicas }));
  },

  async setReplicas(conn, replicas, { dryRun = false } = {}) {
    return reshape(conn, 'set replicas', dryRun, (current) => ({ shards: current.shards, replicas }));
  },

  addReplicas: admin.unsupported('addReplicas', MEMBERSHIP),
  removeReplicas: admin.unsupported('removeReplicas', MEMBERSHIP),

  async countRecords(conn) {
    return conn.run('count records', countRecordsTerm(conn.db));
  },
};

/**
 * What the rethinkdb backend supports.
 *
 * @example
 * capabilities(conn).atomicCommit;   // false: recover() repairs a crash inside commitBlock
 */
export function rethinkCapabilities(conn: RethinkConnection): Capabilities {
  return {
    backend: conn.backend,
    atomicCommit: false,
    atomicBulkWrite: false,
    changefeed: true,
    crossProcessChangefeed: true,
    textSearch: true,
    // A scan of word prefixes: no stemming, no folding of accents, scored by occurrences.
    linguisticSearch: false,
    admin: { getConfig: true, reconfigure: true, setShards: true, setReplicas: true, addReplicas: false, removeReplicas: false },
    notes: [
      'No multi-document transactions: commitBlock writes step by step and recover() repairs a crash between steps; a batch with a duplicate writes nothing unless a concurrent writer stores the same key between the check and the write.',
      'Text search scans the table (no text index), matching whole words without stemming; in English a word also matches longer words that begin with it.',
      'Changefeeds read a change log each write completes after its change (written first as pending), so a write cut short loses no event; they resume after a lost connection from their position.',
      'Every query has a deadline (queryTimeout) and may be repeated: a silently dropped connection is closed and the query retried.',
      'Servers join a cluster themselves (rethinkdb --join): addReplicas/removeReplicas are refused; setShards/setReplicas reconfigure every table, and refuse tables placed by server tag (use reconfigure).',
    ],
  };
}
