/**
 * Handlers registered for the base Connection class: what a backend inherits for the three
 * generics it may leave out (`schema.isInitialized`, `admin.countRecords`, `capabilities`;
 * docs/design.md section 5), so that a third-party backend implementing only the other
 * generics has nothing 'missing' in coverage(). Built-in backends override all three with
 * exact answers.
 */
import * as admin from './admin';
import { type Capabilities, capabilities } from './capabilities';
import { Connection } from './connection';
import { BackendError, UnsupportedOperationError } from './errors';
import * as query from './query';
import * as schema from './schema';

/** A backend that says nothing of itself supports what every backend must, and no more. */
export function conservativeCapabilities(conn: Connection): Capabilities {
  return {
    backend: conn.backend,
    atomicCommit: false,
    atomicBulkWrite: false,
    changefeed: false,
    crossProcessChangefeed: false,
    textSearch: true,
    linguisticSearch: false,
    admin: { getConfig: true, reconfigure: false, setShards: false, setReplicas: false, addReplicas: false, removeReplicas: false },
    notes: ['The backend declares no capabilities: only what every backend must support is assumed.'],
  };
}

capabilities.register(Connection, conservativeCapabilities);

// Without a way to ask, a database whose latest block can be read has its tables.
schema.isInitialized.register(Connection, async (conn) => {
  try {
    await query.getLatestBlock(conn);
    return true;
  } catch (error) {
    if (error instanceof BackendError) return false;
    throw error;
  }
});

admin.countRecords.register(Connection, async (conn) => {
  throw new UnsupportedOperationError(conn.backend, 'countRecords is not implemented by this backend');
});
