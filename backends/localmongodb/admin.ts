/**
 * Admin handlers and capabilities of the localmongodb backend. MongoDB replicates a whole
 * deployment, not a table: replicas are replica set members, changed with addReplicas and
 * removeReplicas through `replSetGetConfig` + `replSetReconfig`; sharding is set up on a
 * mongos router, so the shard and per-table replica operations are refused.
 */
import * as admin from '../../lib/admin';
import type { Capabilities } from '../../lib/capabilities';
import type { HandlerMap } from '../../lib/dispatch';
import { UnsupportedOperationError } from '../../lib/errors';
import { TABLES, type TableName } from '../../lib/tables';
import { TRANSACTION_LIMITS, type TransactionLimits } from './budget';
import type { MongoConnection } from './connection';
import type { Document } from './driver';
import { BACKEND } from './errors';
import { withMemberAdded, withMemberRemoved } from './replset';

const NO_SHARDS =
  'MongoDB shards collections through a mongos router (sh.shardCollection), not per chainstore table; ' +
  'replicas are replica set members, changed with addReplicas and removeReplicas';

/** Rejects unless the server is a replica set member (membership means nothing elsewhere). */
async function requireReplicaSet(conn: MongoConnection, operation: string): Promise<void> {
  const { topology } = await conn.serverInfo();
  if (topology !== 'replicaSet') {
    throw new UnsupportedOperationError(BACKEND, `${operation} needs a replica set; this deployment is ${topology === 'sharded' ? 'a mongos router (change the shards\' replica sets on them)' : 'a standalone server'}`);
  }
}

/**
 * Applies `change` to the replica set configuration, one host at a time (see replset.ts):
 * each host is a `replSetGetConfig` and, when it changes something, a `replSetReconfig`.
 */
async function reconfigureMembers(conn: MongoConnection, operation: string, hosts: string[], change: (config: Document, host: string) => Document | null): Promise<void> {
  await requireReplicaSet(conn, operation);
  for (const host of hosts) {
    await conn.attempt(operation, async (_db, client) => {
      const adminDb = client.db('admin');
      const { config } = await adminDb.command({ replSetGetConfig: 1 });
      const next = change(config as Document, host);
      if (next) await adminDb.command({ replSetReconfig: next });
    });
  }
}

/**
 * The admin handlers of the localmongodb backend, registered by its index.
 *
 * @example
 * registerHandlers(MongoConnection, admin, adminHandlers);
 */
export const adminHandlers: HandlerMap<typeof admin, typeof MongoConnection> = {
  async getConfig(conn) {
    const server = await conn.serverInfo();
    const { version } = await conn.attempt('get config', (_db, client) => client.db('admin').command({ buildInfo: 1 }));
    let members: Document[] | undefined;
    if (server.topology === 'replicaSet') {
      // Reading the configuration needs clusterMonitor rights; without them, the members hello lists.
      members = await conn
        .attempt('get config', async (_db, client) => ((await client.db('admin').command({ replSetGetConfig: 1 })).config as Document).members as Document[])
        .then((list) => list.map(({ _id, host, arbiterOnly, priority, votes, hidden }) => ({ _id, host, arbiterOnly, priority, votes, hidden })))
        .catch(() => server.hosts.map((host) => ({ host })));
    }
    return {
      backend: conn.backend,
      location: conn.location,
      database: conn.config.name,
      version,
      topology: server.topology,
      ...(server.setName !== undefined ? { replicaSet: server.setName } : {}),
      ...(members ? { members } : {}),
      transactions: server.transactions,
      changeStreams: server.changeStreams,
      preImages: server.preImages,
      poolSize: conn.poolSize,
      ssl: Boolean(conn.config.ssl) || /[?&](tls|ssl)=true/i.test(conn.config.url ?? ''),
    };
  },

  reconfigure: admin.unsupported('reconfigure', NO_SHARDS),
  setShards: admin.unsupported('setShards', NO_SHARDS),
  setReplicas: admin.unsupported('setReplicas', NO_SHARDS),

  async addReplicas(conn, hosts) {
    await reconfigureMembers(conn, 'addReplicas', hosts, withMemberAdded);
  },

  async removeReplicas(conn, hosts) {
    await reconfigureMembers(conn, 'removeReplicas', hosts, withMemberRemoved);
  },

  async countRecords(conn) {
    return conn.attempt('count records', async (db) => {
      const counts: [TableName, number][] = [];
      for (const table of TABLES) counts.push([table, await db.collection(table).countDocuments({})]);
      return Object.fromEntries(counts) as Record<TableName, number>;
    });
  },
};

/**
 * What the localmongodb backend reports besides every backend's capabilities.
 *
 * @example
 * const { atomicUpTo } = capabilities(conn) as MongoCapabilities;
 * if (atomicUpTo && batch.length <= atomicUpTo.documents) ...   // all or nothing
 */
export interface MongoCapabilities extends Capabilities {
  /**
   * The most one all-or-nothing write holds (one multi-document transaction: documents
   * written or deleted, BSON bytes) where the deployment has transactions; null where it has
   * none. A batch or a block within these limits is atomic; a larger one is not (see notes).
   */
  atomicUpTo: TransactionLimits | null;
}

const MIB = 1024 * 1024;

/**
 * What the localmongodb backend supports. Transactions and change streams exist on replica
 * sets and sharded clusters, not on a standalone server; capabilities() is synchronous, so it
 * reports what is known: the deployment as `hello` described it (once any operation has
 * run), else what the configuration declares (`replicaSet`, a `mongodb+srv://` URL).
 *
 * `atomicCommit` and `atomicBulkWrite` promise all or nothing whatever the size, which no
 * MongoDB deployment gives here: one transaction holds at most TRANSACTION_LIMITS (budget.ts),
 * so both are false and `atomicUpTo` says up to what size it holds.
 *
 * @example
 * capabilities(conn).atomicUpTo;   // { documents: 1000, bytes: 8388608 } on a replica set
 */
export function mongoCapabilities(conn: MongoConnection): MongoCapabilities {
  const server = conn.knownServer;
  const transactional = server ? server.transactions : conn.declaresTransactions;
  const streams = server ? server.changeStreams : conn.declaresTransactions;
  const replicaSet = server ? server.topology === 'replicaSet' : conn.declaresReplicaSet;
  const { documents, bytes } = TRANSACTION_LIMITS;
  const notes = [
    server
      ? `The deployment is ${server.topology === 'replicaSet' ? `replica set ${server.setName}` : server.topology === 'sharded' ? 'a sharded cluster (mongos)' : 'a standalone server'} (asked with hello).`
      : 'No operation has run yet: these answers come from the configuration (replicaSet option or URL parameter, mongodb+srv://), and are corrected by the first operation.',
    transactional
      ? `commitBlock, writeTransactions, storeAssets, storeMetadatas, storeElections and deleteTransactions are all or nothing up to ${documents} documents and ${bytes / MIB} MiB ` +
        '(one multi-document transaction, see atomicUpTo). A larger batch is checked for duplicates before anything is written, then written in transactions of that size: ' +
        'a crash, or a record another writer stores meanwhile, leaves the chunks already committed. A larger commitBlock runs the step-by-step protocol, which recover() repairs.'
      : 'No multi-document transactions (a standalone server): commitBlock runs step by step (recover() repairs an interrupted commit); a batch is checked for duplicates before it is written, ' +
        'and a record another writer stores meanwhile is reported while the rest of the batch is stored.',
    'Changefeeds are change streams (replica sets and sharded clusters only); they resume from their last event after a lost connection. ' +
      'Deleted records are delivered as they were where the collection keeps pre-images (MongoDB 6.0+, turned on by createTables with the collMod right), else as null.',
    "Text search stems in English; language 'none' keeps exact-word matches; other languages are refused.",
    'Most recently written (getTxidsFiltered lastTx) follows ObjectIds: exact within one process, to the second across processes.',
  ];
  return {
    backend: conn.backend,
    atomicCommit: false,
    atomicBulkWrite: false,
    atomicUpTo: transactional ? TRANSACTION_LIMITS : null,
    changefeed: streams,
    crossProcessChangefeed: streams,
    textSearch: true,
    linguisticSearch: true,
    admin: { getConfig: true, reconfigure: false, setShards: false, setReplicas: false, addReplicas: replicaSet, removeReplicas: replicaSet },
    notes,
  };
}
