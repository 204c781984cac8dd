/**
 * The `chainstore` command, run for real: in-process through `main()` against temporary
 * SQLite files, and as a child process to check what a shell sees.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../lib/cli';
import pg from 'pg';
import { Connection, type Transaction, connect, query, registerBackend, schema } from '../lib';
import { POSTGRES_URL, postgresUrlFor, skipWithoutPostgres } from './support/postgres';

const ROOT = path.resolve(__dirname, '..');
const SECRET = 's3cret';
const TABLE_NAMES = ['transactions', 'assets', 'metadata', 'blocks', 'utxos', 'pre_commit', 'validators', 'elections', 'abci_chains'];

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** What the user types. */
  input?: string;
  /** Whether stdin claims to be a terminal. */
  tty?: boolean;
}

/** Runs the command in-process with its own streams and an environment of its own. */
async function cli(args: string[], options: RunOptions = {}): Promise<CliRun> {
  const out = { text: '', write: (chunk: string) => (out.text += chunk) };
  const err = { text: '', write: (chunk: string) => (err.text += chunk) };
  const stdin = Object.assign(Readable.from(options.input === undefined ? [] : [Buffer.from(options.input)]), {
    isTTY: options.tty ?? false,
  });
  const code = await main(args, { stdout: out, stderr: err, stdin, env: options.env ?? {} });
  return { code, stdout: out.text, stderr: err.text };
}

/** Runs `node lib/cli.ts ...` as a separate process, as a shell would. */
function spawnCli(args: string[], env: NodeJS.ProcessEnv): CliRun {
  const child = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', 'lib/cli.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  if (child.error) throw child.error;
  return { code: child.status ?? -1, stdout: child.stdout, stderr: child.stderr };
}

/**
 * A single `chainstore <command>: ...` line (`chainstore: ...` before there is a command),
 * with no stack trace in it.
 */
function expectOneErrorLine(stderr: string, command?: string): void {
  expect(stderr, 'stderr').to.match(command ? new RegExp(`^chainstore ${command}: \\S.*\\n$`) : /^chainstore(?: [a-z]+)?: \S.*\n$/);
  expect(stderr, 'stderr').not.to.match(/\n\s+at /);
}

/** Every line of `stderr` parsed as JSON (what `--json` promises); fails on one that is not. */
function jsonLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return expect.fail(`not a JSON line on stderr: ${line}`);
      }
    });
}

/** A port nothing listens on, with a password in the URL that must never show. */
const DOWN_URL = `postgres://postgres:${SECRET}@127.0.0.1:1/x`;

function countsIn(stdout: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const match of stdout.matchAll(/^ {2}(\w+)\s+(\d+)$/gm)) counts[match[1]] = Number(match[2]);
  return counts;
}

/** A CREATE transaction with one output owned by `owner`. */
function createTransaction(seed: string, owner = 'owner-public-key'): Transaction {
  return {
    id: seed.repeat(64),
    version: '2.0',
    operation: 'CREATE',
    asset: { data: { serial: seed } },
    metadata: null,
    inputs: [{ owners_before: [owner], fulfills: null, fulfillment: null }],
    outputs: [{ public_keys: [owner], amount: '1', condition: { details: { type: 'ed25519-sha-256' }, uri: 'ni:///sha-256;x' } }],
  };
}

describe('chainstore command', function () {
  let dir: string;
  let url: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chainstore-cli-'));
    url = `sqlite://${path.join(dir, 'ledger.db')}`;
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `fn` with a library connection to the test's database, closed afterwards. */
  async function withDatabase(fn: (conn: Connection) => Promise<void>): Promise<void> {
    const conn = await connect({ url }, {});
    try {
      await fn(conn);
    } finally {
      await conn.close();
    }
  }

  describe('init and status', () => {
    it('init creates the tables, and status then shows no blocks and every count at 0', async () => {
      const init = await cli(['--url', url, 'init']);
      expect(init, init.stderr).to.include({ code: 0, stderr: '' });
      expect(init.stdout).to.include('initialized database');

      const status = await cli(['--url', url, 'status']);
      expect(status, status.stderr).to.include({ code: 0, stderr: '' });
      expect(status.stdout).to.match(/^backend\s+sqlite$/m);
      expect(status.stdout).to.match(/^location\s+\S*ledger\.db$/m);
      expect(status.stdout).to.match(/^latest block\s+no blocks$/m);
      expect(status.stdout).to.match(/^pre-commit\s+none$/m);
      expect(countsIn(status.stdout)).to.deep.equal(Object.fromEntries(TABLE_NAMES.map((table) => [table, 0])));
    });

    it('status --json reports the same, machine-readably', async () => {
      await cli(['--url', url, 'init']);
      const status = await cli(['--url', url, '--json', 'status']);
      expect(status, status.stderr).to.include({ code: 0, stderr: '' });
      const report = JSON.parse(status.stdout);
      expect(report).to.include({ backend: 'sqlite', initialized: true, latestBlockHeight: null, preCommit: null });
      expect(report.location).to.match(/ledger\.db$/);
      expect(report.records).to.deep.equal(Object.fromEntries(TABLE_NAMES.map((table) => [table, 0])));
    });

    it('takes the database from CHAINSTORE_DATABASE_URL, and flags after the subcommand too', async () => {
      expect((await cli(['init'], { env: { CHAINSTORE_DATABASE_URL: url } })).code).to.equal(0);
      const status = await cli(['status', '--json'], { env: { CHAINSTORE_DATABASE_URL: url } });
      expect(status, status.stderr).to.include({ code: 0 });
      expect(JSON.parse(status.stdout)).to.include({ initialized: true });
    });

    it('status on a database without tables says so', async () => {
      const status = await cli(['--url', url, 'status']);
      expect(status, status.stderr).to.include({ code: 0, stderr: '' });
      expect(status.stdout).to.include('no tables yet');
      const json = await cli(['--url', url, '--json', 'status']);
      expect(JSON.parse(json.stdout)).to.include({ initialized: false, records: null });
    });

    it('status shows the latest block and the pre-commit state', async () => {
      await cli(['--url', url, 'init']);
      await withDatabase(async (conn) => {
        await query.storeBlock(conn, { height: 7, app_hash: 'cafe', transactions: [] });
        await query.storePreCommitState(conn, { height: 7, transactions: [] });
      });
      const status = await cli(['--url', url, 'status']);
      expect(status, status.stderr).to.include({ code: 0 });
      expect(status.stdout).to.match(/^latest block\s+height 7$/m);
      expect(status.stdout).to.match(/^pre-commit\s+height 7, 0 transactions, committed$/m);
      expect(countsIn(status.stdout)).to.include({ blocks: 1, pre_commit: 1 });
    });

    it('init is idempotent and keeps the data', async () => {
      await cli(['--url', url, 'init']);
      await withDatabase((conn) => query.storeBlock(conn, { height: 1, app_hash: 'ab', transactions: [] }));
      expect((await cli(['--url', url, 'init'])).code).to.equal(0);
      const status = await cli(['--url', url, '--json', 'status']);
      expect(JSON.parse(status.stdout)).to.include({ latestBlockHeight: 1 });
    });
  });

  describe('drop', () => {
    it('drop --yes drops the database without asking', async () => {
      await cli(['--url', url, 'init']);
      const drop = await cli(['--url', url, 'drop', '--yes']);
      expect(drop, drop.stderr).to.include({ code: 0, stderr: '' });
      expect(drop.stdout).to.include('dropped database');
      const status = await cli(['--url', url, '--json', 'status']);
      expect(JSON.parse(status.stdout)).to.include({ initialized: false });
    });

    it('drop --yes on a database that does not exist exits with 4, says so, and creates nothing', async () => {
      const drop = await cli(['--url', url, 'drop', '--yes']);
      expect(drop.code, drop.stderr).to.equal(4);
      expect(drop.stdout).to.equal('');
      expectOneErrorLine(drop.stderr, 'drop');
      expect(drop.stderr).to.include('does not exist or has no chainstore tables: nothing was dropped');
      expect(fs.readdirSync(dir), 'files created').to.deep.equal([]);
      const json = await cli(['--url', url, '--json', 'drop', '--yes']);
      expect(json.code).to.equal(4);
      expect(jsonLines(json.stderr)).to.deep.equal([
        { error: { command: 'drop', code: 'CHAINSTORE_CLI_NOT_FOUND', name: 'NotFoundError', message: json.stderr.match(/"message":"([^"]*)"/)![1], exitCode: 4 } },
      ]);
      // Without --yes it says so before asking.
      const asked = await cli(['--url', url, 'drop'], { tty: true, input: 'y\n' });
      expect(asked.code).to.equal(4);
      expect(asked.stderr).not.to.include('[y/N]');
      expect(fs.readdirSync(dir), 'files created').to.deep.equal([]);
    });

    it('drop --yes leaves a file without chainstore tables alone (exit 4): it is not ours to drop', async () => {
      const file = path.join(dir, 'ledger.db');
      fs.writeFileSync(file, '');
      const drop = await cli(['--url', url, 'drop', '--yes']);
      expect(drop.code, drop.stderr).to.equal(4);
      expect(fs.existsSync(file)).to.equal(true);
    });

    it('drop without --yes and without a terminal refuses with exit code 2 and drops nothing', async () => {
      await cli(['--url', url, 'init']);
      const drop = await cli(['--url', url, 'drop'], { tty: false, input: 'y\n' });
      expect(drop.code).to.equal(2);
      expect(drop.stdout).to.equal('');
      expectOneErrorLine(drop.stderr);
      expect(drop.stderr).to.include('--yes');
      const status = await cli(['--url', url, '--json', 'status']);
      expect(JSON.parse(status.stdout)).to.include({ initialized: true });
    });

    it('on a terminal, asks and drops on y', async () => {
      await cli(['--url', url, 'init']);
      const drop = await cli(['--url', url, 'drop'], { tty: true, input: 'y\n' });
      expect(drop.code, drop.stderr).to.equal(0);
      expect(drop.stderr).to.match(/^Drop database \S*ledger\.db at \S*ledger\.db\? \[y\/N\] $/);
      const status = await cli(['--url', url, '--json', 'status']);
      expect(JSON.parse(status.stdout)).to.include({ initialized: false });
    });

    it('on a terminal, keeps the database on anything but yes (exit code 1)', async () => {
      await cli(['--url', url, 'init']);
      for (const input of ['n\n', '\n', '']) {
        const drop = await cli(['--url', url, 'drop'], { tty: true, input });
        expect(drop.code, JSON.stringify(input)).to.equal(1);
        expect(drop.stderr).to.include('was not dropped');
      }
      const status = await cli(['--url', url, '--json', 'status']);
      expect(JSON.parse(status.stdout)).to.include({ initialized: true });
    });
  });

  describe('recover and start', () => {
    it('recover on a new database reports nothing to do', async () => {
      const fresh = await cli(['--url', url, 'recover']);
      expect(fresh, fresh.stderr).to.include({ code: 0, stderr: '' });
      expect(fresh.stdout).to.match(/nothing to do/);
      await cli(['--url', url, 'init']);
      const json = await cli(['--url', url, '--json', 'recover']);
      expect(JSON.parse(json.stdout)).to.deep.equal({ action: 'none', height: -1, transactions: [] });
    });

    it('recover rolls back an unfinished commit and says what it removed', async () => {
      await cli(['--url', url, 'init']);
      const tx = createTransaction('a');
      await withDatabase(async (conn) => {
        await query.storeBlock(conn, { height: 1, app_hash: 'ab', transactions: [] });
        // A crash after step 2 of the commit protocol: pre-commit and transaction, no block.
        await query.storePreCommitState(conn, { height: 2, transactions: [tx.id] });
        await query.writeTransaction(conn, tx);
      });
      const status = await cli(['--url', url, 'status']);
      expect(status.stdout).to.match(/^pre-commit\s+height 2, 1 transaction, unfinished commit/m);

      const recovered = await cli(['--url', url, 'recover']);
      expect(recovered, recovered.stderr).to.include({ code: 0, stderr: '' });
      expect(recovered.stdout).to.match(/rolled back the unfinished commit of block 2 \(1 transaction\)/);
      const after = await cli(['--url', url, '--json', 'status']);
      expect(JSON.parse(after.stdout).records).to.include({ transactions: 0, blocks: 1 });
    });

    it('recover exits with code 3 on a state that needs a human, saying what it found; status shows that state', async () => {
      await cli(['--url', url, 'init']);
      const [stored, lost] = [createTransaction('b'), createTransaction('c')];
      await withDatabase(async (conn) => {
        await query.storeBlock(conn, { height: 5, app_hash: 'ab', transactions: [] });
        await query.storePreCommitState(conn, { height: 9, transactions: [stored.id, lost.id] });
        await query.writeTransaction(conn, stored);
      });
      const recovered = await cli(['--url', url, 'recover']);
      expect(recovered.code).to.equal(3);
      expectOneErrorLine(recovered.stderr, 'recover');
      expect(recovered.stderr).to.include(`the pre-commit record is at height 9 (2 transactions: ${stored.id}, ${lost.id}; 1 of them stored)`);
      expect(recovered.stderr).to.include('the latest block is at height 5').and.to.include("Run 'chainstore status'");

      // What the message sends the user to: status shows the same state, and tells recover will not repair it.
      const status = await cli(['--url', url, 'status']);
      expect(status, status.stderr).to.include({ code: 0, stderr: '' });
      expect(status.stdout).to.match(/^latest block\s+height 5$/m);
      expect(status.stdout).to.match(/^pre-commit\s+height 9, 2 transactions, unfinished commit \(1 stored\) that does not follow the latest block \(height 5\): recover will not repair it/m);
      expect(status.stdout).to.match(new RegExp(`^\\s+${stored.id}, ${lost.id}$`, 'm'));
      const json = JSON.parse((await cli(['--url', url, '--json', 'status'])).stdout);
      expect(json.latestBlockHeight).to.equal(5);
      expect(json.preCommit).to.deep.equal({ height: 9, transactions: 2, pending: true, repairable: false, transactionIds: [stored.id, lost.id], stored: 1 });
    });

    it('start initializes, recovers and shows the status', async () => {
      const start = await cli(['--url', url, 'start']);
      expect(start, start.stderr).to.include({ code: 0, stderr: '' });
      expect(start.stdout).to.include('initialized database');
      expect(start.stdout).to.include('nothing to do');
      expect(start.stdout).to.match(/^latest block\s+no blocks$/m);
      expect(countsIn(start.stdout)).to.include({ transactions: 0, blocks: 0 });
      const json = await cli(['--url', url, '--json', 'start']);
      expect(JSON.parse(json.stdout)).to.nested.include({ 'recovery.action': 'none', 'status.initialized': true });
    });
  });

  describe('errors and exit codes', () => {
    it('an unknown backend exits with 2 and one line naming the known ones', async () => {
      const run = await cli(['--backend', 'oracle', 'status']);
      expect(run.code).to.equal(2);
      expect(run.stdout).to.equal('');
      expectOneErrorLine(run.stderr, 'status');
      expect(run.stderr).to.include('oracle').and.to.include('sqlite');
      const fromEnv = await cli(['status'], { env: { CHAINSTORE_DATABASE_BACKEND: 'oracle' } });
      expect(fromEnv.code).to.equal(2);
    });

    it('a malformed URL is a configuration error (exit 2)', async () => {
      const run = await cli(['--url', 'sqlite://somehost/x.db', 'status']);
      expect(run.code).to.equal(2);
      expectOneErrorLine(run.stderr);
    });

    it('a URL with whitespace around it, a scheme no backend owns or a slash too few exits with 2, no password, and creates nothing', async () => {
      const env = { CHAINSTORE_DATABASE_MAX_TRIES: '1', CHAINSTORE_DATABASE_CONNECTION_TIMEOUT: '2000' };
      const urls = [
        ` postgres://u:${SECRET}@127.0.0.1:1/x`,
        `postgres://u:${SECRET}@127.0.0.1:1/x\n`,
        `\tpostgres://u:${SECRET}@127.0.0.1:1/x`,
        `foo://u:${SECRET}@127.0.0.1:1/x`,
        `mysql://u:${SECRET}@127.0.0.1:1/x`,
        `http://u:${SECRET}@127.0.0.1:1/x`,
        `postgres:/postgres:${SECRET}@127.0.0.1:1/x`,
        `postgres:postgres:${SECRET}@127.0.0.1:1/x`,
      ];
      const cwd = process.cwd();
      // A URL taken for a sqlite file path would create its directories here.
      process.chdir(dir);
      try {
        for (const badUrl of urls) {
          for (const [args, runEnv] of [
            [['init'], { ...env, CHAINSTORE_DATABASE_URL: badUrl }],
            [['status'], { ...env, CHAINSTORE_DATABASE_URL: badUrl }],
            [['--url', badUrl, 'init'], env],
            [['--backend', 'postgres', '--url', badUrl, 'init'], env],
            [[`--url=${badUrl}`, 'status'], env],
          ] as [string[], NodeJS.ProcessEnv][]) {
            const what = `${JSON.stringify(badUrl)}: chainstore ${args.join(' ')}`;
            const run = await cli(args, { env: runEnv });
            expect(run.code, `${what}: ${run.stderr}`).to.equal(2);
            expect(run.stdout + run.stderr, what).not.to.include(SECRET);
            expect(run.stderr, what).to.include('URL');
            expect(fs.readdirSync(dir), `${what}: files created`).to.deep.equal([]);
          }
        }
      } finally {
        process.chdir(cwd);
      }
      const unknown = await cli(['--url', 'foo://h/x', 'status'], { env });
      expect(unknown.stderr).to.include("no backend owns the scheme 'foo:'").and.to.include('postgres://').and.to.include('sqlite:');
    });

    it('bad usage exits with 2 and one line; under --json, one JSON line', async () => {
      for (const args of [['frobnicate'], ['status', '--nope'], ['--backend']]) {
        const run = await cli(args);
        expect(run.code, args.join(' ')).to.equal(2);
        expectOneErrorLine(run.stderr);
        const json = await cli(['--json', ...args]);
        expect(json.code, args.join(' ')).to.equal(2);
        const [line, ...more] = jsonLines(json.stderr);
        expect(more).to.deep.equal([]);
        expect(line.error).to.include({ code: 'CHAINSTORE_CLI_USAGE', exitCode: 2 });
      }
    });

    it('an error names the subcommand the user typed, not an internal step', async () => {
      const env = { CHAINSTORE_DATABASE_MAX_TRIES: '1' };
      for (const command of ['status', 'init', 'recover', 'start']) {
        const run = await cli(['--url', DOWN_URL, command], { env });
        expect(run.code, command).to.equal(1);
        expectOneErrorLine(run.stderr, command);
      }
    });

    it('--help and --version exit with 0', async () => {
      const help = await cli(['--help']);
      expect(help.code).to.equal(0);
      expect(help.stdout).to.include('Usage: chainstore').and.to.include('Exit codes');
      const version = await cli(['--version']);
      expect(version.code).to.equal(0);
      expect(version.stdout.trim()).to.match(/^\d+\.\d+\.\d+/);
    });

    it('never prints the password of a URL, whatever the command', async () => {
      // One quick try: when the postgres backend exists this reaches a closed port.
      const env = { CHAINSTORE_DATABASE_MAX_TRIES: '1', CHAINSTORE_DATABASE_CONNECTION_TIMEOUT: '2000' };
      const secretUrl = `postgres://u:${SECRET}@127.0.0.1:1/x`;
      for (const command of [['status'], ['--json', 'status'], ['init'], ['recover'], ['start'], ['drop', '--yes'], ['drop']]) {
        const run = await cli(['--backend', 'postgres', '--url', secretUrl, ...command], { env });
        expect(run.code, command.join(' ')).to.be.oneOf([1, 2]);
        expect(run.stdout + run.stderr, command.join(' ')).not.to.include(SECRET);
        if (command[0] === '--json') expect(jsonLines(run.stderr)).to.have.length(1);
        else expectOneErrorLine(run.stderr, command[0]);
      }
      const fromEnv = await cli(['status'], { env: { ...env, CHAINSTORE_DATABASE_URL: secretUrl } });
      expect(fromEnv.code).to.be.oneOf([1, 2]);
      expect(fromEnv.stdout + fromEnv.stderr).not.to.include(SECRET);
    });

    it('never prints a password that a URL parser would cut short (unencoded #, /, @)', async () => {
      const env = { CHAINSTORE_DATABASE_MAX_TRIES: '1', CHAINSTORE_DATABASE_CONNECTION_TIMEOUT: '2000' };
      for (const password of [`ab#${SECRET}`, `ab/${SECRET}`, `ab@${SECRET}`, `${SECRET}@cd`]) {
        for (const secretUrl of [`postgres://u:${password}@127.0.0.1:1/x`, `sqlite://u:${password}@somehost/x.db`]) {
          const run = await cli(['--url', secretUrl, 'status'], { env });
          expect(run.code, secretUrl).to.be.oneOf([1, 2]);
          expect(run.stdout + run.stderr, secretUrl).not.to.include(SECRET);
          expectOneErrorLine(run.stderr);
        }
      }
    });

    describe('with a backend that fails', () => {
      let closed: number;
      class FailingConnection extends Connection {
        protected override async release(): Promise<void> {
          closed += 1;
        }
      }

      before(() => {
        registerBackend('cli-failing', (config) => new FailingConnection(config), { name: 'failing' });
        schema.isInitialized.register(FailingConnection, async () => {
          // What a careless driver might say: the URL and the password in clear.
          throw new Error(`cannot reach postgres://u:${SECRET}@db.internal/x (password ${SECRET} rejected)\n    at Socket.connect`);
        });
      });

      after(() => {
        schema.isInitialized.unregister(FailingConnection);
        registerBackend('cli-failing', null);
      });

      beforeEach(() => {
        closed = 0;
      });

      it('exits with 1, one line, no password, and closes the connection', async () => {
        const run = await cli(['--backend', 'cli-failing', 'status'], { env: { CHAINSTORE_DATABASE_PASSWORD: SECRET } });
        expect(run.code).to.equal(1);
        expectOneErrorLine(run.stderr);
        expect(run.stderr).to.include('cannot reach');
        expect(run.stderr).not.to.include(SECRET);
        expect(closed).to.equal(1);
      });

      it('closes the connection after a missing handler too', async () => {
        const run = await cli(['--backend', 'cli-failing', 'init']);
        expect(run.code).to.equal(1);
        expectOneErrorLine(run.stderr);
        expect(run.stderr).to.include('schema.createDatabase');
        expect(closed).to.equal(1);
      });
    });
  });

  describe('with a server backend whose location is a URL', () => {
    class EmptyServerConnection extends Connection {}

    before(() => {
      registerBackend('cli-server', (config) => new EmptyServerConnection(config), {}, ['memdb://']);
      schema.isInitialized.register(EmptyServerConnection, async () => false);
    });

    after(() => {
      schema.isInitialized.unregister(EmptyServerConnection);
      registerBackend('cli-server', null);
    });

    it('status shows the location without any part of the password', async () => {
      for (const password of [SECRET, `ab@${SECRET}`, `${SECRET}@cd`]) {
        const run = await cli(['--backend', 'cli-server', '--url', `memdb://u:${password}@db.internal:7000/ledger`, 'status']);
        expect(run.code, run.stderr).to.equal(0);
        expect(run.stdout).to.match(/^location\s+memdb:\/\/u:\*\*\*@db\.internal:7000\/ledger$/m);
        expect(run.stdout + run.stderr, password).not.to.include(SECRET);
      }
    });
  });

  describe('drop on PostgreSQL', function () {
    before(skipWithoutPostgres);
    // Named after the process, so that no other run can have made it.
    const missing = `chainstore_cli_missing_${process.pid}`;

    async function databaseExists(name: string): Promise<boolean> {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
      } finally {
        await client.end();
      }
    }

    it('drop --yes on a database that does not exist exits with 4 and creates none', async () => {
      expect(await databaseExists(missing)).to.equal(false);
      const drop = await cli(['--url', postgresUrlFor(missing), 'drop', '--yes']);
      expect(drop.code, drop.stderr).to.equal(4);
      expectOneErrorLine(drop.stderr, 'drop');
      expect(drop.stderr).to.include(`database ${missing} at`).and.to.include('nothing was dropped');
      expect(await databaseExists(missing)).to.equal(false);
    });
  });

  describe('as a child process', function () {
    this.timeout(120_000);

    it('status prints the report and exits with 0', async () => {
      await cli(['--url', url, 'init']);
      const run = spawnCli(['status'], { CHAINSTORE_DATABASE_URL: url });
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stderr).to.equal('');
      expect(run.stdout).to.match(/^latest block\s+no blocks$/m);
      expect(countsIn(run.stdout)).to.include({ transactions: 0, blocks: 0 });
    });

    it('a configuration error exits with 2 and one line on stderr, no stack', () => {
      const run = spawnCli(['status'], { CHAINSTORE_DATABASE_BACKEND: 'oracle' });
      expect(run.code).to.equal(2);
      expect(run.stdout).to.equal('');
      expectOneErrorLine(run.stderr);
    });

    it('a URL with a space before its scheme exits with 2, naming it; it is no sqlite file', () => {
      const run = spawnCli(['status'], { CHAINSTORE_DATABASE_URL: ` postgres://user:${SECRET}@127.0.0.1:1/x` });
      expect(run.code, run.stdout + run.stderr).to.equal(2);
      expect(run.stdout).to.equal('');
      expectOneErrorLine(run.stderr);
      expect(run.stderr).to.include('whitespace').and.not.to.include(SECRET);
    });

    it('a server that is down: each retry is shown on stderr as it happens, then the error naming the command', () => {
      const run = spawnCli(['--url', DOWN_URL, 'status'], {});
      expect(run.code).to.equal(1);
      expect(run.stdout).to.equal('');
      expect(run.stderr.split('\n')).to.deep.equal([
        'chainstore status: [postgres] try 2 of 3 in 100 ms: inspect schema failed: connect ECONNREFUSED 127.0.0.1:1',
        'chainstore status: [postgres] try 3 of 3 in 200 ms: inspect schema failed: connect ECONNREFUSED 127.0.0.1:1',
        'chainstore status: [postgres] inspect schema failed: connect ECONNREFUSED 127.0.0.1:1 (ECONNREFUSED)',
        '',
      ]);
      expect(run.stderr).not.to.include(SECRET);
    });

    it('under --json, every line on stderr is JSON (the retries, then the error) and stdout stays empty', () => {
      const run = spawnCli(['--json', 'status'], { CHAINSTORE_DATABASE_URL: DOWN_URL });
      expect(run.code).to.equal(1);
      expect(run.stdout).to.equal('');
      const lines = jsonLines(run.stderr);
      expect(lines).to.have.length(3);
      expect(lines[0]).to.include({ level: 'warn', topic: 'retry', backend: 'postgres', try: 2, of: 3, delay: 100 });
      expect(lines[1]).to.include({ try: 3 });
      expect(lines[2]).to.deep.equal({
        error: {
          command: 'status',
          code: 'CHAINSTORE_CONNECTION',
          name: 'ConnectionError',
          message: '[postgres] inspect schema failed: connect ECONNREFUSED 127.0.0.1:1 (ECONNREFUSED)',
          exitCode: 1,
        },
      });
      expect(run.stderr).not.to.include(SECRET);
    });

    it('drop --yes on a database that does not exist exits with 4 and creates no file', () => {
      const run = spawnCli(['drop', '--yes'], { CHAINSTORE_DATABASE_URL: url });
      expect(run.code, run.stderr).to.equal(4);
      expectOneErrorLine(run.stderr, 'drop');
      expect(fs.readdirSync(dir)).to.deep.equal([]);
    });

    it('drop from a script without --yes refuses with exit code 2', async () => {
      await cli(['--url', url, 'init']);
      const run = spawnCli(['drop'], { CHAINSTORE_DATABASE_URL: url });
      expect(run.code).to.equal(2);
      expectOneErrorLine(run.stderr);
    });
  });
});
