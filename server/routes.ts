/**
 * BigchainDB 2.2.2's HTTP API v1 (`bigchaindb/web/routes.py` and `views/`), on chainstore.
 * Every route answers as BigchainDB's does: the same paths, parameters, bodies and status
 * lines, read from chainstore's generics.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Connection, type Json, type OutputRef, type Transaction, ChainstoreError, query } from '../lib';
import { sendError } from './http';
import { bool, ed25519, int, mode, operation, readParameters, string, txid } from './parameters';
import type { BlockProducer } from './producer';
import { Rejection } from './rejections';
import { STREAM_PATH } from './stream';
import { Admission } from './admission';
import { checkTransaction } from './validation';

/** What the routes read and write through. */
export interface RouteContext {
  readonly conn: Connection;
  readonly producer: BlockProducer;
  /** The stream URL `GET /api/v1/` advertises, e.g. `ws://localhost:9985` + the stream path. */
  readonly streamUrl: string;
  /** The chainstore version, reported beside BigchainDB's. */
  readonly version: string;
}

/** The version of BigchainDB's API this node serves (its info documents say so). */
export const BIGCHAINDB_VERSION = '2.2.2';
const DOCS = `https://docs.bigchaindb.com/projects/server/en/v${BIGCHAINDB_VERSION}/`;

/** Werkzeug's answer to a body that is not JSON (BigchainDB 2.2.2 with debug off). */
const NOT_JSON = 'The browser (or proxy) sent a request that this server could not understand.';

/**
 * Registers every route of the API on `app`.
 *
 * @example
 * registerRoutes(app, { conn, producer, streamUrl, version: '0.1.0' });
 */
export function registerRoutes(app: FastifyInstance, context: RouteContext): void {
  const { conn, producer } = context;
  const admission = new Admission(conn);

  app.get('/', async () => ({
    api: { v1: apiInfo('/api/v1/', context.streamUrl) },
    chainstore: context.version,
    docs: DOCS,
    software: 'BigchainDB',
    version: BIGCHAINDB_VERSION,
  }));
  app.get('/api/v1', async () => apiInfo('/', context.streamUrl));

  app.get<{ Params: { id: string } }>('/api/v1/transactions/:id', async (request, reply) => {
    const tx = await query.getTransaction(conn, request.params.id).catch(notFoundOnBadKey);
    return tx ?? sendError(reply, 404);
  });

  app.get('/api/v1/transactions', async (request) => {
    const args = readParameters(request.query, { asset_id: { read: txid, required: true }, operation: { read: operation }, last_tx: { read: bool } });
    const ids = await query.getTxidsFiltered(conn, args.asset_id, { operation: args.operation, lastTx: args.last_tx ?? false });
    return query.getTransactions(conn, ids);
  });

  app.post('/api/v1/transactions', async (request, reply) => postTransaction(request, reply, context, admission));

  app.get('/api/v1/outputs', async (request) => {
    const args = readParameters(request.query, { public_key: { read: ed25519, required: true }, spent: { read: bool } }, true);
    return outputsOf(conn, args.public_key, args.spent);
  });

  app.get<{ Params: { height: string } }>('/api/v1/blocks/:height', async (request, reply) => {
    // Werkzeug's int converter: digits only, or no route at all.
    if (!/^\d+$/.test(request.params.height)) return sendError(reply, 404);
    const height = Number(request.params.height);
    const latest = producer.latestBlock?.height ?? (await query.getLatestBlock(conn))?.height ?? 0;
    if (height > latest) return sendError(reply, 404);
    const block = await query.getBlock(conn, height);
    // BigchainDB answers an empty block for a height it has no block at, below the latest.
    return { height, transactions: block ? await query.getTransactions(conn, block.transactions) : [] };
  });

  app.get('/api/v1/blocks', async (request) => {
    const args = readParameters(request.query, { transaction_id: { read: string, required: true } }, true);
    return query.getBlockWithTransaction(conn, args.transaction_id).catch(noneOnBadKey);
  });

  for (const table of ['assets', 'metadata'] as const) {
    app.get(`/api/v1/${table}`, async (request, reply) => {
      const args = readParameters(request.query, { search: { read: string, required: true }, limit: { read: int } });
      if (!args.search) return sendError(reply, 400, 'text_search cannot be empty');
      // No limit, or 0: all of them. MongoDB reads a negative limit as its absolute value.
      const limit = args.limit ? Math.abs(args.limit) : undefined;
      try {
        const hits = await query.textSearch(conn, args.search, { table, limit });
        // BigchainDB removes MongoDB's score from what it returns.
        return hits.map(({ score: _score, ...hit }) => hit);
      } catch (error) {
        if (error instanceof ChainstoreError && error.code !== 'CHAINSTORE_CONNECTION') {
          return sendError(reply, 400, `(${error.name}): ${error.message}`);
        }
        throw error;
      }
    });
  }

  app.get('/api/v1/validators', async () => (await query.getValidatorSet(conn))?.validators ?? []);

}

/** BigchainDB's v1 index: where each resource lives, under `prefix`. Keys sorted, as Flask's jsonify sorts them. */
function apiInfo(prefix: string, streamUrl: string) {
  return {
    assets: `${prefix}assets/`,
    blocks: `${prefix}blocks/`,
    docs: `${DOCS}http-client-server-api.html`,
    metadata: `${prefix}metadata/`,
    outputs: `${prefix}outputs/`,
    streams: streamUrl,
    transactions: `${prefix}transactions/`,
    validators: `${prefix}validators`,
  };
}

/**
 * `POST /api/v1/transactions?mode=`: BigchainDB's order of checks (mode, the transaction on
 * its own, then against the committed ledger, in every mode), then the mode's promise:
 * `async` answers once queued, `sync` once queued and checked (both are done by then), and
 * `commit` once the transaction's block is committed.
 */
async function postTransaction(request: FastifyRequest, reply: FastifyReply, context: RouteContext, admission: Admission) {
  const { producer } = context;
  const args = readParameters(request.query, { mode: { read: mode } });
  let body: unknown;
  try {
    body = JSON.parse(typeof request.body === 'string' ? request.body : '');
  } catch {
    return reply.code(400).send({ message: NOT_JSON });
  }
  let checked;
  try {
    checked = checkTransaction(body);
    const verdict = await admission.check(checked);
    if (verdict) throw verdict;
  } catch (error) {
    if (error instanceof Rejection) return sendError(reply, error.status, error.httpMessage);
    throw error;
  }
  // Tendermint's answer to a transaction already in its mempool cache.
  if (producer.inCache(checked.tx.id)) return sendError(reply, 400, 'Internal error - Tx already exists in cache');
  const outcome = producer.submit(checked);
  if ((args.mode ?? 'async') !== 'commit') return reply.code(202).send(body);
  const settled = await outcome;
  switch (settled.status) {
    case 'committed':
      return reply.code(202).send(body);
    case 'dropped':
      return sendError(reply, 500, 'Transaction validation failed');
    case 'refused':
      return sendError(reply, 503, 'The node is shutting down: the transaction was not committed');
    case 'failed':
      request.log.error({ err: settled.error, id: checked.tx.id }, 'block commit failed');
      return sendError(reply, 500, 'The block could not be committed: the transaction is not stored');
  }
}

/**
 * `GET /api/v1/outputs`: every output of a committed transaction whose condition names the
 * key, threshold sub-conditions included, narrowed by whether a committed transaction spends it.
 */
async function outputsOf(conn: Connection, publicKey: string, spent: boolean | undefined): Promise<OutputRef[]> {
  const owned = await query.getOwnedIds(conn, publicKey);
  const outputs: OutputRef[] = [];
  for (const tx of owned) {
    tx.outputs.forEach((output, index) => {
      if (detailsName(output.condition.details, publicKey)) outputs.push({ transaction_id: tx.id, output_index: index });
    });
  }
  if (spent === undefined || outputs.length === 0) return outputs;
  const spenders = await query.getSpendingTransactions(conn, outputs);
  const spentKeys = new Set(spenders.flatMap((tx: Transaction) => tx.inputs.flatMap((input) => (input.fulfills ? [`${input.fulfills.transaction_id}:${input.fulfills.output_index}`] : []))));
  return outputs.filter((ref) => spentKeys.has(`${ref.transaction_id}:${ref.output_index}`) === spent);
}

/** BigchainDB's `condition_details_has_owner`: the key appears anywhere in the condition tree. */
function detailsName(details: Json, publicKey: string): boolean {
  const pending: Json[] = [details];
  while (pending.length) {
    const node = pending.pop();
    if (typeof node !== 'object' || node === null || Array.isArray(node)) continue;
    if (node.public_key === publicKey) return true;
    if (Array.isArray(node.subconditions)) pending.push(...node.subconditions);
  }
  return false;
}

/** A key chainstore refuses to look up (too long, half a surrogate pair) names nothing stored. */
function notFoundOnBadKey(error: unknown): null {
  if ((error as { code?: string })?.code === 'CHAINSTORE_VALIDATION') return null;
  throw error;
}
function noneOnBadKey(error: unknown): number[] {
  if ((error as { code?: string })?.code === 'CHAINSTORE_VALIDATION') return [];
  throw error;
}
