/**
 * The commit thread itself (see commit-thread.ts): it keeps one SqliteConnection per handle,
 * opened with the settings of the connection it stands for, and runs each commit through
 * the same code as the caller's thread would (writes.ts), one request at a time, in order.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { ResolvedConfig } from '../../lib/config';
import { BackendError, DuplicateKeyError } from '../../lib/errors';
import type { CommitReply, CommitRequest, CommitSettings, ThreadError } from './commit-thread';
import { SqliteConnection } from './connection';
import { commitBlockRows } from './writes';

/** What the thread is started with, so that this file serves only as its entry. */
export const COMMIT_THREAD = 'chainstore sqlite commit thread';

/**
 * This file's own path, as the thread's entry: commit-thread.ts imports it rather than
 * naming the file, so a build or bundle that follows imports keeps the two together.
 */
export const workerEntry = __filename;

const connections = new Map<number, SqliteConnection>();

function connectionFor(handle: number, settings: CommitSettings): SqliteConnection {
  let conn = connections.get(handle);
  if (!conn) {
    // A resolved config of the connection's own settings (frozen, so taken as it is); never
    // a commit thread of its own.
    const config = Object.freeze({ backend: 'sqlite', ...settings, commitThread: false }) as unknown as ResolvedConfig;
    conn = new SqliteConnection(config);
    connections.set(handle, conn);
  }
  return conn;
}

/** An error of a commit as it can cross to the caller's thread. */
function asThreadError(error: unknown): ThreadError {
  if (!(error instanceof Error)) return { name: 'OperationError', message: `commit block failed: ${String(error)}` };
  const message = error instanceof BackendError ? error.message.replace(/^\[sqlite\] /, '') : `commit block failed: ${error.message}`;
  const keys = error instanceof DuplicateKeyError ? [...error.keys] : undefined;
  const engine = error.cause;
  const code = (engine as { code?: unknown } | undefined)?.code;
  const cause = engine instanceof Error && typeof code === 'string' ? { message: engine.message, code } : undefined;
  return { name: error.name, message, keys, cause };
}

async function handle(request: CommitRequest): Promise<CommitReply> {
  try {
    if (request.op === 'close') {
      const conn = connections.get(request.handle);
      connections.delete(request.handle);
      await conn?.close();
    } else {
      commitBlockRows(connectionFor(request.handle, request.settings), request.block, request.txs);
    }
    return { id: request.id };
  } catch (error) {
    return { id: request.id, error: asThreadError(error) };
  }
}

/** Answers the caller's requests in the order they came, each to its end before the next. */
function serve(port: NonNullable<typeof parentPort>): void {
  let queue = Promise.resolve();
  port.on('message', (request: CommitRequest) => {
    queue = queue.then(async () => port.postMessage(await handle(request)));
  });
}

if (!isMainThread && workerData === COMMIT_THREAD && parentPort) serve(parentPort);
