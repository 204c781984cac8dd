/**
 * Replica set membership changes as configuration documents: what `replSetReconfig` is given
 * to add or remove one member. Pure, so the documents can be checked without a replica set.
 *
 * One member per reconfiguration: MongoDB 4.4+ refuses a new configuration that adds or
 * removes more than one voting member at a time, so admin.ts applies these one host after
 * another, each on the configuration the previous one produced.
 *
 * A replica set has at most 50 members, of which at most 7 vote. MongoDB's way past seven is
 * non-voting members ("Non-voting members allow you to add additional members for read
 * distribution beyond the maximum seven voting members"), which must have priority 0: a
 * member added to a set that already has seven votes joins with `votes: 0, priority: 0`
 * (it replicates and serves reads, but neither votes nor becomes primary). A set of 50 takes
 * no more.
 */
import { OperationError } from '../../lib/errors';
import type { Document } from './driver';
import { BACKEND } from './errors';

/**
 * Most members of a replica set (MongoDB's limit).
 *
 * @example
 * MAX_MEMBERS;   // 50
 */
export const MAX_MEMBERS = 50;

/**
 * Most voting members of a replica set (MongoDB's limit); members past it join without a vote.
 *
 * @example
 * MAX_VOTING_MEMBERS;   // 7
 */
export const MAX_VOTING_MEMBERS = 7;

/** MongoDB's default port, implied by a host given without one. */
const DEFAULT_PORT = 27017;

/**
 * `host:port` in the form a replica set configuration compares: lower case, default port added.
 *
 * @example
 * normalizeHost('DB4.internal');          // 'db4.internal:27017'
 * normalizeHost('[::1]:27018');           // '[::1]:27018'
 */
export function normalizeHost(host: string): string {
  const text = host.trim().toLowerCase();
  const hasPort = text.startsWith('[') ? /\]:\d+$/.test(text) : /:\d+$/.test(text);
  return hasPort ? text : `${text}:${DEFAULT_PORT}`;
}

function membersOf(config: Document): Document[] {
  return Array.isArray(config.members) ? (config.members as Document[]) : [];
}

/**
 * How many members of a configuration vote (a member's `votes` defaults to 1; arbiters vote).
 *
 * @example
 * votingMembers({ members: [{ _id: 0, host: 'a:1' }, { _id: 1, host: 'b:1', votes: 0, priority: 0 }] });   // 1
 */
export function votingMembers(config: Document): number {
  return membersOf(config).filter((member) => Number(member.votes ?? 1) > 0).length;
}

/**
 * The configuration with `host` added as a new member (the next free `_id`, version + 1),
 * or null when it is a member already. It votes with default settings while the set has
 * fewer than seven votes, else it joins with `votes: 0, priority: 0`; a set of 50 members
 * is refused with an OperationError.
 *
 * @example
 * withMemberAdded({ _id: 'rs0', version: 3, members: [{ _id: 0, host: 'db1:27017' }] }, 'db2:27017');
 * // { _id: 'rs0', version: 4, members: [{ _id: 0, host: 'db1:27017' }, { _id: 1, host: 'db2:27017' }] }
 */
export function withMemberAdded(config: Document, host: string): Document | null {
  const members = membersOf(config);
  const wanted = normalizeHost(host);
  if (members.some((member) => normalizeHost(String(member.host)) === wanted)) return null;
  if (members.length >= MAX_MEMBERS) {
    throw new OperationError(
      BACKEND,
      `addReplicas: cannot add ${wanted}: replica set ${String(config._id)} has ${members.length} members, the most MongoDB allows (remove one first)`,
    );
  }
  const nextId = members.reduce((max, member) => Math.max(max, Number(member._id)), -1) + 1;
  const member = votingMembers(config) < MAX_VOTING_MEMBERS ? { _id: nextId, host: wanted } : { _id: nextId, host: wanted, votes: 0, priority: 0 };
  return { ...config, version: Number(config.version) + 1, members: [...members, member] };
}

/**
 * The configuration without the member at `host` (version + 1), or null when it is no member.
 *
 * @example
 * withMemberRemoved({ _id: 'rs0', version: 4, members: [{ _id: 0, host: 'db1:27017' }, { _id: 1, host: 'db2:27017' }] }, 'db2');
 * // { _id: 'rs0', version: 5, members: [{ _id: 0, host: 'db1:27017' }] }
 */
export function withMemberRemoved(config: Document, host: string): Document | null {
  const members = membersOf(config);
  const wanted = normalizeHost(host);
  const kept = members.filter((member) => normalizeHost(String(member.host)) !== wanted);
  if (kept.length === members.length) return null;
  return { ...config, version: Number(config.version) + 1, members: kept };
}
