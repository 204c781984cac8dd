/**
 * `chainstore serve` as a child process, the way an operator runs the node: on free ports,
 * its stdout (one JSON log line each) and stderr collected, stopped with a signal or killed.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** The repository: the child runs `lib/cli.ts` from here. */
export const ROOT = resolve(__dirname, '..', '..');

/** A port nothing listens on right now (the system's pick). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

export interface ServeOptions {
  /** `--url` (left out when undefined: the environment decides). */
  readonly url?: string;
  /** `--port` and `--ws-port` (default: free ones). */
  readonly port?: number;
  readonly wsPort?: number;
  /** More arguments after `serve`'s own. */
  readonly args?: readonly string[];
  /** The child's environment (default: this process's, without CHAINSTORE_DATABASE_*). */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Another command line in place of `node -r ts-node/register/transpile-only lib/cli.ts serve`
   * (`--port` and `--ws-port` still follow it). It runs in a process group of its own, which
   * {@link NodeProcess.signal} signals whole (npm runs the node in a child of its own).
   */
  readonly command?: { readonly file: string; readonly args: readonly string[] };
}

/** How a child ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The environment without the connection settings, so that only the command line decides. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('CHAINSTORE_DATABASE_')));
  return { ...env, ...extra };
}

/** A `chainstore serve` child process. */
export class NodeProcess {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly port: number;
  readonly wsPort: number;
  /** Every line the child printed on stdout, in order. */
  readonly stdoutLines: string[] = [];
  /** Everything it printed on stderr. */
  stderr = '';
  /** Resolves once the child has exited and its output is read. */
  readonly exited: Promise<Exit>;
  #exit: Exit | null = null;
  readonly #group: boolean;

  private constructor(options: ServeOptions, port: number, wsPort: number) {
    this.port = port;
    this.wsPort = wsPort;
    this.#group = options.command !== undefined;
    const ports = ['--port', String(port), '--ws-port', String(wsPort)];
    const [file, args] = options.command
      ? [options.command.file, [...options.command.args, ...ports]]
      : [process.execPath, ['-r', 'ts-node/register/transpile-only', 'lib/cli.ts', 'serve', ...(options.url === undefined ? [] : ['--url', options.url]), ...ports]];
    this.child = spawn(file, [...args, ...(options.args ?? [])], {
      cwd: ROOT,
      env: options.env ?? cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: this.#group,
    });
    const stdoutDone = new Promise<void>((done) => createInterface({ input: this.child.stdout }).on('line', (line) => this.stdoutLines.push(line)).on('close', done));
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    const stderrDone = new Promise<void>((done) => this.child.stderr.on('close', done));
    this.exited = new Promise<Exit>((done, fail) => {
      this.child.once('error', fail);
      this.child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        void Promise.all([stdoutDone, stderrDone]).then(() => done(this.#exit!));
      });
    });
    this.exited.catch(() => undefined);
  }

  /** Starts a node on free ports (or the ones given); see {@link ready}. */
  static async start(options: ServeOptions = {}): Promise<NodeProcess> {
    const port = options.port ?? (await freePort());
    const wsPort = options.wsPort ?? (await freePort());
    return new NodeProcess(options, port, wsPort);
  }

  /** The API's base URL, as the driver takes it. */
  get url(): string {
    return `http://127.0.0.1:${this.port}/api/v1/`;
  }

  /** Whether the child has exited. */
  get running(): boolean {
    return this.#exit === null;
  }

  /** Resolves once `GET /api/v1/` answers 200; rejects if the child exits first or `timeout` ms pass. */
  async ready(timeout = 30_000): Promise<this> {
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`the node exited (${JSON.stringify(this.#exit)}) before it served: ${this.output()}`);
      const answered = await fetch(this.url, { signal: AbortSignal.timeout(1000) }).then(
        (response) => response.status === 200,
        () => false,
      );
      if (answered) return this;
      await sleep(20);
    }
    throw new Error(`the node did not serve within ${timeout} ms: ${this.output()}`);
  }

  /** Sends `signal` (to the process group for a custom command); resolves with how it exited. */
  signal(signal: NodeJS.Signals): Promise<Exit> {
    if (this.running) {
      if (this.#group) process.kill(-this.child.pid!, signal);
      else this.child.kill(signal);
    }
    return this.exited;
  }

  /** Stops the node with SIGTERM if it still runs (for `after` hooks). */
  async stop(): Promise<void> {
    if (this.running) await this.signal('SIGTERM');
  }

  /**
   * The JSON log records on stdout. The node prints nothing else there, so any other line
   * throws; under a custom command, that command's own lines (npm's banner) are skipped.
   */
  logRecords(): Record<string, unknown>[] {
    const lines = this.#group ? this.stdoutLines.filter((line) => line.startsWith('{')) : this.stdoutLines;
    return lines.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`the node printed a line that is not JSON on stdout: ${JSON.stringify(line)}`);
      }
    });
  }

  /** stdout and stderr, for a failure's message. */
  output(): string {
    return `stdout: ${this.stdoutLines.join('\n')}\nstderr: ${this.stderr}`;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
