/**
 * A TCP relay in front of the PostgreSQL server, to make a real outage for one connection
 * only: `down()` cuts every relayed session and refuses new ones; `up()` serves again on the
 * same port. The server itself is shared by other specs and is never touched.
 */
import net from 'node:net';
import { POSTGRES_URL } from './postgres';

export class Relay {
  port = 0;
  #server: net.Server | undefined;
  #sockets = new Set<net.Socket>();

  constructor(private readonly target: { host: string; port: number }) {}

  /** The test database's URL, through the relay. */
  get url(): string {
    const url = new URL(POSTGRES_URL);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }

  async up(): Promise<void> {
    const server = net.createServer((inbound) => {
      const outbound = net.connect(this.target.port, this.target.host);
      for (const socket of [inbound, outbound]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Relayed sockets now open (both directions counted). */
  get open(): number {
    return this.#sockets.size;
  }
}

/** Host and port of the test server, for {@link Relay}. */
export function postgresTarget(): { host: string; port: number } {
  const url = new URL(POSTGRES_URL);
  return { host: url.hostname || '127.0.0.1', port: Number(url.port || 5432) };
}
