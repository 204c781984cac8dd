import { expect } from 'chai';
import { inspect } from 'node:util';
import {
  ConfigurationError,
  Connection,
  ConnectionError,
  type ConnectionOptions,
  type ResolvedConfig,
  connect,
  getDefaultBackend,
  listBackends,
  registerBackend,
  setDefaultBackend,
} from '../lib';
import { DEFAULT_CONNECTION_TIMEOUT, DEFAULT_MAX_TRIES, resolveConfig } from '../lib/config';
import { withRetries } from '../lib/retry';

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/** A backend of this spec only: its connection just keeps the config it was given. */
const TEST_BACKEND = 'specmemory';
class MemoryConnection extends Connection {}
const memoryFactory = (config: ResolvedConfig) => new MemoryConnection(config);

const SECRET = 'Sup3rS3cret-Pw';
const NO_ENV = {};

/** What `run` throws synchronously. */
function errorOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return expect.fail('did not throw');
}

/** What `promise` rejects with. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return expect.fail('resolved instead of rejecting');
}

/** Fails if `text` shows the secret, or any part of it between URL delimiters. */
function expectNoSecret(text: string, secret: string = SECRET): void {
  const pieces = [secret, ...secret.split(/[@#/?:]/).filter((piece) => piece.length >= 4)];
  for (const piece of pieces) expect(text, `shows ${JSON.stringify(piece)}`).not.to.include(piece);
}

/** Every printable view of an error. */
function viewsOfError(error: unknown): string[] {
  return [String(error), inspect(error), (error as Error).stack ?? ''];
}

/** Resolves for the spec backend, with no environment unless one is given. */
function resolve(options: ConnectionOptions, env: NodeJS.ProcessEnv = NO_ENV, defaults = { name: 'ledger' }): ResolvedConfig {
  return resolveConfig(TEST_BACKEND, options, env, defaults);
}

/** Restores the backend registry (names and default) after each test. */
function keepRegistry(): void {
  let names: string[] = [];
  let defaultName: string | null = null;
  beforeEach(() => {
    names = listBackends();
    defaultName = getDefaultBackend();
  });
  afterEach(() => {
    for (const name of listBackends()) if (!names.includes(name)) registerBackend(name, null);
    setDefaultBackend(defaultName);
  });
}

// ---------------------------------------------------------------------------

describe('configuration', () => {
  keepRegistry();

  describe('precedence', () => {
    const defaults = { host: 'default-host', port: 1111, name: 'default-db', login: 'default-login' };

    it('takes explicit options over the environment, and the environment over the defaults', () => {
      const env = { CHAINSTORE_DATABASE_HOST: 'env-host', CHAINSTORE_DATABASE_PORT: '2222' };
      const config = resolveConfig(TEST_BACKEND, { host: 'option-host' }, env, defaults);
      expect([config.host, config.port, config.name, config.login]).to.deep.equal(['option-host', 2222, 'default-db', 'default-login']);
    });

    it('applies the same order through connect(options, env)', async () => {
      registerBackend(TEST_BACKEND, memoryFactory, defaults);
      const env = { CHAINSTORE_DATABASE_NAME: 'env-db', CHAINSTORE_DATABASE_LOGIN: 'env-login' };
      const conn = await connect({ backend: TEST_BACKEND, login: 'option-login' }, env);
      expect([conn.config.host, conn.config.name, conn.config.login]).to.deep.equal(['default-host', 'env-db', 'option-login']);
      await conn.close();
    });

    it('reads and parses every CHAINSTORE_DATABASE_* variable', () => {
      const config = resolve(
        {},
        {
          CHAINSTORE_DATABASE_HOST: 'db.internal',
          CHAINSTORE_DATABASE_PORT: '6543',
          CHAINSTORE_DATABASE_NAME: 'ledger',
          CHAINSTORE_DATABASE_LOGIN: 'app',
          CHAINSTORE_DATABASE_PASSWORD: SECRET,
          CHAINSTORE_DATABASE_SSL: 'true',
          CHAINSTORE_DATABASE_MAX_TRIES: '0',
          CHAINSTORE_DATABASE_CONNECTION_TIMEOUT: '250',
        },
      );
      expect({ ...config, password: config.password }).to.deep.include({
        host: 'db.internal',
        port: 6543,
        name: 'ledger',
        login: 'app',
        password: SECRET,
        ssl: true,
        maxTries: 0,
        connectionTimeout: 250,
      });
    });

    it('ignores empty environment variables', () => {
      expect(resolve({}, { CHAINSTORE_DATABASE_NAME: '' }, { name: 'from-defaults' }).name).to.equal('from-defaults');
    });

    it('refuses a malformed environment value, naming the variable', () => {
      const error = errorOf(() => resolve({}, { CHAINSTORE_DATABASE_PORT: 'eighty' }));
      expect(error).to.be.an.instanceOf(ConfigurationError);
      expect((error as Error).message).to.include('CHAINSTORE_DATABASE_PORT');
    });

    it('lets CHAINSTORE_DATABASE_BACKEND choose the backend, below an explicit backend option', async () => {
      registerBackend(TEST_BACKEND, memoryFactory, { name: 'ledger' });
      const env = { CHAINSTORE_DATABASE_BACKEND: TEST_BACKEND };
      expect((await connect({}, env)).backend).to.equal(TEST_BACKEND);
      const error = await rejectionOf(connect({ backend: 'nosuchbackend' }, env));
      expect(error).to.be.an.instanceOf(ConfigurationError);
      expect((error as Error).message).to.include('nosuchbackend');
    });
  });

  describe('URLs', () => {
    const sqlite = (url: string) => resolveConfig('sqlite', { url }, NO_ENV).name;

    it('reads sqlite:relative/path.db as a relative file', () => {
      expect(sqlite('sqlite:relative/path.db')).to.equal('relative/path.db');
    });

    it('reads sqlite:///abs/path.db as an absolute file', () => {
      expect(sqlite('sqlite:///abs/path.db')).to.equal('/abs/path.db');
    });

    it('reads sqlite::memory: as an in-memory database', () => {
      expect(sqlite('sqlite::memory:')).to.equal(':memory:');
    });

    it('refuses a sqlite URL that names a host', () => {
      expect(() => sqlite('sqlite://somehost/path.db')).to.throw(ConfigurationError);
    });

    it('lets a server URL override host, port, name, login and password', () => {
      const options = { host: 'h1', port: 1, name: 'n1', login: 'l1', password: 'p1', url: 'postgres://u:pw@h:6543/db' };
      const config = resolveConfig('postgres', options, NO_ENV);
      expect([config.host, config.port, config.name, config.login, config.password]).to.deep.equal(['h', 6543, 'db', 'u', 'pw']);
    });

    it('decodes percent-encoded credentials', () => {
      const config = resolveConfig('postgres', { url: 'postgres://app%20user:p%40ss%23word@h/db' }, NO_ENV);
      expect([config.login, config.password]).to.deep.equal(['app user', 'p@ss#word']);
    });

    it('takes a URL from the environment over the environment parts, but not over explicit options', () => {
      const env = { CHAINSTORE_DATABASE_URL: 'postgres://u:pw@url-host:6543/url-db', CHAINSTORE_DATABASE_HOST: 'env-host' };
      const config = resolveConfig('postgres', { name: 'option-db' }, env);
      expect([config.host, config.port, config.name]).to.deep.equal(['url-host', 6543, 'option-db']);
    });

    it('writes explicit host, port, login and password into a URL from the environment, for every server backend', () => {
      const cases: [string, string, string][] = [
        ['postgres', 'postgres://u:pw@url-host:6543/url-db?sslmode=require', 'postgres://u:pw@option-host:6543/url-db?sslmode=require'],
        ['localmongodb', 'mongodb://u:pw@url-host:27018,h2:27018/ledger?replicaSet=rs0', 'mongodb://u:pw@option-host:27018/ledger?replicaSet=rs0'],
        ['rethinkdb', 'rethinkdb://admin:pw@url-host:28016/ledger', 'rethinkdb://admin:pw@option-host:28016/ledger'],
      ];
      for (const [backend, envUrl, expected] of cases) {
        const config = resolveConfig(backend, { host: 'option-host' }, { CHAINSTORE_DATABASE_URL: envUrl });
        expect(config.host, backend).to.equal('option-host');
        expect(config.url, `${backend}: the URL a driver is given names the explicit host`).to.equal(expected);
        expect(config.displayUrl, backend).to.equal(expected.replace(':pw@', ':***@'));
      }
      const all = resolveConfig('localmongodb', { host: '::1', port: 27020, login: 'app user', password: SECRET }, { CHAINSTORE_DATABASE_URL: 'mongodb://u:pw@h1,h2/ledger?tls=true' });
      expect(all.url).to.equal(`mongodb://app%20user:${SECRET}@[::1]:27020/ledger?tls=true`);
      expectNoSecret(String(all.displayUrl));
      const untouched = 'mongodb://u:pw@h1:27017,h2:27017/ledger?replicaSet=rs0';
      expect(resolveConfig('localmongodb', { name: 'other' }, { CHAINSTORE_DATABASE_URL: untouched }).url, 'no part overridden').to.equal(untouched);
    });

    it('keeps an explicit URL over explicit parts', () => {
      const url = 'mongodb://u:pw@url-host:27017/ledger';
      const config = resolveConfig('localmongodb', { url, host: 'option-host' }, NO_ENV);
      expect([config.host, config.url]).to.deep.equal(['url-host', url]);
    });

    it("refuses a URL whose scheme belongs to another backend, naming that backend", () => {
      const error = errorOf(() => resolveConfig('sqlite', { url: 'postgres://u:pw@h/db' }, NO_ENV));
      expect(error).to.be.an.instanceOf(ConfigurationError);
      expect((error as Error).message).to.include('postgres');
    });

    describe('whitespace around a URL, a name or a host is refused, not trimmed', () => {
      const padded = [
        ['a leading space', ` postgres://app:${SECRET}@db.internal/ledger`],
        ['a leading tab', `\tpostgres://app:${SECRET}@db.internal/ledger`],
        ['a trailing newline', `postgres://app:${SECRET}@db.internal/ledger\n`],
        ['a trailing space', `postgres://app:${SECRET}@db.internal/ledger `],
      ];
      for (const [label, url] of padded) {
        it(`for a URL with ${label}, with or without a backend, as an option or from the environment`, async () => {
          const attempts: [string, () => Promise<unknown>][] = [
            ['connect({ url })', () => connect({ url }, NO_ENV)],
            ["connect({ backend: 'postgres', url })", () => connect({ backend: 'postgres', url }, NO_ENV)],
            ['CHAINSTORE_DATABASE_URL', () => connect({}, { CHAINSTORE_DATABASE_URL: url })],
            ['CHAINSTORE_DATABASE_URL with a backend', () => connect({}, { CHAINSTORE_DATABASE_URL: url, CHAINSTORE_DATABASE_BACKEND: 'postgres' })],
          ];
          for (const [how, attempt] of attempts) {
            // Not a sqlite file named after the URL, not a database named "ledger\n".
            const error = await rejectionOf(attempt());
            expect(error, how).to.be.an.instanceOf(ConfigurationError);
            expect((error as Error).message, how).to.include('whitespace');
            for (const view of viewsOfError(error)) expectNoSecret(view);
          }
        });
      }

      it('for a name or host with whitespace at either end, from options, the environment or a URL', () => {
        const attempts: [string, () => unknown][] = [
          ['option name', () => resolveConfig('postgres', { name: 'ledger\n' }, NO_ENV)],
          ['CHAINSTORE_DATABASE_NAME', () => resolveConfig('postgres', {}, { CHAINSTORE_DATABASE_NAME: ' ledger' })],
          ['a sqlite file', () => resolveConfig('sqlite', {}, { CHAINSTORE_DATABASE_NAME: './chain.db\n' })],
          ['an encoded newline in the URL', () => resolveConfig('postgres', { url: 'postgres://db.internal/ledger%0A' }, NO_ENV)],
          ['option host', () => resolveConfig('postgres', { host: 'db.internal\t' }, NO_ENV)],
        ];
        for (const [how, attempt] of attempts) {
          const error = errorOf(attempt);
          expect(error, how).to.be.an.instanceOf(ConfigurationError);
          expect((error as Error).message, how).to.include('whitespace');
        }
        expect(resolveConfig('postgres', { name: 'my ledger' }, NO_ENV).name, 'whitespace inside is kept').to.equal('my ledger');
      });
    });

    describe('a URL whose scheme no backend owns is refused, listing the known schemes', () => {
      for (const url of [`foo://app:${SECRET}@db.internal/ledger`, `mysql://app:${SECRET}@db.internal/ledger`, `http://app:${SECRET}@db.internal/ledger`]) {
        it(`for ${url.slice(0, url.indexOf(':'))}://, with or without a backend`, async () => {
          const attempts: [string, () => Promise<unknown>][] = [
            ['connect({ url })', () => connect({ url }, NO_ENV)],
            ["connect({ backend: 'postgres', url })", () => connect({ backend: 'postgres', url }, NO_ENV)],
            ["connect({ backend: 'sqlite', url })", () => connect({ backend: 'sqlite', url }, NO_ENV)],
            ['CHAINSTORE_DATABASE_URL', () => connect({}, { CHAINSTORE_DATABASE_URL: url })],
            ['CHAINSTORE_DATABASE_URL with a backend', () => connect({}, { CHAINSTORE_DATABASE_URL: url, CHAINSTORE_DATABASE_BACKEND: 'localmongodb' })],
          ];
          for (const [how, attempt] of attempts) {
            const error = await rejectionOf(attempt());
            expect(error, how).to.be.an.instanceOf(ConfigurationError);
            const { message } = error as Error;
            expect(message, how).to.include(`no backend owns the scheme '${url.slice(0, url.indexOf(':'))}:'`);
            for (const scheme of ['postgres://', 'postgresql://', 'mongodb://', 'mongodb+srv://', 'rethinkdb://', 'sqlite:']) {
              expect(message, `${how} lists ${scheme}`).to.include(scheme);
            }
            for (const view of viewsOfError(error)) expectNoSecret(view);
          }
        });
      }

      it('lists the schemes a registered backend declares, and picks that backend by them', async () => {
        registerBackend(TEST_BACKEND, memoryFactory, { name: 'ledger' }, ['specmemory://']);
        const error = await rejectionOf(connect({ url: 'foo://h/db' }, NO_ENV));
        expect((error as Error).message).to.include('specmemory:// (specmemory)');
        expect((await connect({ url: 'specmemory://h/db' }, NO_ENV)).backend).to.equal(TEST_BACKEND);
        registerBackend(TEST_BACKEND, null);
        const gone = await rejectionOf(connect({ url: 'specmemory://h/db' }, NO_ENV));
        expect((gone as Error).message, 'a removed backend owns no scheme').to.include("no backend owns the scheme 'specmemory:'").and.not.to.include('(specmemory)');
      });

      it('refuses a badly written scheme, or one another backend owns, at registration', () => {
        for (const schemes of [['specmemory'], ['SpecMemory://'], ['specmemory:/'], [42], 'specmemory://']) {
          expect(() => registerBackend(TEST_BACKEND, memoryFactory, {}, schemes as never), JSON.stringify(schemes)).to.throw(ConfigurationError);
        }
        expect(() => registerBackend(TEST_BACKEND, memoryFactory, {}, ['postgres://'])).to.throw(ConfigurationError, "belongs to backend 'postgres'");
        expect(resolveConfig('postgres', { url: 'postgres://h/db' }, NO_ENV).host, 'postgres keeps its scheme').to.equal('h');
      });
    });

    describe('a text without a scheme', () => {
      it('is a file path for sqlite (a drive letter is no scheme)', () => {
        for (const path of ['./data/chain.db', 'data/chain.db', '/var/lib/chain.db', 'C:\\data\\chain.db', ':memory:']) {
          expect(resolveConfig('sqlite', { url: path }, NO_ENV).name).to.equal(path);
        }
        expect(resolveConfig('sqlite', { url: 'sqlite:100%.db' }, NO_ENV).name, 'a bad escape is kept as written').to.equal('100%.db');
      });

      it('is refused for a server backend, naming the schemes it takes', () => {
        const error = errorOf(() => resolveConfig('postgres', { url: 'db.internal/ledger' }, NO_ENV));
        expect(error).to.be.an.instanceOf(ConfigurationError);
        expect((error as Error).message).to.include('no scheme').and.to.include('postgres:// or postgresql://');
      });

      it('is refused as a sqlite file name when it is a URL: no directories named after a URL', () => {
        for (const name of [`postgres://app:${SECRET}@db.internal/ledger`, 'sqlite:///var/lib/chain.db']) {
          const error = errorOf(() => resolveConfig('sqlite', {}, { CHAINSTORE_DATABASE_NAME: name }));
          expect(error, name).to.be.an.instanceOf(ConfigurationError);
          expect((error as Error).message, name).to.include('is a URL, not a file path');
          for (const view of viewsOfError(error)) expectNoSecret(view);
        }
      });
    });

    describe('a password with an unencoded @, # or / is read whole: the user part runs to the last @', () => {
      for (const password of ['Sup3r#S3cret-Pw', 'Sup3r/S3cret-Pw', 'Sup3r@S3cret-Pw']) {
        it(`for ${JSON.stringify(password)}`, () => {
          const config = resolveConfig('postgres', { url: `postgres://app:${password}@db.internal/ledger` }, NO_ENV);
          expect([config.host, config.name, config.login, config.password]).to.deep.equal(['db.internal', 'ledger', 'app', password]);
          expectNoSecret(String(config.displayUrl), password);
          expectNoSecret(inspect(config), password);
        });
      }
    });

    describe('a malformed URL gives a ConfigurationError without the password', () => {
      const cases: [string, string, string][] = [
        // [what is wrong, password, URL]
        ['a port that is not a number', SECRET, `postgres://app:${SECRET}@db.internal:notaport/ledger`],
        ['no host at all', SECRET, `postgres://app:${SECRET}@/ledger`],
        ['one slash after the scheme', SECRET, `postgres:/postgres:${SECRET}@db.internal/ledger`],
        ['no slash after the scheme', SECRET, `postgres:postgres:${SECRET}@db.internal/ledger`],
        ['a space before the scheme', SECRET, ` postgres://postgres:${SECRET}@db.internal/ledger`],
        ['no host and no @', SECRET, `postgres://postgres:${SECRET}`],
        ['a password with delimiters and one slash', 'Kq7x@Vw9z/Jm4p#Rt6y', 'postgres:/app:Kq7x@Vw9z/Jm4p#Rt6y@db.internal/ledger'],
        ['a password with delimiters and no @ after it', 'Kq7x/Vw9z#Jm4p', 'postgres://app:Kq7x/Vw9z#Jm4p'],
      ];
      for (const [label, password, url] of cases) {
        it(`for ${label}`, async () => {
          for (const [how, attempt] of [
            ["resolveConfig('postgres')", async () => resolveConfig('postgres', { url }, NO_ENV)],
            ['connect({ url })', () => connect({ url }, NO_ENV)],
            ['CHAINSTORE_DATABASE_URL', () => connect({}, { CHAINSTORE_DATABASE_URL: url })],
          ] as [string, () => Promise<unknown>][]) {
            const error = await rejectionOf(attempt());
            expect(error, how).to.be.an.instanceOf(ConfigurationError);
            for (const view of viewsOfError(error)) expectNoSecret(view, password);
          }
        });
      }
    });
  });

  describe('maxTries and connectionTimeout', () => {
    it('default to 3 and 5000 ms', () => {
      const config = resolve({});
      expect([config.maxTries, config.connectionTimeout]).to.deep.equal([3, 5000]);
      expect([DEFAULT_MAX_TRIES, DEFAULT_CONNECTION_TIMEOUT]).to.deep.equal([3, 5000]);
    });

    it('accept maxTries 0 (retry forever)', () => {
      expect(resolve({ maxTries: 0 }).maxTries).to.equal(0);
    });

    const bad: [string, ConnectionOptions][] = [
      ['maxTries', { maxTries: -1 }],
      ['maxTries', { maxTries: 1.5 }],
      ['maxTries', { maxTries: Number.NaN }],
      ['maxTries', { maxTries: 'three' as never }],
      ['connectionTimeout', { connectionTimeout: 0 }],
      ['connectionTimeout', { connectionTimeout: -100 }],
      ['connectionTimeout', { connectionTimeout: 2.5 }],
      ['connectionTimeout', { connectionTimeout: Infinity }],
    ];
    for (const [option, options] of bad) {
      it(`refuse ${option} = ${String(options[option])} with a ConfigurationError naming the option`, () => {
        expect(() => resolve(options)).to.throw(ConfigurationError, option);
      });
    }
  });

  describe('the password', () => {
    const url = `specmemory://app:${SECRET}@db.internal:6543/ledger`;
    // The spec backend owns its URLs' scheme, as a backend that takes URLs declares it.
    beforeEach(() => registerBackend(TEST_BACKEND, memoryFactory, { name: 'ledger' }, ['specmemory://']));

    it('stays readable by the backend', () => {
      expect(resolve({ password: SECRET }).password).to.equal(SECRET);
      expect(resolve({ url }).password).to.equal(SECRET);
    });

    it('never appears in util.inspect or JSON.stringify of a config', () => {
      for (const config of [resolve({ password: SECRET }), resolve({ url }), resolve({}, { CHAINSTORE_DATABASE_PASSWORD: SECRET })]) {
        expectNoSecret(inspect(config));
        expectNoSecret(inspect(config, { showHidden: false, depth: 5 }));
        expectNoSecret(JSON.stringify(config));
        expectNoSecret(JSON.stringify({ ...config }));
      }
    });

    it('keeps the config frozen', () => {
      const config = resolve({ password: SECRET }) as { port?: number };
      expect(Object.isFrozen(config)).to.equal(true);
      expect(() => {
        config.port = 1;
      }).to.throw(TypeError);
    });

    it('never appears in util.inspect or JSON.stringify of a connection', async () => {
      const conn = await connect({ backend: TEST_BACKEND, url }, NO_ENV);
      expect(conn.config.password).to.equal(SECRET);
      for (const view of [inspect(conn), inspect(conn, { depth: 5 }), JSON.stringify(conn), conn.location]) expectNoSecret(view);
      await conn.close();
    });

    it("is masked whole in the displayed URL even when it contains an unencoded '@'", () => {
      const secret = 'Sup3r@S3cret-Pw';
      const config = resolveConfig('postgres', { url: `postgres://app:${secret}@db.internal/ledger` }, NO_ENV);
      expect(config.password).to.equal(secret);
      expectNoSecret(inspect(config), secret);
      expectNoSecret(JSON.stringify(config), secret);
    });

    describe('never appears in an error', () => {
      const cases: [string, () => Promise<unknown>][] = [
        ['a malformed server URL', async () => resolveConfig('postgres', { url: `postgres://app:${SECRET}@h:99999/db` }, NO_ENV)],
        ['a URL for another backend', async () => resolveConfig('sqlite', { url: `postgres://app:${SECRET}@h/db` }, NO_ENV)],
        ['a sqlite URL that names a host', async () => resolveConfig('sqlite', { url: `sqlite://app:${SECRET}@h/db.sqlite` }, NO_ENV)],
        ['a bad option next to a password', async () => resolve({ password: SECRET, maxTries: -1 })],
        ['an unknown backend', () => connect({ backend: 'nosuchbackend', password: SECRET }, NO_ENV)],
        [
          'a factory that returns no Connection',
          () => {
            registerBackend(TEST_BACKEND, () => ({}) as never, { name: 'ledger' }, ['specmemory://']);
            return connect({ backend: TEST_BACKEND, url: `specmemory://app:${SECRET}@h/db` }, NO_ENV);
          },
        ],
      ];
      for (const [label, run] of cases) {
        it(`for ${label}`, async () => {
          const error = await rejectionOf(run());
          expect(error).to.be.an.instanceOf(ConfigurationError);
          for (const view of viewsOfError(error)) expectNoSecret(view);
        });
      }
    });
  });

  describe('backend registry', () => {
    it('lists the built-in backends, sorted', () => {
      const names = listBackends();
      expect(names).to.include.members(['sqlite', 'postgres', 'localmongodb', 'rethinkdb']);
      expect(names).to.deep.equal([...names].sort());
    });

    it('registers a backend whose factory receives the resolved, frozen config', async () => {
      let received: ResolvedConfig | undefined;
      const factory = (config: ResolvedConfig) => {
        received = config;
        return new MemoryConnection(config);
      };
      registerBackend(TEST_BACKEND, factory, { name: 'ledger', port: 9 });
      expect(listBackends()).to.include(TEST_BACKEND);
      const conn = await connect({ backend: TEST_BACKEND, host: 'here' }, NO_ENV);
      expect(conn).to.be.an.instanceOf(MemoryConnection);
      expect(conn.backend).to.equal(TEST_BACKEND);
      expect(received).to.deep.include({ backend: TEST_BACKEND, name: 'ledger', port: 9, host: 'here' });
      expect(Object.isFrozen(received)).to.equal(true);
    });

    it('accepts a factory that returns a promise', async () => {
      registerBackend(TEST_BACKEND, async (config) => new MemoryConnection(config), { name: 'ledger' });
      expect(await connect({ backend: TEST_BACKEND }, NO_ENV)).to.be.an.instanceOf(MemoryConnection);
    });

    it('refuses a factory that does not return a Connection', async () => {
      registerBackend(TEST_BACKEND, () => ({ backend: TEST_BACKEND }) as never, { name: 'ledger' });
      expect(await rejectionOf(connect({ backend: TEST_BACKEND }, NO_ENV))).to.be.an.instanceOf(ConfigurationError);
    });

    it('refuses a bad backend name or a factory that is not a function', () => {
      expect(() => registerBackend('no spaces', memoryFactory)).to.throw(ConfigurationError);
      expect(() => registerBackend(TEST_BACKEND, 'factory' as never)).to.throw(ConfigurationError);
      expect(listBackends()).not.to.include(TEST_BACKEND);
    });

    it('answers an unknown backend with a ConfigurationError listing the known ones', async () => {
      const error = await rejectionOf(connect({ backend: 'oracle' }, NO_ENV));
      expect(error).to.be.an.instanceOf(ConfigurationError);
      for (const name of listBackends()) expect((error as Error).message).to.include(name);
    });

    it('makes connect() use the default backend set with setDefaultBackend', async () => {
      registerBackend(TEST_BACKEND, memoryFactory, { name: 'ledger' });
      setDefaultBackend(TEST_BACKEND);
      expect(getDefaultBackend()).to.equal(TEST_BACKEND);
      expect((await connect({}, NO_ENV)).backend).to.equal(TEST_BACKEND);
      setDefaultBackend(null);
      expect(getDefaultBackend()).to.equal('sqlite');
    });

    it('refuses an unknown default backend, listing the known ones, and keeps the old default', () => {
      const before = getDefaultBackend();
      const error = errorOf(() => setDefaultBackend('oracle'));
      expect(error).to.be.an.instanceOf(ConfigurationError);
      expect((error as Error).message).to.include('oracle').and.include('sqlite');
      expect(getDefaultBackend()).to.equal(before);
    });

    it('removes a backend with registerBackend(name, null)', async () => {
      registerBackend(TEST_BACKEND, memoryFactory, { name: 'ledger' });
      registerBackend(TEST_BACKEND, null);
      expect(listBackends()).not.to.include(TEST_BACKEND);
      expect(await rejectionOf(connect({ backend: TEST_BACKEND }, NO_ENV))).to.be.an.instanceOf(ConfigurationError);
    });

    it('resets the default when the default backend is removed', () => {
      registerBackend(TEST_BACKEND, memoryFactory, { name: 'ledger' });
      setDefaultBackend(TEST_BACKEND);
      registerBackend(TEST_BACKEND, null);
      expect(getDefaultBackend()).to.equal('sqlite');
    });

    it('keeps the default when another backend is removed', () => {
      registerBackend(TEST_BACKEND, memoryFactory, { name: 'ledger' });
      registerBackend('specother', memoryFactory, { name: 'ledger' });
      setDefaultBackend(TEST_BACKEND);
      registerBackend('specother', null);
      expect(getDefaultBackend()).to.equal(TEST_BACKEND);
    });

    // Every built-in backend is available: connect() makes its Connection without touching
    // the network (nothing listens for these defaults in this spec's environment).
    for (const name of ['postgres', 'localmongodb', 'rethinkdb']) {
      it(`connects to ${name} lazily, touching no network`, async () => {
        const conn = await connect({ backend: name, host: '127.0.0.1', port: 1, maxTries: 1 }, NO_ENV);
        expect(conn).to.be.an.instanceOf(Connection);
        expect(conn.backend).to.equal(name);
        await conn.close();
      });
    }
  });
});

// ---------------------------------------------------------------------------
// Retrying
// ---------------------------------------------------------------------------

describe('withRetries', () => {
  const policy = { backend: 'specmemory', maxTries: 3, connectionTimeout: 1000, initialDelay: 1, maxDelay: 2 };

  /** An attempt that fails until its `succeedOn`-th call; records when each call started. */
  function flakyAttempt(succeedOn = Infinity) {
    const starts: number[] = [];
    const failures: Error[] = [];
    const attempt = async () => {
      starts.push(performance.now());
      if (starts.length >= succeedOn) return `ok after ${starts.length}`;
      const failure = new Error(`refused #${starts.length}`);
      failures.push(failure);
      throw failure;
    };
    return { attempt, starts, failures };
  }

  const gaps = (starts: number[]) => starts.slice(1).map((start, i) => start - starts[i]);

  it('returns the first success', async () => {
    const { attempt, starts } = flakyAttempt(2);
    expect(await withRetries(attempt, policy)).to.equal('ok after 2');
    expect(starts).to.have.length(2);
  });

  it('tries maxTries times, then throws a ConnectionError with the last failure as cause', async () => {
    const { attempt, starts, failures } = flakyAttempt();
    const error = await rejectionOf(withRetries(attempt, policy));
    expect(starts).to.have.length(3);
    expect(error).to.be.an.instanceOf(ConnectionError);
    expect((error as ConnectionError).cause).to.equal(failures[2]);
    expect((error as Error).message).to.match(/^\[specmemory\] /).and.include('refused #3');
  });

  it('doubles the pause between tries', async () => {
    const { attempt, starts } = flakyAttempt();
    await rejectionOf(withRetries(attempt, { ...policy, maxTries: 4, initialDelay: 15, maxDelay: 1000 }));
    const [first, second, third] = gaps(starts);
    expect(first).to.be.at.least(14);
    expect(second).to.be.at.least(29);
    expect(third).to.be.at.least(59);
  });

  it('caps the pause at maxDelay', async () => {
    const { attempt, starts } = flakyAttempt();
    await rejectionOf(withRetries(attempt, { ...policy, maxTries: 5, initialDelay: 10, maxDelay: 10 }));
    // Uncapped, the last pause would be 80 ms.
    expect(gaps(starts)[3]).to.be.below(60);
  });

  it('tries forever with maxTries 0', async () => {
    const { attempt, starts } = flakyAttempt(5);
    expect(await withRetries(attempt, { ...policy, maxTries: 0 })).to.equal('ok after 5');
    expect(starts).to.have.length(5);
  });

  it('gives up on an attempt that takes longer than connectionTimeout', async () => {
    let tries = 0;
    const hang = () => {
      tries += 1;
      return new Promise<never>(() => undefined);
    };
    const started = performance.now();
    const error = await rejectionOf(withRetries(hang, { ...policy, maxTries: 2, connectionTimeout: 20 }));
    expect(performance.now() - started).to.be.below(1000);
    expect(tries).to.equal(2);
    expect(error).to.be.an.instanceOf(ConnectionError);
    expect(String((error as ConnectionError).cause)).to.match(/timed out/);
  });

  it('hands the result of a late attempt to onLate', async () => {
    const late: string[] = [];
    const slow = () => new Promise<string>((resolve) => setTimeout(() => resolve('late client'), 40));
    await rejectionOf(withRetries(slow, { ...policy, maxTries: 1, connectionTimeout: 10 }, (value) => late.push(value)));
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(late).to.deep.equal(['late client']);
  });

  it('stops at once on a failure that is not retryable', async () => {
    const { attempt, starts, failures } = flakyAttempt();
    const error = await rejectionOf(withRetries(attempt, { ...policy, retryable: () => false }));
    expect(starts).to.have.length(1);
    expect((error as ConnectionError).cause).to.equal(failures[0]);
  });
});
