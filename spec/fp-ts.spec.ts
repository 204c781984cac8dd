/**
 * `chainstore/fp-ts` (issue #13, point 2) on a real SQLite database in memory: the namespaces
 * have every generic of the interface modules, results arrive as Right, failures as Left with
 * their class and `code`, and the README's fp-ts example compiles under strict TypeScript and
 * prints what it says. The exact types are checked in fp-ts.types.spec.ts.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Either } from 'fp-ts/Either';
import * as core from '../lib';
import * as errors from '../lib/errors';
import * as fp from '../lib/fp-ts';
import { createTx } from './conformance/fixtures';
import { runSample, sampleAfterHeading, sampleDirectory, typeCheckSamples } from './support/readme-sample';

const ROOT = path.resolve(__dirname, '..');
const MODULES = ['query', 'schema', 'changefeed', 'admin'] as const;

/** The right value, or a failed assertion naming the left. */
function rightOf<A>(result: Either<fp.ChainstoreError, A>): A {
  if (result._tag === 'Left') expect.fail(`expected Right, got Left ${result.left.code}: ${result.left.message}`);
  return result.right;
}

/** The left error, or a failed assertion. */
function leftOf<A>(result: Either<fp.ChainstoreError, A>): fp.ChainstoreError {
  if (result._tag === 'Right') expect.fail(`expected Left, got Right ${JSON.stringify(result.right)}`);
  return result.left;
}

/** A connection class no backend registered: every generic lacks a handler for it. */
class BareConnection extends core.Connection {}

/** A connection whose getBlock handler has a bug: it rejects with an error that is not chainstore's. */
class BuggyConnection extends core.Connection {}
const bug = new RangeError('offset out of range');

describe('chainstore/fp-ts', () => {
  let conn: core.Connection;

  before(() => {
    core.query.getBlock.register(BuggyConnection, async () => {
      throw bug;
    });
  });

  after(() => {
    core.query.getBlock.unregister(BuggyConnection);
  });

  beforeEach(async () => {
    conn = rightOf(await fp.connect({ backend: 'sqlite', name: ':memory:' })());
    rightOf(await fp.schema.initDatabase(conn)());
  });

  afterEach(async () => {
    await conn.close();
  });

  describe('the namespaces', () => {
    for (const name of MODULES) {
      it(`has every generic of ${name}, by the same names, as functions`, () => {
        // Two sources: the namespace's members, and the generics its module declared to dispatch.
        const members = Object.entries(core[name]).filter(([, member]) => core.isGeneric(member)).map(([key]) => key);
        const declared = Object.keys(core.coverage(core.Connection))
          .filter((full) => full.startsWith(`${name}.`))
          .map((full) => full.slice(name.length + 1));
        expect(members, 'the namespace has generics').to.not.be.empty;
        const lifted = fp[name] as Record<string, unknown>;
        for (const key of new Set([...members, ...declared])) expect(lifted[key], `${name}.${key}`).to.be.a('function');
        const extra = name === 'schema' ? ['initDatabase'] : [];
        expect(Object.keys(lifted).sort()).to.deep.equal([...new Set([...members, ...extra])].sort());
      });
    }

    it('runs nothing until the task is run, and runs again each time', async () => {
      const tx = createTx();
      const write = fp.query.writeTransaction(conn, tx);
      expect(await core.query.getTransaction(conn, tx.id), 'before the task runs').to.equal(null);
      rightOf(await write());
      expect(await core.query.getTransaction(conn, tx.id)).to.deep.equal(tx);
      expect(leftOf(await write()).code, 'the second run writes again').to.equal('CHAINSTORE_DUPLICATE_KEY');
    });
  });

  describe('results and failures', () => {
    it('gives Right with the value on success', async () => {
      const tx = createTx({ metadata: { note: 'fp' } });
      expect(rightOf(await fp.query.writeTransaction(conn, tx)())).to.equal(undefined);
      expect(rightOf(await fp.query.getTransaction(conn, tx.id)())).to.deep.equal(tx);
      expect(rightOf(await fp.query.getTransaction(conn, createTx().id)())).to.equal(null);
      expect(rightOf(await fp.schema.isInitialized(conn)())).to.equal(true);
    });

    it('gives Left with a ValidationError for a bad record', async () => {
      const error = leftOf(await fp.query.storeBlock(conn, { height: -1, app_hash: 'ab', transactions: [] })());
      expect(error).to.be.instanceOf(core.ValidationError);
      expect(error.code).to.equal('CHAINSTORE_VALIDATION');
      if (error.code !== 'CHAINSTORE_VALIDATION') return;
      expect(error.path).to.equal('height');
    });

    it('gives Left with a DuplicateKeyError for a stored transaction', async () => {
      const tx = createTx();
      rightOf(await fp.query.writeTransaction(conn, tx)());
      const error = leftOf(await fp.query.writeTransaction(conn, tx)());
      expect(error).to.be.instanceOf(core.DuplicateKeyError);
      expect(error.code).to.equal('CHAINSTORE_DUPLICATE_KEY');
      if (error.code !== 'CHAINSTORE_DUPLICATE_KEY') return;
      expect(error.keys).to.deep.equal([tx.id]);
    });

    it('gives Left with a NotImplementedError for a connection class no backend handles', async () => {
      const error = leftOf(await fp.query.getLatestBlock(new BareConnection())());
      expect(error).to.be.instanceOf(core.NotImplementedError);
      expect(error.code).to.equal('CHAINSTORE_NOT_IMPLEMENTED');
      expect(error.message).to.include('query.getLatestBlock').and.include('BareConnection');
    });

    it('gives Left with an UnsupportedOperationError from admin on sqlite', async () => {
      const error = leftOf(await fp.admin.setShards(conn, 3)());
      expect(error).to.be.instanceOf(core.UnsupportedOperationError);
      expect(error.code).to.equal('CHAINSTORE_UNSUPPORTED');
    });

    it('wraps a rejection that is not chainstore\'s in a ChainstoreError, keeping it as cause', async () => {
      const error = leftOf(await fp.query.getBlock(new BuggyConnection(), 1)());
      expect(error).to.be.instanceOf(core.ChainstoreError);
      expect(error.code).to.equal('CHAINSTORE_ERROR');
      expect(error.cause).to.equal(bug);
      expect(error.message).to.include('query.getBlock').and.include('RangeError: offset out of range');
    });

    it('wraps a chainstore error whose code the union does not know, so a Left is always one of the union', () => {
      class CustomError extends core.OperationError {
        override readonly code: string = 'MY_BACKEND_FAILED';
      }
      const custom = new CustomError('mine', 'failed');
      const wrapped = fp.toChainstoreError(custom, 'mine.op');
      expect(wrapped).to.not.equal(custom);
      expect(wrapped.code).to.equal('CHAINSTORE_ERROR');
      expect(wrapped.cause).to.equal(custom);
      const kept = new core.ValidationError('bad', 'x');
      expect(fp.toChainstoreError(kept)).to.equal(kept);
    });
  });

  describe('beside the namespaces', () => {
    it('connect gives Left with a ConfigurationError for an unknown backend', async () => {
      const error = leftOf(await fp.connect({ backend: 'oracle' })());
      expect(error).to.be.instanceOf(core.ConfigurationError);
      expect(error.code).to.equal('CHAINSTORE_CONFIGURATION');
    });

    it('recover gives the report; close closes', async () => {
      expect(rightOf(await fp.recover(conn)())).to.deep.equal({ action: 'none', height: -1, transactions: [] });
      rightOf(await fp.close(conn)());
      expect(conn.closed).to.equal(true);
    });

    it('capabilities is an Either: Right for a connection, Left for what is not one', () => {
      expect(rightOf(fp.capabilities(conn)).backend).to.equal('sqlite');
      // The types forbid it, JavaScript does not: the generic throws synchronously, and that is caught too.
      expect(leftOf(fp.capabilities({} as core.Connection)).code).to.equal('CHAINSTORE_NOT_IMPLEMENTED');
    });

    it('getChangefeed gives the feed once it listens, and Left for a bad table', async () => {
      const feed = rightOf(await fp.changefeed.getChangefeed(conn, 'blocks', core.ChangeFeed.INSERT)());
      try {
        expect(feed).to.be.instanceOf(core.ChangeFeed);
        const next = feed.next();
        await core.query.storeBlock(conn, { height: 1, app_hash: 'ab', transactions: [] });
        expect((await next).value).to.deep.include({ operation: core.ChangeFeed.INSERT, table: 'blocks' });
      } finally {
        await feed.close();
      }
      const error = leftOf(await fp.changefeed.getChangefeed(conn, 'nope' as never, core.ChangeFeed.INSERT)());
      expect(error.code).to.equal('CHAINSTORE_VALIDATION');
    });
  });

  describe('the error union', () => {
    it('names every error class of lib/errors.ts by the code its instances carry', () => {
      const classes = Object.values(errors).filter(
        (value): value is typeof core.ChainstoreError => typeof value === 'function' && (value === core.ChainstoreError || value.prototype instanceof core.ChainstoreError),
      );
      expect(new Set(Object.values(fp.ERROR_CLASSES)), 'one entry per class').to.deep.equal(new Set(classes));
      for (const [code, cls] of Object.entries(fp.ERROR_CLASSES)) {
        const instance = Reflect.construct(cls, ['probe', 'probe']) as core.ChainstoreError;
        expect(instance.code, cls.name).to.equal(code);
        expect(fp.isChainstoreError(instance), cls.name).to.equal(true);
      }
    });
  });

  describe('without fp-ts installed', function () {
    this.timeout(60_000);

    it('fails to load with a message that says to install it', () => {
      // A copy of the sources beside every dependency of the project but fp-ts: fp-ts is truly absent there.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chainstore-no-fp-ts-'));
      try {
        for (const entry of ['lib', 'backends']) fs.cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
        fs.mkdirSync(path.join(dir, 'node_modules'));
        for (const dependency of fs.readdirSync(path.join(ROOT, 'node_modules'))) {
          if (dependency !== 'fp-ts') fs.symlinkSync(path.join(ROOT, 'node_modules', dependency), path.join(dir, 'node_modules', dependency));
        }
        const script = `
          require('./lib');   // the rest of the package does not need fp-ts
          try { require('./lib/fp-ts'); console.log('loaded'); }
          catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message, cause: e.cause && e.cause.code })); }
        `;
        const out = execFileSync(process.execPath, ['-r', require.resolve('ts-node/register/transpile-only'), '-e', script], {
          cwd: dir,
          encoding: 'utf8',
          env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json') },
        });
        expect(JSON.parse(out)).to.deep.equal({
          name: 'ConfigurationError',
          code: 'CHAINSTORE_CONFIGURATION',
          message: 'chainstore/fp-ts needs the fp-ts package, which is not installed: npm install fp-ts',
          cause: 'MODULE_NOT_FOUND',
        });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('the example of docs/fp-ts.md', function () {
    this.timeout(120_000);
    let dir: string;
    let sample: string;
    let problems: Record<string, string[]>;

    before(() => {
      sample = sampleAfterHeading(fs.readFileSync(path.join(ROOT, 'docs', 'fp-ts.md'), 'utf8'), '# fp-ts');
      // The same example with the narrowing by code taken out: strict TypeScript must refuse it.
      const narrowing = "error.code === 'CHAINSTORE_DUPLICATE_KEY' && ";
      expect(sample, 'the example handles DuplicateKeyError by its code').to.include(narrowing);
      dir = sampleDirectory();
      problems = typeCheckSamples(dir, { readme: sample, unnarrowed: sample.replace(narrowing, '') });
    });

    after(() => {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('compiles under strict TypeScript', () => {
      expect(problems.readme).to.deep.equal([]);
    });

    it('would not compile without its check of the code (the check is what narrows)', () => {
      expect(problems.unnarrowed.join('\n')).to.match(/TS2339: Property 'keys' does not exist/);
    });

    it('runs, and prints what it says', () => {
      const expected = sample.match(/^\/\/ prints: (.*)$/m);
      expect(expected, 'the example ends with a "// prints:" line').to.not.equal(null);
      expect(runSample(dir, 'readme')).to.equal(`${expected![1]}\n`);
    });
  });
});
