/**
 * The event stream at `/api/v1/streams/valid_transactions`, on each engine: one message
 * `{"height", "asset_id", "transaction_id"}` per transaction of each committed block, in
 * block order, the same to every client; `?from_height=N` replays the ledger from N and
 * then goes on live with no gap and no repeat while blocks keep being committed; bad
 * requests refused; and a client that stops reading cannot hold the node's shutdown.
 * What the stream sent is compared with the blocks read back from the ledger.
 */
import { expect } from 'chai';
import { WebSocket } from 'ws';
import { type Connection, query } from '../../lib';
import type { RunningNode } from '../../server';
import { type Keypair, type SignedTx, Driver, keypair, output, signedCreate, signedTransfer } from './signed';
import { NODE_ENGINES, startTestNode } from './support';

/** One event as the stream sends it. */
interface StreamEvent {
  readonly height: number;
  readonly asset_id: string;
  readonly transaction_id: string;
}

/** A client of the stream that keeps every message it gets. */
interface Client {
  readonly socket: WebSocket;
  readonly events: StreamEvent[];
  readonly raw: string[];
}

/** Connects to `url` and resolves once the stream is open. */
function connectClient(url: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const client: Client = { socket, events: [], raw: [] };
    socket.on('message', (data) => {
      const text = String(data);
      client.raw.push(text);
      client.events.push(JSON.parse(text));
    });
    socket.once('open', () => resolve(client));
    socket.once('error', reject);
  });
}

/** Waits until `client` has `count` events (or fails with what it has after `ms`). */
async function eventsOf(client: Client, count: number, ms = 8000): Promise<StreamEvent[]> {
  const deadline = Date.now() + ms;
  while (client.events.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(client.events.length, 'events received').to.be.at.least(count);
  return client.events;
}

/** What the stream must have sent for the committed blocks `from`..latest, read from the ledger. */
async function expectedEvents(conn: Connection, from: number): Promise<StreamEvent[]> {
  const latest = (await query.getLatestBlock(conn))!.height;
  const events: StreamEvent[] = [];
  for (let height = from; height <= latest; height++) {
    const block = await query.getBlock(conn, height);
    if (!block) continue;
    for (const tx of await query.getTransactions(conn, block.transactions)) {
      events.push({ height, asset_id: tx.operation === 'CREATE' ? tx.id : (tx.asset as { id: string }).id, transaction_id: tx.id });
    }
  }
  return events;
}

/** The answer to an upgrade the stream refuses: status line and JSON body. */
function refusal(url: string): Promise<{ status: string; body: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('open', () => reject(new Error(`the stream accepted ${url}`)));
    socket.once('unexpected-response', (_request, response) => {
      let text = '';
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve({ status: `${response.statusCode} ${response.statusMessage}`, body: JSON.parse(text) }));
    });
    socket.once('error', () => undefined);
  });
}

const waitFor = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const engine of NODE_ENGINES) {
  describe(`node: the event stream on ${engine.name}`, function () {
    this.timeout(20_000);
    let node: RunningNode;
    let closedHere = false;
    const clients: Client[] = [];
    const alice: Keypair = keypair();

    const post = async (tx: SignedTx, mode = 'commit') => {
      const response = await fetch(`${node.url}transactions?mode=${mode}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(tx) });
      expect(response.status, await response.text()).to.equal(202);
    };
    const client = async (query = '') => {
      const connected = await connectClient(`${node.streamUrl}${query}`);
      clients.push(connected);
      return connected;
    };

    before(async function () {
      await engine.available.call(this);
      node = await startTestNode(engine);
    });
    afterEach(() => {
      for (const { socket } of clients.splice(0)) socket.terminate();
    });
    after(async () => {
      if (!closedHere) await node?.close();
    });

    it('sends {"height", "asset_id", "transaction_id"} per transaction, as Python writes it; asset_id is a CREATE\'s own id, a TRANSFER\'s asset.id', async () => {
      const listener = await client();
      const coin = signedCreate(alice, { kind: 'stream' });
      const bare = Driver.signTransaction(Driver.makeCreateTransaction(null, null, [output(alice.publicKey)], alice.publicKey), alice.privateKey);
      await post(coin);
      const transfer = signedTransfer(coin, 0, alice, [output(keypair().publicKey)]);
      await post(transfer);
      await post(bare);
      const events = await eventsOf(listener, 3);
      const heights = await Promise.all([coin, transfer, bare].map(async (tx) => (await query.getBlockWithTransaction(node.connection, tx.id))[0]));
      expect(events).to.deep.equal([
        { height: heights[0], asset_id: coin.id, transaction_id: coin.id },
        { height: heights[1], asset_id: coin.id, transaction_id: transfer.id },
        { height: heights[2], asset_id: bare.id, transaction_id: bare.id },
      ]);
      // The keys in BigchainDB's order, with json.dumps's spaces.
      expect(listener.raw[1]).to.equal(`{"height": ${heights[1]}, "asset_id": "${coin.id}", "transaction_id": "${transfer.id}"}`);
    });

    it('sends the transactions of a block in block order, and the same to every client', async () => {
      const listeners = await Promise.all([client(), client(), client()]);
      const start = (await query.getLatestBlock(node.connection))!.height + 1;
      // Posted together, so that blocks of several transactions are made.
      await Promise.all(Array.from({ length: 12 }, () => post(signedCreate(alice, { kind: 'batch' }))));
      const expected = await expectedEvents(node.connection, start);
      expect(expected).to.have.length(12);
      expect(new Set(expected.map((event) => event.height)).size, 'blocks made').to.be.below(12);
      for (const listener of listeners) expect(await eventsOf(listener, 12)).to.deep.equal(expected);
    });

    it('replays from from_height, then goes on live with no gap and no repeat while blocks are committed', async function () {
      this.timeout(30_000);
      const first = (await query.getLatestBlock(node.connection))!.height + 1;
      // Commits run throughout: posts in a loop, a few at a time, while clients join at
      // different moments, each asking to resume from a different height.
      let posting = true;
      const posted: string[] = [];
      const poster = (async () => {
        for (let round = 0; posting && round < 400; round++) {
          const txs = Array.from({ length: 3 }, () => signedCreate(alice, { kind: 'concurrent' }));
          posted.push(...txs.map((tx) => tx.id));
          await Promise.all(txs.map((tx) => post(tx, 'sync')));
          await waitFor(2);
        }
      })();
      const resumed: { client: Client; from: number }[] = [];
      for (const step of [0, 1, 2, 3]) {
        await waitFor(60);
        const latest = (await query.getLatestBlock(node.connection))!.height;
        const from = [1, first, Math.max(first, latest - 2), latest + 3][step];
        resumed.push({ client: await client(`?from_height=${from}`), from });
      }
      await waitFor(150);
      posting = false;
      await poster;
      // Every post is committed soon after its sync answer.
      let expected: StreamEvent[] = [];
      for (let tries = 0; tries < 400; tries++) {
        expected = await expectedEvents(node.connection, 1);
        if (expected.filter((event) => event.height >= first).length >= posted.length) break;
        await waitFor(10);
      }
      expect(expected.filter((event) => event.height >= first).map((event) => event.transaction_id)).to.have.members(posted);
      for (const { client: resumedClient, from } of resumed) {
        const wanted = expected.filter((event) => event.height >= from);
        const got = await eventsOf(resumedClient, wanted.length);
        await waitFor(50);
        expect(got, `from_height=${from}`).to.deep.equal(wanted);
      }
      // The loop did commit while the clients joined, and the last one joined ahead of the ledger.
      expect(expected.filter((event) => event.height >= resumed[3].from).length, 'events after the last join').to.be.greaterThan(0);
    });

    it('refuses a from_height that is not a height, and any other path, with a status and a JSON body', async () => {
      for (const bad of ['x', '-1', '1.5', '', '1e3', '%201']) {
        expect(await refusal(`${node.streamUrl}?from_height=${bad}`), bad).to.deep.equal({ status: '400 BAD REQUEST', body: { status: 400, message: 'from_height must be a height (0 or more)' } });
      }
      const base = node.streamUrl.replace(/\/api\/v1\/streams\/valid_transactions$/, '');
      for (const path of ['/api/v1/streams/invalid_transactions', '/api/v1/streams', '/']) {
        expect(await refusal(`${base}${path}`), path).to.deep.equal({ status: '404 NOT FOUND', body: { status: 404, message: 'Not found' } });
      }
      // A plain HTTP request to the stream is told to upgrade.
      const plain = await fetch(node.streamUrl.replace(/^ws/, 'http'));
      expect(`${plain.status} ${plain.statusText}`).to.equal('426 UPGRADE REQUIRED');
    });

    it('ignores what a client sends, and answers its pings', async () => {
      const chatty = await client();
      chatty.socket.send('{"subscribe": "everything"}');
      const pong = new Promise<string>((resolve) => chatty.socket.once('pong', (data) => resolve(String(data))));
      chatty.socket.ping('are you there');
      expect(await pong).to.equal('are you there');
      const coin = signedCreate(alice, { kind: 'after chatter' });
      await post(coin);
      expect((await eventsOf(chatty, 1)).map((event) => event.transaction_id)).to.deep.equal([coin.id]);
    });

    // Last: it closes the suite's node.
    it('lets close() finish within a few seconds with a client that stopped reading, and closes the others', async () => {
      const stalled = await client();
      const polite = await client();
      // The stalled client reads nothing more: not the events, not the close frame.
      (stalled.socket as unknown as { _socket: { pause(): void } })._socket.pause();
      const politeClosed = new Promise<number>((resolve) => polite.socket.once('close', (code) => resolve(code)));
      await post(signedCreate(alice, { kind: 'before close' }));
      const started = Date.now();
      const closing = node.close();
      closedHere = true;
      await closing;
      expect(Date.now() - started, 'ms to close').to.be.below(4000);
      expect(await politeClosed).to.equal(1001);
    });
  });
}
