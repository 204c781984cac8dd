/**
 * Starting a node for a spec, on each engine the machine has: SQLite in memory, and
 * PostgreSQL at CHAINSTORE_TEST_POSTGRES_URL (skipped with the reason when it is down,
 * unless CHAINSTORE_REQUIRE_POSTGRES is set).
 */
import { type Connection, connect } from '../../lib';
import { type NodeOptions, type RunningNode, startNode } from '../../server';
import { connectPostgres, skipWithoutPostgres, truncateAll } from '../support/postgres';

/** An engine a node spec runs on. */
export interface NodeEngine {
  readonly name: 'sqlite' | 'postgres';
  /** Called in `before`: skips the suite (with the reason) when the engine is unavailable. */
  readonly available: (this: Mocha.Context) => Promise<void>;
  /** A connection to an empty ledger. */
  readonly emptyLedger: () => Promise<Connection>;
}

export const NODE_ENGINES: readonly NodeEngine[] = [
  { name: 'sqlite', available: async () => undefined, emptyLedger: () => connect({ backend: 'sqlite', name: ':memory:' }) },
  {
    name: 'postgres',
    available: skipWithoutPostgres,
    emptyLedger: async () => {
      const conn = await connectPostgres();
      await truncateAll(conn);
      return conn;
    },
  },
];

/**
 * A node on an empty ledger of `engine`, on free ports, silent. Closing it closes the
 * ledger's connection too.
 *
 * @example
 * const node = await startTestNode(engine);
 * const driver = new Connection(node.url);
 */
export async function startTestNode(engine: NodeEngine, options: NodeOptions = {}): Promise<RunningNode> {
  const conn = await engine.emptyLedger();
  try {
    const node = await startNode({ port: 0, wsPort: 0, host: '127.0.0.1', logger: false, ...options, connection: conn });
    return {
      url: node.url,
      streamUrl: node.streamUrl,
      connection: node.connection,
      close: async () => {
        await node.close();
        await conn.close();
      },
    };
  } catch (error) {
    await conn.close();
    throw error;
  }
}
