/**
 * The compile-time side of dispatch (docs/design.md section 2): a handler whose signature does not fit
 * its generic must not compile.
 *
 * How this spec fails: the file is type-checked every time it is loaded, and each ill-typed
 * line below carries `// @ts-expect-error`. If such a line compiles after all, the directive is
 * unused, type-checking fails, and so does the run. The ill-typed registrations sit in functions
 * that are never called (nothing is registered at run time); each has a well-typed twin that
 * compiles and that the `it` blocks run.
 */
import { expect } from 'chai';
import { type Block, Connection, RegistrationError, generic, query, registerHandlers } from '../lib';

/** True only if A and B are the same type (not merely assignable). */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** A backend connection with a member of its own, so that it is structurally distinct. */
class LedgerConnection extends Connection {
  readonly ledgerName = 'main';
}

/** A class that is not a LedgerConnection at all. */
class Unrelated {
  readonly unrelated = true;
}

const block = (height: number, app_hash = 'ab'): Block => ({ height, app_hash, transactions: [] });

/** The generic of a user's own, to check bare generics too. */
const label = generic<(conn: Connection, width: number) => string>('types.label');

// ---------------------------------------------------------------------------
// Ill-typed: never called. Each line must fail to compile.
// ---------------------------------------------------------------------------

function illTypedRegistrations(): void {
  // Wrong argument type: getBlock's height is a number.
  // @ts-expect-error -- height: string does not fit (conn, height: number)
  query.getBlock.register(LedgerConnection, async (_conn: LedgerConnection, _height: string) => null);

  // Wrong return type: getBlock resolves to a Block or null.
  // @ts-expect-error -- Promise<string> does not fit Promise<Block | null>
  query.getBlock.register(LedgerConnection, async () => 'block 1');

  // Wrong return type: the generic is asynchronous, the handler is not.
  // @ts-expect-error -- null does not fit Promise<Block | null>
  query.getLatestBlock.register(LedgerConnection, () => null);

  // Wrong return type on a bare generic.
  // @ts-expect-error -- number does not fit string
  label.register(LedgerConnection, () => 42);

  // An extra required parameter the generic never passes.
  // @ts-expect-error -- three required parameters where the generic passes two
  query.getBlock.register(LedgerConnection, async (_conn: LedgerConnection, _height: number, _extra: string) => null);

  registerHandlers(LedgerConnection, query, {
    // A handler for an unrelated class, registered for LedgerConnection.
    // @ts-expect-error -- a LedgerConnection is not an Unrelated
    getBlock: async (_conn: Unrelated, _height: number) => null,
  });

  registerHandlers(LedgerConnection, query, {
    // Wrong argument type through registerHandlers.
    // @ts-expect-error -- txid is a string
    getBlockWithTransaction: async (_conn: LedgerConnection, _txid: number) => [],
  });

  registerHandlers(LedgerConnection, query, {
    // A name that is not a generic of the module.
    // @ts-expect-error -- query has no getBlok
    getBlok: async () => null,
  });

  // The registry is a read-only view.
  // @ts-expect-error -- a Date is not a Connection: query generics dispatch on connections only
  query.getBlock.register(Date, async (_date: Date, _height: number) => null);

  registerHandlers(Date, query, {
    // @ts-expect-error -- a Date is not a Connection, so no query handler fits it
    getBlock: async (_date: Date, _height: number) => null,
  });

  // @ts-expect-error -- ReadonlyMap has no set
  query.getBlock.registry.set(LedgerConnection, async () => null);

  // Calls are checked against the generic's signature too.
  // @ts-expect-error -- height is a number
  void query.getBlock(new LedgerConnection(), '1');
}

// ---------------------------------------------------------------------------
// Well-typed twins: these compile, and run below.
// ---------------------------------------------------------------------------

/** Registers well-typed handlers for `cls`; returns the one registered with register(). */
function wellTypedRegistrations(cls: typeof LedgerConnection) {
  // The first argument is narrowed to the registered class: its own members are usable.
  const getBlock = query.getBlock.register(cls, async (conn, height) => block(height, conn.ledgerName));
  // A handler may ignore trailing arguments.
  query.getLatestBlock.register(cls, async () => block(0));
  label.register(cls, (conn, width) => conn.ledgerName.padEnd(width, '.'));
  registerHandlers(cls, query, {
    async getBlockWithTransaction(conn, txid) {
      const exact: [Equals<typeof conn, LedgerConnection>, Equals<typeof txid, string>] = [true, true];
      return exact.every(Boolean) ? [txid.length] : [];
    },
  });
  return getBlock;
}

describe('dispatch types', () => {
  let cls: typeof LedgerConnection;

  beforeEach(() => {
    cls = class SpecLedgerConnection extends LedgerConnection {};
  });

  afterEach(() => {
    for (const fn of [query.getBlock, query.getLatestBlock, query.getBlockWithTransaction, label]) fn.unregister(cls);
  });

  it('keeps the ill-typed registrations out of the run (they are only compiled)', () => {
    // The proof is compilation; this only checks that the function exists and was never run.
    expect(illTypedRegistrations).to.be.a('function');
    expect(query.getBlock.dispatch(LedgerConnection)).to.equal(undefined);
  });

  it('runs well-typed handlers registered with register(), narrowed to the registered class', async () => {
    const getBlock = wellTypedRegistrations(cls);
    const exact: Equals<ReturnType<typeof getBlock>, Promise<Block>> = true;
    expect(exact).to.equal(true);
    expect(query.getBlock.dispatch(cls)).to.equal(getBlock);
    expect(await query.getBlock(new cls(), 3)).to.deep.equal(block(3, 'main'));
    expect(await query.getLatestBlock(new cls())).to.deep.equal(block(0));
    expect(label(new cls(), 6)).to.equal('main..');
  });

  it('runs well-typed handlers registered with registerHandlers(), with inferred argument types', async () => {
    wellTypedRegistrations(cls);
    expect(await query.getBlockWithTransaction(new cls(), 'abc')).to.deep.equal([3]);
  });

  it('refuses an unknown name at run time as well as at compile time', () => {
    const register = () =>
      registerHandlers(cls, query, {
        // @ts-expect-error -- query has no getBlok
        getBlok: async () => null,
      });
    expect(register).to.throw(RegistrationError, 'getBlok');
  });
});
