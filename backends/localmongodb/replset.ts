/**
 * Replica set membership changes as configuration documents: what `replSetReconfig` is given
 * to add or remove one member. Pure, so the documents can be checked without a replica set.
 *
 * One member per reconfiguration: MongoDB 4.4+ refuses a new configuration that adds or
 * removes more than one voting member at a time, so admin.ts applies these one host after
 * another, each on the configuration the previous one produced.
 */
import type { Document } from './driver';

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
 * The configuration with `host` added as a new member (the next free `_id`, default
 * settings, version + 1), or null when it is a member already.
 *
 * @example
 * withMemberAdded({ _id: 'rs0', version: 3, members: [{ _id: 0, host: 'db1:27017' }] }, 'db2:27017');
 * // { _id: 'rs0', version: 4, members: [{ _id: 0, host: 'db1:27017' }, { _id: 1, host: 'db2:27017' }] }
 */
export function withMemberAdded(config: Document, host: string): Document | null {
  const members = membersOf(config);
  const wanted = normalizeHost(host);
  if (members.some((member) => normalizeHost(String(member.host)) === wanted)) return null;
  const nextId = members.reduce((max, member) => Math.max(max, Number(member._id)), -1) + 1;
  return { ...config, version: Number(config.version) + 1, members: [...members, { _id: nextId, host: wanted }] };
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
