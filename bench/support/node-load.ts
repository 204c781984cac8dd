/**
 * The load generator of the node benchmark, run in a process of its own (bench/cases/node.ts
 * forks it) so that the node's process does nothing but serve.
 *
 * It signs its transactions with the official driver before any measurement: CREATEs of
 * about 765 bytes (asset data and metadata, as in BigchainDB's own tests), and TRANSFERs
 * that each spend the output of one of those CREATEs, to be posted once the CREATEs are
 * committed. Then, on request, it posts one kind of them in `commit` mode from `clients`
 * concurrent keep-alive HTTP clients, and reports each post's latency and its own CPU time.
 *
 * Messages (IPC): in `{ type: 'prepare', creates, warmup }` -> out `{ type: 'ready', ... }`;
 * in `{ type: 'run', url, kind, clients }` -> out `{ type: 'done', ... }`.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import bs58 from 'bs58';
import { Ed25519Sha256 } from 'crypto-conditions';
import * as bigchaindb from 'bigchaindb-driver';
import { Pool } from 'undici';

// The driver's type declarations refuse calls its own tests make (metadata objects).
/* eslint-disable @typescript-eslint/no-explicit-any */
const Driver = (bigchaindb as any).Transaction;

/** What the parent asks for. */
export type LoadRequest =
  | { readonly type: 'prepare'; readonly creates: number; readonly warmup: number; readonly owners: number }
  | { readonly type: 'run'; readonly url: string; readonly kind: 'warmup' | 'create' | 'transfer'; readonly clients: number };

/** What the load generator answers. */
export type LoadReply =
  | { readonly type: 'ready'; readonly createBytes: number; readonly transferBytes: number; readonly signMs: number }
  | {
      readonly type: 'done';
      readonly kind: string;
      readonly posted: number;
      readonly committed: number;
      /** Answers other than 202, by status line and body, with how many of each. */
      readonly failures: Record<string, number>;
      /** From the first post sent to the last answer received. */
      readonly seconds: number;
      /** Latency of each committed post, in ms, in the order they were answered. */
      readonly latencies: number[];
      /** CPU time this process spent in the run (user + system), in ms. */
      readonly cpuMs: number;
    };

interface Owner {
  readonly publicKey: string;
  readonly privateKey: KeyObject;
}

/** `count` Ed25519 owners, with keys made natively (the driver's tweetnacl is slower). */
function makeOwners(count: number): Owner[] {
  return Array.from({ length: count }, () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    return { publicKey: bs58.encode(raw), privateKey };
  });
}

/**
 * The driver's `delegateSignTransaction` with a native Ed25519 signer: the same message the
 * driver's `signTransaction` signs (sha3-256 of the serialized transaction, then the spent
 * output's id and index), the same fulfillment URI, about ten times faster.
 */
function signer(owner: Owner) {
  const publicKey = Buffer.from(bs58.decode(owner.publicKey));
  return (serialized: string, input: { fulfills: { transaction_id: string; output_index: number } | null }) => {
    const message = input.fulfills ? `${serialized}${input.fulfills.transaction_id}${input.fulfills.output_index}` : serialized;
    const hash = createHash('sha3-256').update(message).digest();
    const fulfillment = new Ed25519Sha256();
    fulfillment.setPublicKey(publicKey);
    fulfillment.setSignature(sign(null, hash, owner.privateKey));
    return fulfillment.serializeUri() as string;
  };
}

const output = (owner: Owner) => Driver.makeOutput(Driver.makeEd25519Condition(owner.publicKey));

/** CREATE number `n`: a bicycle registered by its owner, as in BigchainDB's tests (about 765 bytes). */
function makeCreate(n: number, owner: Owner): any {
  const asset = { bicycle: { serial_number: `abcd1234-${String(n).padStart(7, '0')}`, manufacturer: 'bkfab' } };
  const metadata = { planet: 'earth' };
  return Driver.delegateSignTransaction(Driver.makeCreateTransaction(asset, metadata, [output(owner)], owner.publicKey), signer(owner));
}

/** A TRANSFER of `create`'s only output from `from` to `to`. */
function makeTransfer(create: any, from: Owner, to: Owner): any {
  return Driver.delegateSignTransaction(Driver.makeTransferTransaction([{ tx: create, output_index: 0 }], [output(to)], { planet: 'mars' }), signer(from));
}

const bodies: Record<'warmup' | 'create' | 'transfer', Buffer[]> = { warmup: [], create: [], transfer: [] };

function prepare(creates: number, warmup: number, ownerCount: number): LoadReply {
  const started = performance.now();
  const owners = makeOwners(ownerCount);
  const ownerOf = (n: number) => owners[n % owners.length];
  const encode = (tx: unknown) => Buffer.from(JSON.stringify(tx));
  bodies.warmup = Array.from({ length: warmup }, (_, n) => encode(makeCreate(creates + n, ownerOf(n))));
  const made = Array.from({ length: creates }, (_, n) => makeCreate(n, ownerOf(n)));
  bodies.create = made.map(encode);
  bodies.transfer = made.map((create, n) => encode(makeTransfer(create, ownerOf(n), ownerOf(n + 1))));
  const mean = (list: Buffer[]) => Math.round(list.reduce((total, body) => total + body.length, 0) / Math.max(1, list.length));
  return { type: 'ready', createBytes: mean(bodies.create), transferBytes: mean(bodies.transfer), signMs: performance.now() - started };
}

/**
 * Posts `body` in commit mode; resolves with the status and the answer's text. The client is
 * undici's (the one Node's fetch is built on): Node's own http client costs about twice the
 * CPU per request, which on this machine is taken from the node under test.
 */
async function post(pool: Pool, path: string, body: Buffer): Promise<{ status: number; text: string }> {
  const response = await pool.request({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body });
  return { status: response.statusCode, text: await response.body.text() };
}

async function run(url: string, kind: 'warmup' | 'create' | 'transfer', clients: number): Promise<LoadReply> {
  const list = bodies[kind];
  const base = new URL(url);
  // One keep-alive connection per client, one request at a time on each (no pipelining).
  const pool = new Pool(base.origin, { connections: clients, pipelining: 1 });
  const path = `${base.pathname}transactions?mode=commit`;
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const client = async () => {
    while (next < list.length) {
      const body = list[next++];
      const sent = performance.now();
      const { status, text } = await post(pool, path, body);
      if (status === 202) latencies.push(performance.now() - sent);
      else {
        const key = `${status} ${text.slice(0, 200)}`;
        failures[key] = (failures[key] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(clients, list.length) }, client));
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await pool.close();
  return { type: 'done', kind, posted: list.length, committed: latencies.length, failures, seconds, latencies, cpuMs: (used.user + used.system) / 1000 };
}

process.on('message', (message: LoadRequest) => {
  void (async () => {
    const reply = message.type === 'prepare' ? prepare(message.creates, message.warmup, message.owners) : await run(message.url, message.kind, message.clients);
    process.send!(reply);
  })().catch((error: Error) => {
    process.send!({ type: 'error', message: error.stack ?? String(error) });
  });
});
process.on('disconnect', () => process.exit(0));
