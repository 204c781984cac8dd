/**
 * A TCP peer that speaks only the handshake of RethinkDB's client protocol (V1_0 with
 * SCRAM-SHA-256, checking the client's proof against a password), then records each query
 * frame it receives and hangs up. It stores and answers nothing: it is not a database. It lets
 * the specs see exactly what the driver sends for a generic, and how the backend behaves when
 * a connection dies in the middle of a query.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import net from 'node:net';

const V1_0 = 885177795;
const ITERATIONS = 1024;

const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
const xor = (a: Buffer, b: Buffer) => Buffer.from(a.map((byte, i) => byte ^ b[i]));

/**
 * A query frame as received: its token and its message (`[type, term, optargs]`).
 *
 * @example
 * const [{ message: [type, term] }]: ReceivedQuery[] = peer.queries;
 */
export interface ReceivedQuery {
  token: number;
  message: unknown[];
}

/**
 * Listens on 127.0.0.1; accepts logins of `user` with `password`, refuses others as the
 * server does, and drops every connection at its first query.
 *
 * @example
 * const peer = await HandshakePeer.start('admin', 'pw');
 * // connect({ backend: 'rethinkdb', url: `rethinkdb://admin:pw@127.0.0.1:${peer.port}/ledger` }) ...
 * peer.queries[0].message;   // [1, <term>, { db: ... }]
 * await peer.stop();
 */
export class HandshakePeer {
  readonly queries: ReceivedQuery[] = [];
  /** Connections that completed the handshake. */
  logins = 0;
  /** Connections refused for a wrong password. */
  refusals = 0;
  #server: net.Server;
  #sockets = new Set<net.Socket>();

  private constructor(private readonly user: string, private readonly password: string) {
    this.#server = net.createServer((socket) => this.serve(socket));
  }

  static async start(user: string, password: string): Promise<HandshakePeer> {
    const peer = new HandshakePeer(user, password);
    await new Promise<void>((resolve) => peer.#server.listen(0, '127.0.0.1', resolve));
    return peer;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  private serve(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    let stage: 'hello' | 'proof' | 'queries' = 'hello';
    let scram = { clientFirstBare: '', serverFirst: '', nonce: '', salted: Buffer.alloc(0) };
    const send = (message: object) => socket.write(Buffer.concat([Buffer.from(JSON.stringify(message)), Buffer.from([0])]));

    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (stage === 'hello') {
          const end = buffer.indexOf(0, 4);
          if (buffer.length < 4 || end === -1) return;
          if (buffer.readInt32LE(0) !== V1_0) return void socket.destroy();
          const hello = JSON.parse(buffer.subarray(4, end).toString('utf8')) as { authentication: string };
          buffer = buffer.subarray(end + 1);
          const clientFirstBare = hello.authentication.replace(/^n,,/, '');
          const clientNonce = /r=([^,]*)/.exec(clientFirstBare)![1];
          const nonce = clientNonce + randomBytes(12).toString('base64');
          const salt = randomBytes(16);
          const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${ITERATIONS}`;
          scram = { clientFirstBare, serverFirst, nonce, salted: pbkdf2Sync(this.password, salt, ITERATIONS, 32, 'sha256') };
          send({ success: true, min_protocol_version: 0, max_protocol_version: 0, server_version: '2.4.4' });
          send({ success: true, authentication: serverFirst });
          stage = 'proof';
        } else if (stage === 'proof') {
          const end = buffer.indexOf(0);
          if (end === -1) return;
          const { authentication } = JSON.parse(buffer.subarray(0, end).toString('utf8')) as { authentication: string };
          buffer = buffer.subarray(end + 1);
          const withoutProof = authentication.replace(/,p=.*$/, '');
          const proof = Buffer.from(/,p=(.*)$/.exec(authentication)![1], 'base64');
          const authMessage = `${scram.clientFirstBare},${scram.serverFirst},${withoutProof}`;
          const clientKey = hmac(scram.salted, 'Client Key');
          const signature = hmac(createHash('sha256').update(clientKey).digest(), authMessage);
          const userOk = scram.clientFirstBare.startsWith(`n=${this.user},`);
          if (!userOk || !xor(clientKey, signature).equals(proof)) {
            this.refusals++;
            send({ success: false, error: 'Wrong password', error_code: 12 });
            return void socket.end();
          }
          send({ success: true, authentication: `v=${hmac(hmac(scram.salted, 'Server Key'), authMessage).toString('base64')}` });
          this.logins++;
          stage = 'queries';
        } else {
          if (buffer.length < 12) return;
          const length = buffer.readUInt32LE(8);
          if (buffer.length < 12 + length) return;
          const token = buffer.readUInt32LE(0) + 0x100000000 * buffer.readUInt32LE(4);
          this.queries.push({ token, message: JSON.parse(buffer.subarray(12, 12 + length).toString('utf8')) as unknown[] });
          return void socket.destroy();
        }
      }
    });
  }
}
