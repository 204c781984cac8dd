/**
 * `capabilities(conn)`: what a backend supports, known in advance and without touching the
 * engine. It is synchronous, so it lives apart from the asynchronous interface modules; it is
 * still a generic that every backend implements, and `coverage()` reports it.
 */
import type { Connection } from './connection';
import { defineInterface, generic } from './dispatch';

/**
 * What a backend supports, known without touching the engine.
 *
 * @example
 * if (capabilities(conn).admin.setShards) await admin.setShards(conn, 3);
 */
export interface Capabilities {
  backend: string;
  /** `commitBlock` is atomic (no recovery needed for a crash inside it). */
  atomicCommit: boolean;
  /** `writeTransactions` writes all or nothing. */
  atomicBulkWrite: boolean;
  /** Changefeeds work (possibly only on some deployments, see `notes`). */
  changefeed: boolean;
  /** Changefeeds see writes made by other processes. */
  crossProcessChangefeed: boolean;
  textSearch: boolean;
  /**
   * Text search understands words as a language does: it stems them (`bake` finds `Baking`),
   * folds accents and combining marks (`cafe` finds `Café`), and ranks a record the search
   * words cover whole above one they cover in part. False where search matches word
   * prefixes only (RethinkDB's scan).
   */
  linguisticSearch: boolean;
  admin: {
    getConfig: boolean;
    reconfigure: boolean;
    setShards: boolean;
    setReplicas: boolean;
    addReplicas: boolean;
    removeReplicas: boolean;
  };
  /** Caveats, in plain words. */
  notes: string[];
}

/**
 * What the backend of `conn` supports.
 *
 * @example
 * if (!capabilities(conn).changefeed) throw new Error('this node needs changefeeds');
 */
export const capabilities = generic<(conn: Connection) => Capabilities>('capabilities');

defineInterface('capabilities', { capabilities });
