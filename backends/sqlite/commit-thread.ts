/**
 * The sqlite backend's commit thread: one worker thread per process that commits blocks to
 * file databases, each through a database handle of its own (commit-worker.ts).
 *
 * Why: better-sqlite3 is synchronous, and a block's commit is mostly SQLite writing pages
 * and waiting for the disk to sync them (`synchronous = FULL`). On the caller's thread that
 * time stops everything else (a node's HTTP server, its validation of the next block); on a
 * thread of its own it overlaps with them, and the machine's second core does the commit.
 * The commit stays one SQLite transaction, as atomic and durable as on the caller's thread;
 * the caller's connection sees it as soon as the promise resolves (WAL: every read starts a
 * new snapshot). Other writes of the connection stay on its own thread, and the file's write
 * lock orders the two as it orders two processes.
 *
 * One thread serves every connection of the process, so starting it is paid once. It keeps
 * the process alive only while a request is in flight.
 */
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { ConnectionError, DuplicateKeyError, OperationError } from '../../lib/errors';
import type { Block, Transaction } from '../../lib/model';
import { COMMIT_THREAD, workerEntry } from './commit-worker';

/** What the commit thread needs to open a connection's file as the connection does. */
export interface CommitSettings {
  readonly name: string;
  readonly busyTimeout: number;
  readonly synchronous: 'FULL' | 'NORMAL';
  readonly cacheSize: number;
  readonly mmapSize: number;
  readonly walAutocheckpoint: number;
  readonly changeLogRetention: number;
}

/** A request to the thread: commit a block on handle `handle`, or close that handle. */
export type CommitRequest =
  | { readonly id: number; readonly op: 'commit'; readonly handle: number; readonly settings: CommitSettings; readonly block: Block; readonly txs: readonly Transaction[] }
  | { readonly id: number; readonly op: 'close'; readonly handle: number };

/** An error, as it crosses between threads (class instances do not: they are rebuilt). */
export interface ThreadError {
  readonly name: string;
  /** Without the `[sqlite]` prefix, which the rebuilt error adds again. */
  readonly message: string;
  readonly keys?: readonly (string | number)[];
  /** The engine's own error (better-sqlite3's SqliteError), kept as the rebuilt error's cause. */
  readonly cause?: { readonly message: string; readonly code: string };
}

/** The thread's answer to request `id`. */
export interface CommitReply {
  readonly id: number;
  readonly error?: ThreadError;
}

const BACKEND = 'sqlite';

/** A chainstore error of the commit thread, made again on this side with its class and cause. */
export function rebuildError(error: ThreadError): Error {
  const cause = error.cause ? new Database.SqliteError(error.cause.message, error.cause.code) : undefined;
  const options = cause ? { cause } : {};
  if (error.name === 'DuplicateKeyError') return new DuplicateKeyError(BACKEND, error.message, error.keys ?? [], options);
  if (error.name === 'ConnectionError') return new ConnectionError(BACKEND, error.message, options);
  return new OperationError(BACKEND, error.message, options);
}

/**
 * Starts the thread on commit-worker's file: compiled, as it is; under ts-node (the specs),
 * the source through ts-node's transpiler, since a worker does not inherit the parent's
 * require hooks.
 */
function startWorker(): Worker {
  if (!workerEntry.endsWith('.ts')) return new Worker(workerEntry, { workerData: COMMIT_THREAD });
  const source = `require('ts-node/register/transpile-only'); require(${JSON.stringify(workerEntry)});`;
  return new Worker(source, { eval: true, workerData: COMMIT_THREAD });
}

interface Waiting {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** The client side of the process's commit thread. */
class CommitThread {
  #worker: Worker | undefined;
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 1;
  #nextHandle = 1;

  /** A new handle: the thread opens it on its first commit. */
  handle(): number {
    return this.#nextHandle++;
  }

  commit(handle: number, settings: CommitSettings, block: Block, txs: readonly Transaction[]): Promise<void> {
    return this.#ask((id) => ({ id, op: 'commit', handle, settings, block, txs }));
  }

  /** Closes a handle; requests sent before it are answered first. */
  close(handle: number): Promise<void> {
    if (!this.#worker) return Promise.resolve();
    return this.#ask((id) => ({ id, op: 'close', handle }));
  }

  #ask(request: (id: number) => CommitRequest): Promise<void> {
    const worker = (this.#worker ??= this.#start());
    const id = this.#nextId++;
    return new Promise<void>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      if (this.#waiting.size === 1) worker.ref();
      worker.postMessage(request(id));
    });
  }

  #start(): Worker {
    const worker = startWorker();
    worker.on('message', (reply: CommitReply) => {
      const waiting = this.#waiting.get(reply.id);
      this.#waiting.delete(reply.id);
      if (this.#waiting.size === 0) worker.unref();
      if (reply.error) waiting?.reject(rebuildError(reply.error));
      else waiting?.resolve();
    });
    // A thread that failed (it could not load, or died) fails what it was asked, and the
    // next request starts a new one.
    const fail = (cause: unknown) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      const waiting = [...this.#waiting.values()];
      this.#waiting.clear();
      const reason = cause instanceof Error ? cause.message : `it exited with code ${String(cause)}`;
      for (const { reject } of waiting) reject(new ConnectionError(BACKEND, `commit block failed: the commit thread stopped: ${reason}`, { cause }));
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    worker.unref();
    return worker;
  }
}

/** The process's commit thread, started by its first request. */
export const commitThread = new CommitThread();
