/**
 * What chainstore reports while it works (lib/log.ts), on real engines: retries against a
 * PostgreSQL port nothing listens on, slow operations and recoveries on SQLite files, a
 * changefeed through a relay that is cut and restored, and the `DEBUG=chainstore:*` switch
 * in a child process, as a user would set it.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import {
  type Block,
  ChangeFeed,
  ConfigurationError,
  ConnectionError,
  ConnectionLog,
  type LogFields,
  type LogLevel,
  type Logger,
  changefeed,
  connect,
  query,
  recover,
  schema,
} from '../lib';
import { withRetries } from '../lib/retry';
import { createTx } from './conformance/fixtures';
import { connectPostgres, skipWithoutPostgres, truncateAll } from './support/postgres';
import { Relay, postgresTarget } from './support/relay';

const ROOT = path.resolve(__dirname, '..');
/** A port nothing listens on: every attempt is refused at once. */
const DOWN = 'postgres://postgres@127.0.0.1:1/x';
const SECRET = 'Hq4zLogSecret';

interface Line {
  level: LogLevel;
  fields: LogFields;
  message: string;
}

/** A logger keeping every line it is given. */
function collector(): { lines: Line[]; logger: Logger } {
  const lines: Line[] = [];
  const at = (level: LogLevel) => (fields: LogFields, message: string) => void lines.push({ level, fields, message });
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitFor(ms: number, what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(10);
  }
}

/** Runs a few lines of TypeScript against the package in a child process, as a user would. */
function runScript(source: string, env: NodeJS.ProcessEnv): { code: number; stdout: string; stderr: string } {
  const child = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', source], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (child.error) throw child.error;
  return { code: child.status ?? -1, stdout: child.stdout, stderr: child.stderr };
}

describe('logging', function () {
  this.timeout(30_000);
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chainstore-log-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('the logger option', () => {
    it('takes pino loggers and console as they are (checked by the compiler too)', async () => {
      const written: string[] = [];
      const fromPino: Logger = pino({ level: 'debug', base: undefined }, { write: (line: string) => void written.push(line) });
      const fromConsole: Logger = console;
      expect(typeof fromConsole.warn).to.equal('function');
      const conn = await connect({ url: DOWN, logger: fromPino }, {});
      await expect(query.getLatestBlock(conn)).to.be.rejectedWith(ConnectionError);
      await conn.close();
      const entries = written.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(entries, written.join('')).to.have.length(2);
      expect(entries[0]).to.include({ level: 40, topic: 'retry', backend: 'postgres', try: 2, of: 3, delay: 100 });
      expect(entries[0].msg).to.match(/^\[postgres\] try 2 of 3 in 100 ms: .*ECONNREFUSED/);
    });

    it('is refused when it is not a logger, naming what is missing', async () => {
      await expect(connect({ name: ':memory:', logger: { warn() {} } as unknown as Logger }, {})).to.be.rejectedWith(
        ConfigurationError,
        /option logger must be an object with the methods debug, info, warn, error .*debug, info, error are missing/,
      );
      await expect(connect({ name: ':memory:', logger: 'console' as unknown as Logger }, {})).to.be.rejectedWith(ConfigurationError, /option logger/);
    });

    it('is kept out of the printed config', async () => {
      const { logger } = collector();
      const conn = await connect({ name: ':memory:', logger }, {});
      expect(conn.config.logger).to.equal(logger);
      expect(JSON.stringify(conn.config)).not.to.include('debug');
      expect(Object.keys(conn.config)).not.to.include('logger');
      await conn.close();
    });
  });

  describe('retries', () => {
    it('a server that is down: "try 2 of 3 in 100 ms", "try 3 of 3 in 200 ms", with the backend and the cause, no password', async () => {
      const { lines, logger } = collector();
      const conn = await connect({ url: `postgres://app:${SECRET}@127.0.0.1:1/x`, logger }, {});
      const error = await query.getLatestBlock(conn).then(
        () => expect.fail('the server is down'),
        (e: unknown) => e,
      );
      await conn.close();
      expect(error).to.be.instanceOf(ConnectionError);
      expect(lines.map((line) => line.message)).to.deep.equal([
        '[postgres] try 2 of 3 in 100 ms: get latest block failed: connect ECONNREFUSED 127.0.0.1:1',
        '[postgres] try 3 of 3 in 200 ms: get latest block failed: connect ECONNREFUSED 127.0.0.1:1',
      ]);
      expect(lines.map((line) => line.level)).to.deep.equal(['warn', 'warn']);
      expect(lines[1].fields).to.deep.include({ topic: 'retry', backend: 'postgres', location: '127.0.0.1:1/x', operation: 'get latest block', try: 3, of: 3, delay: 200 });
      expect(JSON.stringify(lines)).not.to.include(SECRET);
    });

    it('maxTries 0 (forever) counts without a limit; a logger that throws changes nothing', async () => {
      const lines: string[] = [];
      const log = new ConnectionLog({
        backend: 'sqlite',
        logger: {
          debug: () => undefined,
          info: () => undefined,
          warn: (_fields, message) => {
            lines.push(message);
            throw new Error('the log is full');
          },
          error: () => undefined,
        },
      });
      let tries = 0;
      const result = await withRetries(
        async () => {
          if (++tries < 3) throw new Error(`refused #${tries}`);
          return 'answered';
        },
        { backend: 'sqlite', maxTries: 0, initialDelay: 5, log, what: 'open' },
      );
      expect(result).to.equal('answered');
      expect(lines).to.deep.equal(['[sqlite] try 2 in 5 ms: open failed: refused #1', '[sqlite] try 3 in 10 ms: open failed: refused #2']);
    });

    it('with one try there is nothing to retry, so nothing to log', async () => {
      const { lines, logger } = collector();
      const conn = await connect({ url: DOWN, logger, maxTries: 1 }, {});
      await expect(query.getLatestBlock(conn)).to.be.rejectedWith(ConnectionError);
      await conn.close();
      expect(lines).to.deep.equal([]);
    });
  });

  describe('slow operations', () => {
    it('an operation over slowThreshold is logged with its name and time; 0 logs none; the default is 1000 ms', async () => {
      const txs = Array.from({ length: 2000 }, () => createTx());
      const slow = collector();
      const conn = await connect({ name: path.join(dir, 'slow.db'), logger: slow.logger, slowThreshold: 1 }, {});
      await schema.initDatabase(conn);
      await query.writeTransactions(conn, txs);
      await conn.close();
      const line = slow.lines.find((l) => l.fields.operation === 'write transactions');
      expect(line, slow.lines.map((l) => l.message).join('\n')).to.not.equal(undefined);
      expect(line!.level).to.equal('warn');
      expect(line!.fields).to.include({ topic: 'slow', backend: 'sqlite', threshold: 1 });
      expect(line!.message).to.match(/^\[sqlite\] write transactions took \d+ ms \(slowThreshold 1 ms\)$/);

      const off = collector();
      const quiet = await connect({ name: path.join(dir, 'off.db'), logger: off.logger, slowThreshold: 0 }, {});
      await schema.initDatabase(quiet);
      await query.writeTransactions(quiet, txs);
      await quiet.close();
      expect(off.lines.filter((l) => l.fields.topic === 'slow')).to.deep.equal([]);

      const defaults = await connect({ name: ':memory:' }, {});
      expect(defaults.config.slowThreshold).to.equal(1000);
      await defaults.close();
      const fromEnv = await connect({ name: ':memory:' }, { CHAINSTORE_DATABASE_SLOW_THRESHOLD: '250' });
      expect(fromEnv.config.slowThreshold).to.equal(250);
      await fromEnv.close();
      await expect(connect({ name: ':memory:', slowThreshold: -1 }, {})).to.be.rejectedWith(ConfigurationError, /slowThreshold/);
    });
  });

  describe('recoveries', () => {
    it('a rollback is logged at warn with the block and its transactions; nothing to do at debug', async () => {
      const { lines, logger } = collector();
      const conn = await connect({ name: path.join(dir, 'recover.db'), logger }, {});
      await schema.initDatabase(conn);
      await query.storeBlock(conn, { height: 1, app_hash: 'ab', transactions: [] });
      const tx = createTx();
      // A crash after step 2 of the commit protocol: pre-commit and transaction, no block.
      await query.storePreCommitState(conn, { height: 2, transactions: [tx.id] });
      await query.writeTransaction(conn, tx);
      await recover(conn);
      await recover(conn);
      await conn.close();
      const recoveries = lines.filter((line) => line.fields.topic === 'recover');
      expect(recoveries.map((line) => [line.level, line.message])).to.deep.equal([
        ['warn', '[sqlite] recover: rolled back the unfinished commit of block 2 (1 transaction deleted, the outputs they spent restored)'],
        ['debug', '[sqlite] recover: nothing to do (latest block 1)'],
      ]);
      expect(recoveries[0].fields).to.include({ action: 'rolled-back', height: 2, transactions: 1 });
    });
  });

  describe('the DEBUG switch, in a child process', () => {
    const script = `
      const { connect, query } = require('./lib');
      (async () => {
        const conn = await connect({ url: process.env.TARGET });
        await query.getLatestBlock(conn).catch((error) => process.stdout.write('rejected: ' + error.code));
        await conn.close();
      })();`;
    const target = `postgres://app:${SECRET}@127.0.0.1:1/x`;

    it('DEBUG=chainstore:* shows the retries on stderr, without the password', () => {
      const run = runScript(script, { DEBUG: 'chainstore:*', DEBUG_COLORS: '0', TARGET: target });
      expect(run.stdout).to.equal('rejected: CHAINSTORE_CONNECTION');
      const lines = run.stderr.trim().split('\n');
      expect(lines, run.stderr).to.have.length(2);
      expect(lines[0]).to.match(/chainstore:retry \[postgres\] try 2 of 3 in 100 ms: get latest block failed: connect ECONNREFUSED 127\.0\.0\.1:1/);
      expect(lines[1]).to.match(/chainstore:retry \[postgres\] try 3 of 3 in 200 ms/);
      expect(run.stderr).not.to.include(SECRET);
    });

    it('shows only the topics named, and nothing without DEBUG', () => {
      const other = runScript(script, { DEBUG: 'chainstore:slow,chainstore:recover', TARGET: target });
      expect(other.stdout).to.equal('rejected: CHAINSTORE_CONNECTION');
      expect(other.stderr).to.equal('');
      const none = runScript(script, { TARGET: target });
      expect(none.stdout).to.equal('rejected: CHAINSTORE_CONNECTION');
      expect(none.stderr).to.equal('');
    });
  });

  describe('changefeeds on PostgreSQL', function () {
    before(skipWithoutPostgres);
    let writer: Awaited<ReturnType<typeof connectPostgres>>;
    let relay: Relay;
    const blockAt = (height: number): Block => ({ height, app_hash: `ab${height}`, transactions: [] });

    beforeEach(async function () {
      writer = await connectPostgres();
      await truncateAll(writer);
      relay = new Relay(postgresTarget());
      await relay.up();
    });

    afterEach(async function () {
      await relay.down();
      await writer.close();
    });

    it('an outage is logged when it begins (warn) and when the feed resumes (info), and no event is lost', async function () {
      const { lines, logger } = collector();
      const conn = await connect({ backend: 'postgres', url: relay.url, pollInterval: 50, maxTries: 1, connectionTimeout: 500, logger }, {});
      const feed = await changefeed.getChangefeed(conn, 'blocks', ChangeFeed.INSERT);
      const seen: number[] = [];
      const reading = (async () => {
        for await (const event of feed) seen.push((event.record as Block).height);
      })();
      await query.storeBlock(writer, blockAt(1));
      await waitFor(5000, 'the first event', () => seen.length === 1);

      await relay.down();
      await query.storeBlock(writer, blockAt(2));
      const feedLines = () => lines.filter((line) => line.fields.topic === 'changefeed');
      await waitFor(5000, 'the outage to be logged', () => feedLines().some((line) => line.fields.part === 'reading' && line.fields.event === 'failed'));
      await relay.up();
      await waitFor(10_000, 'the event written during the outage', () => seen.length === 2);
      await waitFor(5000, 'the resumption to be logged', () => feedLines().some((line) => line.fields.part === 'reading' && line.fields.event === 'resumed'));
      await feed.close();
      await reading;
      await conn.close();

      expect(seen).to.deep.equal([1, 2]);
      const reads = feedLines().filter((line) => line.fields.part === 'reading');
      const first = reads[0];
      expect(first.level).to.equal('warn');
      expect(first.message).to.match(/^\[postgres\] changefeed on blocks: reading failed \(.+\); it reads on from its position once the engine answers, losing no event$/);
      const resumed = reads.find((line) => line.fields.event === 'resumed')!;
      expect(resumed.level).to.equal('info');
      expect(resumed.message).to.match(/^\[postgres\] changefeed on blocks: reading resumed after \d+ ms \(\d+ failures?\)$/);
      // Each further failure of the same outage is a debug line, not another warning.
      expect(reads.filter((line) => line.level === 'warn')).to.have.length(1);
      // The session that wakes the feed went down with the relay, and came back.
      const wakeUp = feedLines().filter((line) => line.fields.part === 'its notification session');
      expect(wakeUp.map((line) => line.fields.event)).to.include.members(['failed', 'resumed']);
      expect(wakeUp[0].message).to.match(/its notification session failed \(.+\); it polls the change log every 50 ms until the session is back$/);
    });
  });
});
