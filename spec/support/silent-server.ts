/**
 * A TCP listener that accepts every connection and never answers: a server that is up but
 * hung (or a firewall that lets the handshake through). It counts the connections it
 * accepts, so a spec can see how many tries an operation made.
 */
import net from 'node:net';
import { expect } from 'chai';
import { type Connection, ConnectionError, connect, query, schema } from '../../lib';

/** A listening silent server. */
export interface SilentServer {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Drops every connection and stops listening. */
  stop(): Promise<void>;
}

/**
 * Starts a silent server on 127.0.0.1, on a free port.
 *
 * @example
 * const server = await silentServer();
 * await connect({ backend: 'rethinkdb', host: '127.0.0.1', port: server.port, maxTries: 2, connectionTimeout: 200 });
 */
export async function silentServer(): Promise<SilentServer> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    get connections() {
      return connections;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The operations a node runs at start-up, and a query to compare them with. */
const STARTUP_OPERATIONS: readonly [string, (conn: Connection) => Promise<unknown>][] = [
  ['createDatabase', (conn) => schema.createDatabase(conn)],
  ['dropDatabase', (conn) => schema.dropDatabase(conn)],
  ['initDatabase', (conn) => schema.initDatabase(conn)],
  ['getLatestBlock', (conn) => query.getLatestBlock(conn)],
];

/**
 * Runs each start-up operation of `backend` against a silent server of its own with
 * `maxTries: 2`: each must end in a ConnectionError after 2 tries (with the driver's error as
 * `cause`), as a query does; `connections` checks how many connections the server accepted.
 *
 * @example
 * await expectStartupRetries('rethinkdb', (name, n) => expect(n, name).to.equal(2));
 */
export async function expectStartupRetries(backend: string, connections: (operation: string, accepted: number) => void): Promise<void> {
  for (const [name, operation] of STARTUP_OPERATIONS) {
    const server = await silentServer();
    const conn = await connect({ backend, host: '127.0.0.1', port: server.port, maxTries: 2, connectionTimeout: 200 });
    try {
      const error = await operation(conn).then(
        () => expect.fail(`${name} resolved without a ${backend} server`),
        (e: unknown) => e as Error,
      );
      expect(error, `${name}: ${String(error)}`).to.be.an.instanceOf(ConnectionError);
      expect(error.message, name).to.include('after 2 tries');
      expect(error.cause, name).to.be.an.instanceOf(Error);
      connections(name, server.connections);
    } finally {
      await conn.close();
      await server.stop();
    }
  }
}
