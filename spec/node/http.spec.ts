/**
 * The node's HTTP surface, route by route, as BigchainDB 2.2.2 answers it (read from its
 * Flask server): status lines with Werkzeug's upper-case reason phrases, exact JSON bodies,
 * reqparse's parameter errors, unknown arguments on the strict routes, optional trailing
 * slashes, flask_cors's headers and Flask's OPTIONS and 405 answers, the body limit, and
 * the URLs fastify would refuse before routing (an over-long or badly escaped path), which
 * BigchainDB answers with its 404. Plain `fetch`, on each engine.
 */
import { expect } from 'chai';
import { query } from '../../lib';
import type { RunningNode } from '../../server';
import { type Keypair, type SignedTx, Driver, keypair, output, signedTransfer } from './signed';
import { NODE_ENGINES, startTestNode } from './support';

const MISSING = 'Missing required parameter in the JSON body or the post body or the query string';
const NOT_FOUND = { status: 404, message: 'Not found' };
const DOCS = 'https://docs.bigchaindb.com/projects/server/en/v2.2.2/';
// The package's own version, reported beside BigchainDB's in `GET /`.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION: string = require('../../package.json').version;
/** The node's body limit in this spec: small, so that going over it costs nothing. */
const BODY_LIMIT = 16 * 1024;

/** An answer: the status line as the driver reports it, the headers, the body parsed when it is JSON. */
interface Answer {
  readonly status: string;
  readonly headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}

/** A word no other transaction of the run has, for the text searches. */
const uniqueWord = () => `quokka${Math.random().toString(36).replace(/[^a-z]/g, '').slice(0, 8)}`;

for (const engine of NODE_ENGINES) {
  describe(`node: the HTTP API on ${engine.name}`, function () {
    this.timeout(20_000);
    let node: RunningNode;
    let origin: string;
    const alice: Keypair = keypair();
    const bob: Keypair = keypair();
    const assetWord = uniqueWord();
    const metadataWord = uniqueWord();
    let coin: SignedTx;
    let transfer: SignedTx;
    let coinHeight: number;

    /** Requests `path` (from the server's root) and reads the whole answer. */
    async function call(path: string, init: RequestInit = {}): Promise<Answer> {
      const response = await fetch(`${origin}${path}`, { redirect: 'manual', ...init });
      const text = await response.text();
      let body: unknown = text;
      if (text && (response.headers.get('content-type') ?? '').startsWith('application/json')) body = JSON.parse(text);
      return { status: `${response.status} ${response.statusText}`, headers: response.headers, body };
    }
    const post = (tx: unknown, query = '?mode=commit', headers: Record<string, string> = { 'content-type': 'application/json' }) =>
      call(`/api/v1/transactions${query}`, { method: 'POST', headers, body: typeof tx === 'string' ? tx : JSON.stringify(tx) });

    before(async function () {
      await engine.available.call(this);
      node = await startTestNode(engine, { bodyLimit: BODY_LIMIT });
      origin = new URL(node.url).origin;
      // Two outputs of alice's; the first is then spent to bob.
      coin = Driver.signTransaction(
        Driver.makeCreateTransaction({ message: `the ${assetWord} asset` }, { note: `the ${metadataWord} metadata` }, [output(alice.publicKey), output(alice.publicKey)], alice.publicKey),
        alice.privateKey,
      );
      transfer = signedTransfer(coin, 0, alice, [output(bob.publicKey)]);
      for (const tx of [coin, transfer]) expect((await post(tx)).status).to.equal('202 ACCEPTED');
      coinHeight = (await call(`/api/v1/blocks?transaction_id=${coin.id}`)).body[0];
    });
    after(async () => node?.close());

    describe('the info documents', () => {
      const v1 = (prefix: string, streams: string) => ({
        assets: `${prefix}assets/`,
        blocks: `${prefix}blocks/`,
        docs: `${DOCS}http-client-server-api.html`,
        metadata: `${prefix}metadata/`,
        outputs: `${prefix}outputs/`,
        streams,
        transactions: `${prefix}transactions/`,
        validators: `${prefix}validators`,
      });

      it('GET / names the v1 paths under /api/v1/, the advertised stream URL and the versions', async () => {
        const answer = await call('/');
        expect(answer.status).to.equal('200 OK');
        expect(answer.body).to.deep.equal({ api: { v1: v1('/api/v1/', node.streamUrl) }, chainstore: VERSION, docs: DOCS, software: 'BigchainDB', version: '2.2.2' });
      });

      it('GET /api/v1/ (slash or not) names the paths under the prefix, and the stream URL the node serves', async () => {
        for (const path of ['/api/v1/', '/api/v1']) {
          const answer = await call(path);
          expect(answer.status).to.equal('200 OK');
          expect(answer.body).to.deep.equal(v1('/', node.streamUrl));
        }
        expect(node.streamUrl).to.match(/^ws:\/\/127\.0\.0\.1:\d+\/api\/v1\/streams\/valid_transactions$/);
      });
    });

    describe('GET /api/v1/transactions/{id}', () => {
      it('answers a committed transaction whole, with or without the trailing slash', async () => {
        for (const path of [`/api/v1/transactions/${coin.id}`, `/api/v1/transactions/${transfer.id}/`]) {
          const answer = await call(path);
          expect(answer.status).to.equal('200 OK');
          expect(answer.headers.get('content-type')).to.match(/^application\/json/);
        }
        expect((await call(`/api/v1/transactions/${coin.id}`)).body).to.deep.equal(coin);
        expect((await call(`/api/v1/transactions/${transfer.id}/`)).body).to.deep.equal(transfer);
      });

      it('answers 404 NOT FOUND {"status": 404, "message": "Not found"} for an id it does not have, whatever its form', async () => {
        for (const id of ['f'.repeat(64), 'transactionId', coin.id.toUpperCase()]) {
          const answer = await call(`/api/v1/transactions/${id}`);
          expect([answer.status, answer.body]).to.deep.equal(['404 NOT FOUND', NOT_FOUND]);
        }
      });

      it('answers the same 404 for an id over 100 characters (fastify would say 414) and for bad escapes (fastify would say 400)', async () => {
        for (const id of ['a'.repeat(101), 'b'.repeat(5000), '%zz', 'ab%', '%ff%fe', `${coin.id}%`]) {
          const answer = await call(`/api/v1/transactions/${id}`);
          expect([answer.status, answer.body], id.slice(0, 20)).to.deep.equal(['404 NOT FOUND', NOT_FOUND]);
          expect(answer.headers.get('access-control-allow-origin')).to.equal('*');
        }
      });
    });

    describe('GET /api/v1/transactions?asset_id=', () => {
      const list = async (query: string) => call(`/api/v1/transactions${query}`);

      it('lists the CREATE and the TRANSFERs of an asset, narrowed by operation (any case) and last_tx', async () => {
        const cases: [string, SignedTx[]][] = [
          [`?asset_id=${coin.id}`, [coin, transfer]],
          [`/?asset_id=${coin.id.toUpperCase()}`, [coin, transfer]],
          [`?asset_id=${coin.id}&operation=create`, [coin]],
          [`?asset_id=${coin.id}&operation=TRANSFER`, [transfer]],
          [`?asset_id=${coin.id}&last_tx=true`, [transfer]],
          [`?asset_id=${coin.id}&operation=CREATE&last_tx=True`, [coin]],
          [`?asset_id=${coin.id}&last_tx=false`, [coin, transfer]],
          [`?asset_id=${'e'.repeat(64)}`, []],
        ];
        for (const [query, expected] of cases) {
          const answer = await list(query);
          expect([answer.status, answer.body], query).to.deep.equal(['200 OK', expected]);
        }
      });

      it('ignores arguments it does not know (a route parsed without strict), prototype names included', async () => {
        for (const extra of ['foo=1', 'toString=1', 'constructor=x', '__proto__=x', 'hasOwnProperty=x']) {
          const answer = await list(`?asset_id=${coin.id}&${extra}`);
          expect([answer.status, answer.body], extra).to.deep.equal(['200 OK', [coin, transfer]]);
        }
      });

      it("refuses missing or bad arguments with reqparse's 400 {\"message\": {\"<arg>\": \"<text>\"}}", async () => {
        const cases: [string, Record<string, string>][] = [
          ['', { asset_id: MISSING }],
          ['?operation=create', { asset_id: MISSING }],
          ['?toString=1', { asset_id: MISSING }],
          ['?asset_id=', { asset_id: 'Invalid hash' }],
          [`?asset_id=${coin.id.slice(1)}`, { asset_id: 'Invalid hash' }],
          [`?asset_id=${coin.id}&operation=burn`, { operation: 'Operation must be "CREATE" or "TRANSFER"' }],
          [`?asset_id=${coin.id}&last_tx=yes`, { last_tx: 'Boolean value must be "true" or "false" (lowercase)' }],
        ];
        for (const [query, message] of cases) {
          const answer = await list(query);
          expect([answer.status, answer.body], query).to.deep.equal(['400 BAD REQUEST', { message }]);
        }
      });
    });

    describe('POST /api/v1/transactions', () => {
      it('answers 202 ACCEPTED with the transaction echoed, reading the body whatever its content type, async by default', async () => {
        const carol = keypair();
        const tx = Driver.signTransaction(Driver.makeCreateTransaction({ n: Math.random() }, null, [output(carol.publicKey)], carol.publicKey), carol.privateKey);
        const answer = await post(tx, '/', { 'content-type': 'text/plain' });
        expect([answer.status, answer.body]).to.deep.equal(['202 ACCEPTED', tx]);
        // An async post is committed soon after its answer.
        for (let tries = 0; tries < 200 && (await call(`/api/v1/transactions/${tx.id}`)).status !== '200 OK'; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
        expect((await call(`/api/v1/transactions/${tx.id}`)).body).to.deep.equal(tx);
      });

      it('checks the mode first, exactly as spelt', async () => {
        for (const mode of ['Commit', 'batch', '']) {
          const answer = await post('not even JSON', `?mode=${mode}`);
          expect([answer.status, answer.body], mode).to.deep.equal(['400 BAD REQUEST', { message: { mode: 'Mode must be "async", "sync" or "commit"' } }]);
        }
      });

      it("answers a body that is not JSON with Werkzeug's 400 text", async () => {
        for (const body of ['{"id": ', '', 'undefined']) {
          const answer = await post(body);
          expect([answer.status, answer.body], body).to.deep.equal(['400 BAD REQUEST', { message: 'The browser (or proxy) sent a request that this server could not understand.' }]);
        }
      });

      it('refuses a transaction already committed, in every mode, as DuplicateTransaction', async () => {
        for (const mode of ['async', 'sync', 'commit']) {
          const answer = await post(coin, `?mode=${mode}`);
          expect([answer.status, answer.body], mode).to.deep.equal(['400 BAD REQUEST', { status: 400, message: `Invalid transaction (DuplicateTransaction): transaction \`${coin.id}\` already exists` }]);
        }
      });

      it('answers 413 REQUEST ENTITY TOO LARGE for a body over the limit, and reads one at the limit', async () => {
        const over = await post(' '.repeat(BODY_LIMIT + 1));
        expect(over.status).to.equal('413 REQUEST ENTITY TOO LARGE');
        expect(over.body).to.deep.equal({ status: 413, message: `The request body is larger than this node accepts (${BODY_LIMIT} bytes)` });
        // At the limit the body is read: blanks are not JSON.
        expect((await post(' '.repeat(BODY_LIMIT))).status).to.equal('400 BAD REQUEST');
      });
    });

    describe('GET /api/v1/outputs', () => {
      const outputs = (query: string) => call(`/api/v1/outputs${query}`);
      const ref = (tx: SignedTx, output_index: number) => ({ transaction_id: tx.id, output_index });

      it('lists the outputs of a key, all, spent or unspent', async () => {
        const cases: [string, object[]][] = [
          [`?public_key=${alice.publicKey}`, [ref(coin, 0), ref(coin, 1)]],
          [`/?public_key=${alice.publicKey}&spent=true`, [ref(coin, 0)]],
          [`?public_key=${alice.publicKey}&spent=FALSE`, [ref(coin, 1)]],
          [`?public_key=${bob.publicKey}&spent=false`, [ref(transfer, 0)]],
          [`?public_key=${keypair().publicKey}`, []],
        ];
        for (const [query, expected] of cases) {
          const answer = await outputs(query);
          expect([answer.status, answer.body], query).to.deep.equal(['200 OK', expected]);
        }
      });

      it("refuses missing or bad arguments with reqparse's texts", async () => {
        const cases: [string, Record<string, string>][] = [
          ['', { public_key: MISSING }],
          ['?spent=true', { public_key: MISSING }],
          ['?public_key=abc', { public_key: 'Invalid base58 ed25519 key' }],
          [`?public_key=0${alice.publicKey.slice(1)}`, { public_key: 'Invalid base58 ed25519 key' }],
          [`?public_key=${alice.publicKey}&spent=1`, { spent: 'Boolean value must be "true" or "false" (lowercase)' }],
        ];
        for (const [query, message] of cases) {
          const answer = await outputs(query);
          expect([answer.status, answer.body], query).to.deep.equal(['400 BAD REQUEST', { message }]);
        }
      });

      it('refuses unknown arguments (a strict route), names of Object.prototype included, joined in their order', async () => {
        for (const names of [['foo'], ['toString'], ['constructor'], ['__proto__'], ['hasOwnProperty'], ['valueOf', 'status']]) {
          const answer = await outputs(`?public_key=${alice.publicKey}&${names.map((name) => `${name}=1`).join('&')}`);
          expect([answer.status, answer.body], names.join()).to.deep.equal(['400 BAD REQUEST', { message: `Unknown arguments: ${names.join(', ')}` }]);
        }
      });
    });

    describe('GET /api/v1/blocks/{height}', () => {
      it('answers {height, transactions} with whole transactions, and no app_hash', async () => {
        const answer = await call(`/api/v1/blocks/${coinHeight}`);
        expect([answer.status, answer.body]).to.deep.equal(['200 OK', { height: coinHeight, transactions: [coin] }]);
      });

      it('answers the height-0 genesis block empty, also written with leading zeros past 100 characters', async () => {
        for (const height of ['0', '0'.repeat(150), `${'0'.repeat(120)}${coinHeight}`]) {
          const answer = await call(`/api/v1/blocks/${height}/`);
          const expected = height.endsWith('0') ? { height: 0, transactions: [] } : { height: coinHeight, transactions: [coin] };
          expect([answer.status, answer.body], height.slice(-5)).to.deep.equal(['200 OK', expected]);
        }
      });

      it('answers 404 above the latest height, and for a height that is not digits (no route in Werkzeug)', async () => {
        const latest = (await query.getLatestBlock(node.connection))!.height;
        expect((await call(`/api/v1/blocks/${latest}`)).status).to.equal('200 OK');
        for (const height of [String(latest + 1), '9'.repeat(400), '-1', '1.0', 'x', '+1', '%31%zz']) {
          const answer = await call(`/api/v1/blocks/${height}`);
          expect([answer.status, answer.body], height.slice(0, 10)).to.deep.equal(['404 NOT FOUND', NOT_FOUND]);
        }
      });
    });

    describe('GET /api/v1/blocks?transaction_id=', () => {
      it('lists the heights of the blocks that hold a transaction; any string is an id', async () => {
        const cases: [string, number[]][] = [
          [`?transaction_id=${coin.id}`, [coinHeight]],
          [`/?transaction_id=${coin.id}`, [coinHeight]],
          [`?transaction_id=${'0'.repeat(64)}`, []],
          ['?transaction_id=', []],
          [`?transaction_id=${'z'.repeat(300)}`, []],
        ];
        for (const [query, expected] of cases) {
          const answer = await call(`/api/v1/blocks${query}`);
          expect([answer.status, answer.body], query.slice(0, 30)).to.deep.equal(['200 OK', expected]);
        }
      });

      it('refuses a missing transaction_id and unknown arguments (strict), prototype names included', async () => {
        for (const path of ['/api/v1/blocks', '/api/v1/blocks/', '/api/v1/blocks?height=1']) {
          const answer = await call(path);
          expect([answer.status, answer.body], path).to.deep.equal(['400 BAD REQUEST', { message: { transaction_id: MISSING } }]);
        }
        for (const name of ['status', 'toString', 'constructor', '__proto__', 'hasOwnProperty']) {
          const answer = await call(`/api/v1/blocks?transaction_id=${coin.id}&${name}=x`);
          expect([answer.status, answer.body], name).to.deep.equal(['400 BAD REQUEST', { message: `Unknown arguments: ${name}` }]);
        }
      });
    });

    describe('GET /api/v1/assets and /api/v1/metadata', () => {
      it('finds an asset by a word of its data, and metadata by a word of it, as [{data, id}] and [{id, metadata}]', async () => {
        const assets = await call(`/api/v1/assets?search=${assetWord}`);
        expect([assets.status, assets.body]).to.deep.equal(['200 OK', [{ data: coin.asset.data, id: coin.id }]]);
        const metadata = await call(`/api/v1/metadata/?search=${metadataWord}&limit=0`);
        expect([metadata.status, metadata.body]).to.deep.equal(['200 OK', [{ id: coin.id, metadata: coin.metadata }]]);
        // The TRANSFER's metadata (null) and a word nowhere: nothing.
        expect((await call(`/api/v1/assets?search=${uniqueWord()}`)).body).to.deep.equal([]);
      });

      it('takes limit as a Python int, and refuses a missing or empty search', async () => {
        expect((await call(`/api/v1/metadata?search=${metadataWord}&limit=1`)).body).to.have.length(1);
        // Not strict: an unknown argument is ignored.
        expect((await call(`/api/v1/assets?search=${assetWord}&toString=1`)).body).to.have.length(1);
        const cases: [string, object][] = [
          ['/api/v1/assets', { message: { search: MISSING } }],
          ['/api/v1/metadata?limit=3', { message: { search: MISSING } }],
          ['/api/v1/assets?search=', { status: 400, message: 'text_search cannot be empty' }],
          ['/api/v1/metadata?search=', { status: 400, message: 'text_search cannot be empty' }],
          [`/api/v1/assets?search=${assetWord}&limit=x`, { message: { limit: "invalid literal for int() with base 10: 'x'" } }],
          [`/api/v1/metadata?search=${assetWord}&limit=1.5`, { message: { limit: "invalid literal for int() with base 10: '1.5'" } }],
        ];
        for (const [path, body] of cases) {
          const answer = await call(path);
          expect([answer.status, answer.body], path).to.deep.equal(['400 BAD REQUEST', body]);
        }
      });
    });

    it('GET /api/v1/validators answers the validator set (none on a new ledger)', async () => {
      for (const path of ['/api/v1/validators', '/api/v1/validators/']) {
        const answer = await call(path);
        expect([answer.status, answer.body]).to.deep.equal(['200 OK', []]);
      }
    });

    describe('paths and methods no route has', () => {
      it('answers an unknown path 404 NOT FOUND with the JSON body, whatever the method', async () => {
        for (const [method, path] of [
          ['GET', '/api/wrong/transactions/transactionId'],
          ['GET', '/api/v2/'],
          ['POST', '/api/v1/transaction'],
          ['GET', '/api/v1/%zz'],
          ['DELETE', `/api/v1/${'x'.repeat(300)}/y`],
        ]) {
          const answer = await call(path, { method });
          expect([answer.status, answer.body], `${method} ${path.slice(0, 30)}`).to.deep.equal(['404 NOT FOUND', NOT_FOUND]);
        }
      });

      it("answers a route's path asked with another method 405 METHOD NOT ALLOWED, with Allow (flask-restful's JSON)", async () => {
        for (const [method, path, allow] of [
          ['PUT', '/api/v1/transactions', 'GET, HEAD, OPTIONS, POST'],
          ['POST', '/api/v1/outputs/', 'GET, HEAD, OPTIONS'],
          ['DELETE', `/api/v1/transactions/${coin.id}`, 'GET, HEAD, OPTIONS'],
          ['POST', '/', 'GET, HEAD, OPTIONS'],
        ]) {
          const answer = await call(path, { method });
          expect([answer.status, answer.body], `${method} ${path}`).to.deep.equal(['405 METHOD NOT ALLOWED', { message: 'The method is not allowed for the requested URL.' }]);
          expect(answer.headers.get('allow')).to.equal(allow);
        }
      });

      it('answers HEAD on a GET route with the status and no body', async () => {
        const answer = await call(`/api/v1/transactions/${coin.id}`, { method: 'HEAD' });
        expect([answer.status, answer.body]).to.deep.equal(['200 OK', '']);
      });
    });

    describe("CORS, as flask_cors's defaults have it", () => {
      it('sends Access-Control-Allow-Origin: * without an Origin, and echoes an Origin with Vary: Origin, on every answer', async () => {
        for (const path of ['/api/v1/', `/api/v1/transactions/${'f'.repeat(64)}`, '/api/v1/outputs', '/nowhere']) {
          const plain = await call(path);
          expect(plain.headers.get('access-control-allow-origin'), path).to.equal('*');
          expect(plain.headers.get('vary'), path).to.equal(null);
          const cross = await call(path, { headers: { origin: 'https://wallet.example' } });
          expect(cross.headers.get('access-control-allow-origin'), path).to.equal('https://wallet.example');
          expect(cross.headers.get('vary'), path).to.equal('Origin');
          expect(cross.headers.get('access-control-allow-methods'), path).to.equal(null);
        }
      });

      it("answers a preflight on a route's path 200 with the methods and the headers asked for", async () => {
        const answer = await call('/api/v1/transactions?mode=commit', {
          method: 'OPTIONS',
          headers: { origin: 'https://wallet.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'Content-Type, accept' },
        });
        expect([answer.status, answer.body]).to.deep.equal(['200 OK', '']);
        expect(answer.headers.get('access-control-allow-origin')).to.equal('https://wallet.example');
        expect(answer.headers.get('access-control-allow-methods')).to.equal('DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT');
        expect(answer.headers.get('access-control-allow-headers')).to.equal('Content-Type, accept');
        expect(answer.headers.get('allow')).to.equal('GET, HEAD, OPTIONS, POST');
      });

      it('answers any OPTIONS on a route path 200 (preflight or not, any parameter), with Allow and no CORS methods unless asked', async () => {
        for (const path of ['/', '/api/v1', `/api/v1/transactions/${'a'.repeat(200)}`, '/api/v1/blocks/12/', '/api/v1/outputs?x=1']) {
          const answer = await call(path, { method: 'OPTIONS' });
          expect([answer.status, answer.body], path.slice(0, 30)).to.deep.equal(['200 OK', '']);
          expect(answer.headers.get('allow'), path.slice(0, 30)).to.match(/^GET, HEAD, OPTIONS/);
          expect(answer.headers.get('access-control-allow-methods')).to.equal(null);
        }
        // A method flask_cors does not list gets no preflight headers, but the same 200.
        const odd = await call('/api/v1/outputs', { method: 'OPTIONS', headers: { 'access-control-request-method': 'TRACE' } });
        expect(odd.status).to.equal('200 OK');
        expect(odd.headers.get('access-control-allow-methods')).to.equal(null);
      });

      it('answers OPTIONS on a path no route has 404, as Flask does, with the CORS headers', async () => {
        const answer = await call('/api/v1/nowhere', { method: 'OPTIONS', headers: { origin: 'https://wallet.example', 'access-control-request-method': 'GET' } });
        expect([answer.status, answer.body]).to.deep.equal(['404 NOT FOUND', NOT_FOUND]);
        expect(answer.headers.get('access-control-allow-origin')).to.equal('https://wallet.example');
        expect(answer.headers.get('access-control-allow-methods')).to.equal('DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT');
      });
    });
  });
}
