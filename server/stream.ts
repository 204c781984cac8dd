/**
 * The event stream: BigchainDB's WebSocket at `/api/v1/streams/valid_transactions`, one
 * message `{"height", "asset_id", "transaction_id"}` per transaction of each committed
 * block, in block order.
 *
 * Beyond BigchainDB: `?from_height=N` first replays every transaction of the committed
 * blocks from height N on (read from the ledger), then goes on live, with no gap and no
 * repeat between the two: blocks committed while the replay runs are held back until it
 * has sent every height before them. Nothing below N is sent, also when N is above the
 * latest height.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { type Block, type Connection, type Transaction, assetIdOf, query } from '../lib';

/** The path BigchainDB serves its stream at. */
export const STREAM_PATH = '/api/v1/streams/valid_transactions';

/** Where the stream listens and what it reads replays from. */
export interface StreamOptions {
  readonly host: string;
  readonly port: number;
  readonly conn: Connection;
  /** The latest committed height, read when a client asks to resume. */
  readonly latestHeight: () => number;
}

/**
 * One event as BigchainDB writes it: Python's `json.dumps`, keys in this order, with spaces.
 *
 * @example
 * eventMessage(3, tx);   // '{"height": 3, "asset_id": "…", "transaction_id": "…"}'
 */
export function eventMessage(height: number, tx: Transaction): string {
  return `{"height": ${height}, "asset_id": ${JSON.stringify(assetIdOf(tx))}, "transaction_id": ${JSON.stringify(tx.id)}}`;
}

interface Subscriber {
  readonly socket: WebSocket;
  /** The first height it asked for (0: every block, as BigchainDB's stream sends from its connection on). */
  readonly from: number;
  /** Blocks published while the replay runs, sent once it ends; null once live. */
  held: { height: number; messages: string[] }[] | null;
}

/**
 * The WebSocket server of the event stream.
 *
 * @example
 * const stream = new EventStream({ host: 'localhost', port: 9985, conn, latestHeight: () => producer.latestBlock!.height });
 * await stream.listen();
 * stream.publish(block, txs);
 * await stream.close();
 */
export class EventStream {
  readonly #options: StreamOptions;
  readonly #http: Server;
  readonly #sockets = new WebSocketServer({ noServer: true });
  readonly #subscribers = new Set<Subscriber>();
  /**
   * The height of the latest block published. A replay reads the ledger up to the larger of
   * this and `latestHeight()`: the producer forgets its latest block after a failed commit
   * (until it reads the ledger again), and a replay that trusted it then would skip blocks.
   */
  #publishedHeight = -1;
  #closing = false;

  constructor(options: StreamOptions) {
    this.#options = options;
    this.#http = createServer((_request, response) => {
      response.writeHead(426, 'UPGRADE REQUIRED', { 'content-type': 'application/json' });
      response.end(JSON.stringify({ status: 426, message: `connect with a WebSocket client to ${STREAM_PATH}` }));
    });
    this.#http.on('upgrade', (request, socket, head) => this.#upgrade(request, socket, head));
  }

  /** Starts listening; resolves to the port (useful when 0 asked for any free one). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#http.once('error', reject);
      this.#http.listen(this.#options.port, this.#options.host, () => {
        this.#http.off('error', reject);
        resolve((this.#http.address() as { port: number }).port);
      });
    });
  }

  /** Sends the events of a committed block to every subscriber (held for those replaying). */
  publish(block: Block, txs: readonly Transaction[]): void {
    this.#publishedHeight = Math.max(this.#publishedHeight, block.height);
    if (txs.length === 0 || this.#subscribers.size === 0) return;
    const messages = txs.map((tx) => eventMessage(block.height, tx));
    for (const subscriber of this.#subscribers) {
      // A client that resumes from a height above this one asked for nothing below it.
      if (block.height < subscriber.from) continue;
      if (subscriber.held) subscriber.held.push({ height: block.height, messages });
      else send(subscriber.socket, messages);
    }
  }

  /**
   * Stops listening and closes every client's socket. A client gets {@link CLOSE_GRACE} ms
   * to answer the close frame; one that does not (it stopped reading, so it never sees the
   * frame) is cut then, rather than holding the node's shutdown for ws's 30 s close timeout.
   */
  async close(): Promise<void> {
    this.#closing = true;
    this.#subscribers.clear();
    const httpClosed = new Promise<void>((resolve) => this.#http.close(() => resolve()));
    // Connections not upgraded (a plain request, an upgrade still being read) owe nothing.
    this.#http.closeAllConnections();
    // Every upgraded socket, subscribed or not yet (ws tracks them all).
    const sockets = [...this.#sockets.clients];
    const closed = Promise.all(sockets.map((socket) => (socket.readyState === WebSocket.CLOSED ? undefined : new Promise((resolve) => socket.once('close', resolve)))));
    for (const socket of sockets) socket.close(1001, 'node shutting down');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE)))]);
    clearTimeout(timer);
    for (const socket of sockets) if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
    await closed;
    this.#sockets.close();
    await httpClosed;
  }

  #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.#closing) return refuse(socket, 503, 'SERVICE UNAVAILABLE', 'The node is shutting down');
    const url = new URL(request.url ?? '/', 'ws://localhost');
    if (url.pathname.replace(/\/+$/, '') !== STREAM_PATH) return refuse(socket, 404, 'NOT FOUND', 'Not found');
    const from = url.searchParams.get('from_height');
    if (from !== null && !/^\d+$/.test(from)) return refuse(socket, 400, 'BAD REQUEST', 'from_height must be a height (0 or more)');
    this.#sockets.handleUpgrade(request, socket, head, (ws) => {
      // Messages from the client mean nothing (the stream is one-way); ws answers pings.
      const subscriber: Subscriber = { socket: ws, from: from === null ? 0 : Number(from), held: from === null ? null : [] };
      this.#subscribers.add(subscriber);
      ws.on('close', () => this.#subscribers.delete(subscriber));
      ws.on('error', () => this.#subscribers.delete(subscriber));
      if (from !== null) void this.#replay(subscriber);
    });
  }

  /** Sends every event from `from` to the latest height, then whatever was held meanwhile. */
  async #replay(subscriber: Subscriber): Promise<void> {
    const { conn, latestHeight } = this.#options;
    const from = subscriber.from;
    // Every block above `last` is published after this point, so it is held, not lost.
    const last = Math.max(latestHeight(), this.#publishedHeight);
    try {
      for (let height = from; height <= last && subscriber.socket.readyState === WebSocket.OPEN; height++) {
        const block = await query.getBlock(conn, height);
        if (!block || block.transactions.length === 0) continue;
        const txs = await query.getTransactions(conn, block.transactions);
        await sendAndWait(subscriber.socket, txs.map((tx) => eventMessage(height, tx)));
      }
      for (const { height, messages } of subscriber.held ?? []) if (height > last) send(subscriber.socket, messages);
      subscriber.held = null;
    } catch {
      // A replay that cannot be completed must not look like a complete one.
      this.#subscribers.delete(subscriber);
      subscriber.socket.close(1011, 'could not read the ledger to replay the events');
    }
  }
}

/** How long close() waits for the clients to answer its close frame before cutting them, in ms. */
const CLOSE_GRACE = 1000;

function send(socket: WebSocket, messages: readonly string[]): void {
  if (socket.readyState !== WebSocket.OPEN) return;
  for (const message of messages) socket.send(message);
}

/** Sends, then waits until the socket has written them: a long replay never piles up in memory. */
function sendAndWait(socket: WebSocket, messages: readonly string[]): Promise<void> {
  if (messages.length === 0 || socket.readyState !== WebSocket.OPEN) return Promise.resolve();
  for (let index = 0; index < messages.length - 1; index++) socket.send(messages[index]);
  return new Promise((resolve) => socket.send(messages[messages.length - 1], () => resolve()));
}

function refuse(socket: Duplex, status: number, phrase: string, message: string): void {
  const body = JSON.stringify({ status, message });
  socket.end(`HTTP/1.1 ${status} ${phrase}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
