/**
 * What a MongoDB deployment is, from its answer to `hello`: a standalone server, a replica
 * set member, or a mongos router. Pure, so that the decisions made on it (transactions,
 * change streams, replica set admin) can be checked without a server.
 */
import type { Document } from './driver';

/**
 * The kind of deployment.
 *
 * @example
 * const kind: Topology = 'replicaSet';
 */
export type Topology = 'standalone' | 'replicaSet' | 'sharded';

/**
 * What chainstore needs to know of a deployment.
 *
 * @example
 * const info = await conn.serverInfo();
 * if (info.transactions) ...
 */
export interface ServerInfo {
  topology: Topology;
  /** The replica set's name (replica set members only). */
  setName?: string;
  /** Highest wire protocol version the server speaks (17 is MongoDB 6.0). */
  maxWireVersion: number;
  /** The members the server knows of (`host:port`), as `hello` lists them. */
  hosts: string[];
  /** Multi-document transactions exist (replica sets and sharded clusters). */
  transactions: boolean;
  /** Change streams exist (replica sets and sharded clusters). */
  changeStreams: boolean;
  /** Change events can carry the document as it was before an update or delete (MongoDB 6.0+). */
  preImages: boolean;
}

/**
 * Wire version of MongoDB 6.0, the first with change stream pre- and post-images.
 *
 * @example
 * info.maxWireVersion >= WIRE_VERSION_6_0;   // pre-images available
 */
export const WIRE_VERSION_6_0 = 17;

/**
 * A deployment described from its `hello` (or legacy `isMaster`) reply.
 *
 * @example
 * describeServer({ isWritablePrimary: true, setName: 'rs0', hosts: ['db1:27017'], maxWireVersion: 21 }).topology;   // 'replicaSet'
 * describeServer({ isWritablePrimary: true, msg: 'isdbgrid', maxWireVersion: 21 }).topology;   // 'sharded'
 */
export function describeServer(hello: Document): ServerInfo {
  const topology: Topology = typeof hello.setName === 'string' ? 'replicaSet' : hello.msg === 'isdbgrid' ? 'sharded' : 'standalone';
  const maxWireVersion = Number(hello.maxWireVersion ?? 0);
  const distributed = topology !== 'standalone';
  // Multi-document transactions came with MongoDB 4.0 on replica sets, 4.2 on sharded clusters.
  const transactions = topology === 'replicaSet' ? maxWireVersion >= 7 : topology === 'sharded' && maxWireVersion >= 8;
  const hosts = [hello.hosts, hello.passives, hello.arbiters].flatMap((list) => (Array.isArray(list) ? list.map(String) : []));
  return {
    topology,
    ...(topology === 'replicaSet' ? { setName: String(hello.setName) } : {}),
    maxWireVersion,
    hosts,
    transactions,
    changeStreams: distributed,
    preImages: distributed && maxWireVersion >= WIRE_VERSION_6_0,
  };
}

/**
 * Wire version of MongoDB 7.0, the first major release with `$changeStreamSplitLargeEvent`.
 *
 * @example
 * info.maxWireVersion >= WIRE_VERSION_7_0;   // large change events can be split
 */
export const WIRE_VERSION_7_0 = 21;

/**
 * Whether the server splits change events over 16 MiB into fragments
 * (`$changeStreamSplitLargeEvent`: MongoDB 7.0+, and 6.0 from 6.0.9; not the 6.1-6.3 rapid
 * releases). 6.0 servers all speak wire version 17, so their build version decides.
 *
 * @example
 * splitsLargeEvents(21);              // true (7.0)
 * splitsLargeEvents(17, '6.0.8');     // false
 * splitsLargeEvents(17, '6.0.12');    // true
 */
export function splitsLargeEvents(maxWireVersion: number, version?: string): boolean {
  if (maxWireVersion >= WIRE_VERSION_7_0) return true;
  if (maxWireVersion !== WIRE_VERSION_6_0 || version === undefined) return false;
  const [major, minor, patch] = version.split(/[.-]/).map((part) => Number.parseInt(part, 10));
  return major === 6 && minor === 0 && patch >= 9;
}
