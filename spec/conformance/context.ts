/**
 * The harness every topic of the conformance suite runs in: one connection per backend run,
 * an empty database before each test, and the capabilities that decide what to skip.
 */
import { type Capabilities, type Connection, capabilities as backendCapabilities, schema } from '../../lib';

/**
 * How the conformance suite reaches one backend.
 *
 * @example
 * runConformance({
 *   name: 'sqlite',
 *   connect: () => connect({ backend: 'sqlite', name: ':memory:' }),
 *   reset: resetByDropAndInit,
 * });
 */
export interface ConformanceFactory {
  /** The backend's registered name: `capabilities(conn).backend` must equal it. */
  name: string;
  /** A new connection to an engine the suite may wipe at will. */
  connect(): Promise<Connection>;
  /** Leaves the database empty and initialized; runs before every test. */
  reset(conn: Connection): Promise<void>;
  /** Overrides of what the backend declares, for deployments that support less (or more). */
  capabilities?: Partial<Capabilities>;
  /**
   * A second database on the same engine, which the suite creates, fills and drops through
   * the connection `connect` makes (the tests of `name` in the schema generics). Without it
   * those tests are skipped, saying so.
   */
  otherDatabase?(): OtherDatabase;
}

/**
 * A database other than the one `connect` reaches: its `name` as the schema generics take
 * it, and how to connect to it. The suite drops it when it is done with it.
 *
 * @example
 * otherDatabase: () => ({
 *   name: 'ledger_other',
 *   connect: () => connect({ backend: 'mybackend', url: 'mybackend://db.internal/ledger_other' }),
 * }),
 */
export interface OtherDatabase {
  readonly name: string;
  connect(): Promise<Connection>;
}

/**
 * The usual `reset`: drop the database, then create it again with every table.
 *
 * @example
 * runConformance({ name: 'postgres', connect, reset: resetByDropAndInit });
 */
export async function resetByDropAndInit(conn: Connection): Promise<void> {
  await schema.dropDatabase(conn, conn.config.name);
  await schema.initDatabase(conn);
}

/** What a topic of the suite works with. Read `conn` only inside hooks and tests. */
export interface ConformanceContext {
  readonly factory: ConformanceFactory;
  readonly conn: Connection;
  /** What the backend declares, with the factory's overrides applied. */
  capabilities(): Capabilities;
}

/**
 * The factory's second database, or skips the running test saying the factory names none.
 */
export function requireOtherDatabase(mocha: Mocha.Context, ctx: ConformanceContext): OtherDatabase {
  const other = ctx.factory.otherDatabase?.();
  if (!other) skipBecause(mocha, `the ${ctx.factory.name} factory names no second database (otherDatabase)`);
  return other;
}

/**
 * Registers, in the current `describe`, the hooks that connect once, reset before every
 * test and close at the end; returns the context the topics read the connection from.
 */
export function useBackend(factory: ConformanceFactory): ConformanceContext {
  let current: Connection | undefined;
  before(async function () {
    current = await factory.connect();
  });
  beforeEach(async function () {
    await factory.reset(connection());
  });
  after(async function () {
    await current?.close();
    current = undefined;
  });

  function connection(): Connection {
    if (!current) throw new Error(`conformance (${factory.name}): no connection; connect() failed or the suite is not running`);
    return current;
  }

  return {
    factory,
    get conn() {
      return connection();
    },
    capabilities() {
      const declared = backendCapabilities(connection());
      const overrides = factory.capabilities ?? {};
      return { ...declared, ...overrides, admin: { ...declared.admin, ...overrides.admin } };
    },
  };
}

/** The boolean capabilities a test may depend on. */
export type Feature = 'atomicCommit' | 'atomicBulkWrite' | 'changefeed' | 'crossProcessChangefeed' | 'textSearch' | 'linguisticSearch';

/**
 * Skips the running test (or, from a `beforeEach`, the test about to run) unless the backend
 * has `feature`.
 */
export function requireFeature(mocha: Mocha.Context, ctx: ConformanceContext, feature: Feature): void {
  if (!ctx.capabilities()[feature]) skipBecause(mocha, `${ctx.factory.name} does not declare ${feature}`);
}

/**
 * Skips the running test (or the one a `beforeEach` runs for). Mocha prints no reason for a
 * pending test, so the reason goes in its title.
 */
export function skipBecause(mocha: Mocha.Context, reason: string): never {
  const test = mocha.currentTest ?? mocha.test;
  if (test) test.title += ` [skipped: ${reason}]`;
  mocha.skip();
}
