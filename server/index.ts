/**
 * The chainstore node: BigchainDB 2.2.2's HTTP API v1 and event stream on chainstore, so
 * that the official driver and the applications written for BigchainDB run unchanged on
 * any chainstore backend. An application of the library: it uses only its public API.
 *
 * @example
 * import { startNode } from 'chainstore/node';
 * const node = await startNode();   // embedded SQLite, http://localhost:9984/api/v1/
 * await node.close();
 *
 * @module chainstore/node
 */
export { startNode } from './node';
export type { NodeOptions, RunningNode } from './node';
export { STREAM_PATH, eventMessage } from './stream';
export { Rejection } from './rejections';
export type { RejectionName } from './rejections';
export { checkTransaction, checkAgainstLedger, MAX_AMOUNT } from './validation';
export type { CheckedTransaction, LedgerCheckOptions } from './validation';
export type { ParsedFulfillment } from './fulfillments';
export { canonicalJson, transactionId } from './hashing';
