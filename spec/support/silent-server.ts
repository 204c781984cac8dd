/**
 * A TCP listener that accepts every connection and never answers: a server that is up but
 * hung (or a firewall that lets the handshake through). It counts the connections it
 * accepts, so a spec can see how many tries an operation made.
 */
import net from 'node:net';

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
