import { expect } from 'chai';
// The package root, so that lib/ledger.ts is loaded and registers its default commitBlock.
import {
  ChangeFeed,
  Connection,
  type CoverageState,
  type Generic,
  NotImplementedError,
  RegistrationError,
  ValidationError,
  admin,
  changefeed,
  coverage,
  generic,
  isGeneric,
  query,
  registerHandlers,
  schema,
} from '../lib';
import type { AnyClass, GenericSignature } from '../lib/dispatch';

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

type AnyGeneric = Generic<GenericSignature>;
type LooseCall = (...args: unknown[]) => unknown;

const INTERFACE_MODULES = { query, schema, changefeed, admin } as const;

/** Every generic of every interface module, with its module's name. */
const INTERFACE_GENERICS: { module: string; fn: AnyGeneric }[] = Object.entries(INTERFACE_MODULES).flatMap(([module, members]) =>
  Object.values(members)
    .filter(isGeneric)
    .map((fn) => ({ module, fn })),
);

/** The bare generics made by the current test. */
const madeGenerics: AnyGeneric[] = [];
let genericCount = 0;

/** A fresh bare generic (default failure mode: synchronous throw) with a name of its own. */
function bareGeneric<F extends GenericSignature>(): Generic<F> {
  genericCount += 1;
  const fn = generic<F>(`spec.bare${genericCount}`);
  madeGenerics.push(fn as unknown as AnyGeneric);
  return fn;
}

/** Plain classes for the bare generics: Animal <- Mammal <- Dog, and an unrelated Rock. */
class Animal {}
class Mammal extends Animal {}
class Dog extends Mammal {}
class Rock {}

type Speak = (target: object, ...rest: unknown[]) => string;

/** Calls `fn(target)` many times at one call site, so the engine's caches are warm. */
function callMany(fn: Speak, target: object, times = 10_000): string {
  let last = '';
  for (let i = 0; i < times; i++) last = fn(target);
  return last;
}

/** Connection subclasses made by the current test; their interface handlers are removed after it. */
const madeClasses: AnyClass[] = [];

/** A fresh Connection subclass with the given class name. */
function connectionClass(name: string, parent: typeof Connection = Connection): typeof Connection {
  const cls = { [name]: class extends parent {} }[name];
  madeClasses.push(cls);
  return cls;
}

/** Removes what the current test registered. */
function forgetRegistrations(): void {
  for (const cls of madeClasses.splice(0)) for (const { fn } of INTERFACE_GENERICS) fn.unregister(cls);
  // Some tests register on Object itself; leave no slot behind on Object.prototype.
  for (const fn of madeGenerics.splice(0)) fn.unregister(Object);
}

/**
 * Calls `run`, fails if it throws synchronously, and returns what its result rejects with.
 * (A changefeed is not a promise but a thenable feed; awaiting it is what rejects.)
 */
async function rejectionOf(run: () => unknown): Promise<unknown> {
  let result: unknown;
  try {
    result = run();
  } catch (error) {
    expect.fail(`threw synchronously instead of rejecting: ${String(error)}`);
  }
  expect(result, 'the result is thenable').to.have.property('then').that.is.a('function');
  try {
    await result;
  } catch (error) {
    return error;
  }
  return expect.fail('resolved instead of rejecting');
}

/** What `run` throws synchronously. */
function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return expect.fail('did not throw');
}

// ---------------------------------------------------------------------------
// Bare generics
// ---------------------------------------------------------------------------

/**
 * Generics with a handler registered for the base Connection: the commit protocol, and the
 * three generics a backend may leave out (docs/design.md section 5), so that a backend
 * implementing only the others misses nothing.
 */
const DEFAULTS_ON_CONNECTION = new Set(['query.commitBlock', 'schema.isInitialized', 'admin.countRecords', 'capabilities']);

describe('dispatch', () => {
  afterEach(forgetRegistrations);

  describe('generic()', () => {
    describe('resolution', () => {
      it('finds a handler registered for a parent class through the prototype chain', () => {
        const speak = bareGeneric<Speak>();
        speak.register(Animal, () => 'animal');
        expect(speak(new Dog())).to.equal('animal');
      });

      it('lets the nearest registration win along a three-level chain', () => {
        const speak = bareGeneric<Speak>();
        speak.register(Animal, () => 'animal');
        speak.register(Mammal, () => 'mammal');
        expect([speak(new Animal()), speak(new Mammal()), speak(new Dog())]).to.deep.equal(['animal', 'mammal', 'mammal']);
        speak.register(Dog, () => 'dog');
        expect([speak(new Animal()), speak(new Mammal()), speak(new Dog())]).to.deep.equal(['animal', 'mammal', 'dog']);
      });

      it('passes every argument to the handler and returns its result', () => {
        const join = bareGeneric<(target: Animal, a: number, b: string) => string>();
        const dog = new Dog();
        join.register(Animal, (target, a, b) => `${target === dog}:${a}:${b}`);
        expect(join(dog, 1, 'x')).to.equal('true:1:x');
      });

      it('dispatches on the class of the first argument only', () => {
        const speak = bareGeneric<(target: object, other: object) => string>();
        speak.register(Animal, () => 'animal');
        speak.register(Rock, () => 'rock');
        expect(speak(new Rock(), new Dog())).to.equal('rock');
      });
    });

    describe('names', () => {
      it('keeps the full name as given', () => {
        expect(generic('app.metrics.countRows').genericName).to.equal('app.metrics.countRows');
      });

      it('accepts any string as a name, identifiers or not', () => {
        for (const name of ['delete', 'class', '2fa.check', 'with space', 'app.ümlaut-name']) {
          const fn = generic<(target: Animal) => string>(name);
          fn.register(Animal, () => name);
          expect(fn(new Dog()), name).to.equal(name);
          expect(() => fn(new Rock())).to.throw(NotImplementedError, name);
        }
      });
    });

    describe('register', () => {
      it('returns the handler unchanged', () => {
        const speak = bareGeneric<Speak>();
        const impl = () => 'dog';
        expect(speak.register(Dog, impl)).to.equal(impl);
      });

      it('registers one handler for each class of an array', () => {
        const speak = bareGeneric<Speak>();
        const impl = () => 'either';
        speak.register([Dog, Rock], impl);
        expect([speak(new Dog()), speak(new Rock())]).to.deep.equal(['either', 'either']);
        expect([...speak.registry.keys()]).to.have.members([Dog, Rock]);
        expect(speak.dispatch(Mammal)).to.equal(undefined);
      });

      it('refuses a handler that is not a function', () => {
        const speak = bareGeneric<Speak>();
        expect(() => speak.register(Dog, 'bark' as never)).to.throw(RegistrationError, speak.genericName);
        expect(speak.registry.size).to.equal(0);
      });

      it('refuses something that is not a class, and registers none of the array', () => {
        const speak = bareGeneric<Speak>();
        expect(() => speak.register([Dog, {} as never], () => 'x')).to.throw(RegistrationError, speak.genericName);
        expect(speak.dispatch(Dog)).to.equal(undefined);
        expect(speak.registry.size).to.equal(0);
      });
    });

    describe('dispatch(Class)', () => {
      it('returns the handler that would run, inherited ones included, without running it', () => {
        const speak = bareGeneric<Speak>();
        let calls = 0;
        const impl = () => String(++calls);
        speak.register(Mammal, impl);
        expect(speak.dispatch(Mammal)).to.equal(impl);
        expect(speak.dispatch(Dog)).to.equal(impl);
        expect(calls).to.equal(0);
      });

      it('returns undefined when no class of the chain has a handler', () => {
        const speak = bareGeneric<Speak>();
        speak.register(Dog, () => 'dog');
        expect(speak.dispatch(Animal)).to.equal(undefined);
        expect(speak.dispatch(Rock)).to.equal(undefined);
      });
    });

    describe('registry', () => {
      it('is a read-only Map: set, delete and clear throw TypeError and change nothing', () => {
        const speak = bareGeneric<Speak>();
        speak.register(Animal, () => 'animal');
        const loose = speak.registry as unknown as Map<unknown, unknown>;
        expect(loose).to.be.an.instanceOf(Map);
        expect(() => loose.set(Dog, () => 'dog')).to.throw(TypeError);
        expect(() => loose.delete(Animal)).to.throw(TypeError);
        expect(() => loose.clear()).to.throw(TypeError);
        expect([...speak.registry.keys()]).to.deep.equal([Animal]);
      });

      it('reflects register and unregister, and lists only direct registrations', () => {
        const speak = bareGeneric<Speak>();
        const view = speak.registry;
        const animal = () => 'animal';
        speak.register(Animal, animal);
        expect(view.get(Animal)).to.equal(animal);
        expect(view.has(Dog)).to.equal(false);
        speak.register(Dog, () => 'dog');
        expect(view.size).to.equal(2);
        expect(speak.unregister(Animal)).to.equal(true);
        expect([...view.keys()]).to.deep.equal([Dog]);
      });

      it('unregister removes only the exact class and says whether there was a handler', () => {
        const speak = bareGeneric<Speak>();
        speak.register(Animal, () => 'animal');
        expect(speak.unregister(Dog)).to.equal(false);
        expect(speak(new Dog())).to.equal('animal');
        expect(speak.unregister(Animal)).to.equal(true);
        expect(speak.unregister(Animal)).to.equal(false);
      });
    });

    describe('re-dispatch after a change', () => {
      it('picks up a handler registered on a subclass after many calls', () => {
        const speak = bareGeneric<Speak>();
        speak.register(Animal, () => 'animal');
        expect(callMany(speak, new Dog())).to.equal('animal');
        speak.register(Dog, () => 'dog');
        expect(speak(new Dog())).to.equal('dog');
      });

      it('picks up a handler registered on a class in the middle of the chain', () => {
        const speak = bareGeneric<Speak>();
        speak.register(Animal, () => 'animal');
        const dog = new Dog();
        expect(callMany(speak, dog)).to.equal('animal');
        speak.register(Mammal, () => 'mammal');
        expect(speak(dog)).to.equal('mammal');
      });

      it('falls back to the parent after unregister, then to no handler at all', () => {
        const speak = bareGeneric<Speak>();
        speak.register(Animal, () => 'animal');
        speak.register(Dog, () => 'dog');
        const dog = new Dog();
        expect(callMany(speak, dog)).to.equal('dog');
        speak.unregister(Dog);
        expect(callMany(speak, dog)).to.equal('animal');
        speak.unregister(Animal);
        expect(() => speak(dog)).to.throw(NotImplementedError);
      });

      it('picks up a replaced handler for the same class', () => {
        const speak = bareGeneric<Speak>();
        speak.register(Dog, () => 'old');
        expect(callMany(speak, new Dog())).to.equal('old');
        speak.register(Dog, () => 'new');
        expect(speak(new Dog())).to.equal('new');
      });

      it('re-dispatches correctly after a call site has seen several classes', () => {
        const speak = bareGeneric<Speak>();
        speak.register(Object, () => 'object');
        const targets = [new Animal(), new Mammal(), new Dog(), new Rock()];
        for (let i = 0; i < 5_000; i++) for (const target of targets) speak(target);
        speak.register(Mammal, () => 'mammal');
        expect(targets.map((t) => speak(t))).to.deep.equal(['object', 'mammal', 'mammal', 'object']);
      });
    });

    describe('failures', () => {
      it('throws NotImplementedError synchronously, naming the generic, the class and the implementing classes', () => {
        const speak = bareGeneric<Speak>();
        class Cat extends Mammal {}
        class Fish extends Animal {}
        speak.register(Dog, () => 'dog');
        speak.register(Cat, () => 'cat');
        const error = thrownBy(() => speak(new Fish()));
        expect(error).to.be.an.instanceOf(NotImplementedError);
        const { message } = error as Error;
        expect(message).to.include(speak.genericName).and.include('Fish').and.include('Dog').and.include('Cat');
      });

      it('names the generic and the class when no class implements it', () => {
        const speak = bareGeneric<Speak>();
        expect(() => speak(new Rock())).to.throw(NotImplementedError, speak.genericName).with.property('message').that.includes('Rock');
      });

      it('throws the error of its argument check synchronously, without calling the handler', () => {
        let called = false;
        const feed = generic<(target: Animal, portions: number) => string>('spec.feed', {
          check: (_target, portions) => {
            if (portions < 1) throw new ValidationError('portions must be positive', 'portions');
          },
        });
        feed.register(Animal, () => String((called = true)));
        expect(() => feed(new Dog(), 0)).to.throw(ValidationError);
        expect(called).to.equal(false);
        expect(feed(new Dog(), 2)).to.equal('true');
      });

      for (const [label, value] of [['null', null], ['undefined', undefined], ['a number', 42], ['a string', 'conn']] as const) {
        it(`throws a TypeError naming the generic for ${label} as first argument`, () => {
          const speak = bareGeneric<Speak>();
          speak.register(Object, () => 'object');
          const error = thrownBy(() => (speak as unknown as LooseCall)(value));
          expect(error).to.be.an.instanceOf(TypeError);
          expect((error as Error).message).to.include(speak.genericName);
        });
      }

      it('refuses a primitive or a function even with handlers registered for their own classes', () => {
        const speak = bareGeneric<Speak>();
        const impl = () => 'found';
        speak.register([String, Number, Boolean] as never, impl);
        for (const value of ['conn', 42, true, () => 'fn']) {
          const error = thrownBy(() => (speak as unknown as LooseCall)(value));
          expect(error, String(value)).to.be.an.instanceOf(TypeError);
        }
        // The registrations are still the handlers given, and objects still reach Object's.
        expect(speak.dispatch(String)).to.equal(impl);
        speak.register(Object, impl);
        expect(speak.dispatch(Object)).to.equal(impl);
        expect(speak.registry.get(Object)).to.equal(impl);
        expect(speak(new Rock() as never)).to.equal('found');
      });

      it('refuses a primitive with TypeError before its argument check runs', () => {
        let checked = false;
        const feed = generic<(target: object, portions: number) => string>('spec.feedAnything', {
          check: () => {
            checked = true;
            throw new ValidationError('never valid', 'portions');
          },
        });
        feed.register(Object, () => 'fed');
        const error = thrownBy(() => (feed as unknown as LooseCall)('abc', 5));
        expect(error).to.be.an.instanceOf(TypeError);
        expect(checked).to.equal(false);
      });

      it('refuses a primitive through a class that shares Object.prototype', () => {
        const speak = bareGeneric<Speak>();
        function Plain() {}
        Plain.prototype = Object.prototype;
        speak.register(Plain as never, () => 'plain');
        expect(thrownBy(() => (speak as unknown as LooseCall)(42))).to.be.an.instanceOf(TypeError);
      });
    });
  });

  // ---------------------------------------------------------------------------
  // The generics of the interface modules
  // ---------------------------------------------------------------------------

  describe('the generics of query, schema, changefeed and admin', () => {
    // capabilities answers synchronously (it never touches the engine): it is not part of
    // the four asynchronous modules.
    const asynchronous = INTERFACE_GENERICS;

    it('are all known to this spec (the four modules declare generics)', () => {
      const modules = new Set(asynchronous.map(({ module }) => module));
      expect([...modules]).to.have.members(['query', 'schema', 'changefeed', 'admin']);
      expect(asynchronous.length).to.be.greaterThan(40);
    });

    it('reject with NotImplementedError when no handler exists, never throwing synchronously', async () => {
      const conn = new (connectionClass('HandlerlessConnection'))();
      for (const { fn } of asynchronous) {
        if (DEFAULTS_ON_CONNECTION.has(fn.genericName)) continue; // served by a default handler on Connection
        const error = await rejectionOf(() => (fn as LooseCall)(conn));
        expect(error, fn.genericName).to.be.an.instanceOf(NotImplementedError);
        expect((error as Error).message).to.include(fn.genericName).and.include('HandlerlessConnection');
      }
    });

    it('reject with a TypeError naming the generic for a null first argument', async () => {
      for (const { fn } of asynchronous) {
        const error = await rejectionOf(() => (fn as LooseCall)(null));
        expect(error, fn.genericName).to.be.an.instanceOf(TypeError);
        expect((error as Error).message).to.include(fn.genericName);
      }
    });

    describe('with bad arguments', () => {
      const cases: { name: string; fn: AnyGeneric; args: unknown[] }[] = [
        { name: 'query.writeTransaction with an empty object', fn: query.writeTransaction, args: [{}] },
        { name: 'query.getBlock with a negative height', fn: query.getBlock, args: [-1] },
        { name: 'query.getTransactions with a string', fn: query.getTransactions, args: ['ab'] },
        { name: 'query.textSearch with an unknown table', fn: query.textSearch, args: ['coffee', { table: 'blocks' }] },
        { name: 'schema.createTables with an empty name', fn: schema.createTables, args: [''] },
        { name: 'changefeed.getChangefeed with an unknown table', fn: changefeed.getChangefeed, args: ['nope', ChangeFeed.INSERT] },
        { name: 'changefeed.getChangefeed with operations 0', fn: changefeed.getChangefeed, args: ['blocks', 0] },
        { name: 'admin.setShards with 0 shards', fn: admin.setShards, args: [0] },
        { name: 'admin.addReplicas with no hosts', fn: admin.addReplicas, args: [[]] },
      ];
      for (const { name, fn, args } of cases) {
        it(`${name} rejects with ValidationError and never calls the handler`, async () => {
          const cls = connectionClass('CheckedConnection');
          let called = false;
          fn.register(cls, () => {
            called = true;
          });
          const error = await rejectionOf(() => (fn as LooseCall)(new cls(), ...args));
          expect(error).to.be.an.instanceOf(ValidationError);
          expect(called).to.equal(false);
        });
      }
    });

    it('turn a handler that throws synchronously into a rejection', async () => {
      const cls = connectionClass('ThrowingConnection');
      const failure = new Error('handler failed');
      query.getLatestBlock.register(cls, () => {
        throw failure;
      });
      expect(await rejectionOf(() => query.getLatestBlock(new cls()))).to.equal(failure);
    });
  });

  // ---------------------------------------------------------------------------
  // registerHandlers
  // ---------------------------------------------------------------------------

  describe('registerHandlers()', () => {
    const block = (height: number) => ({ height, app_hash: 'ab', transactions: [] });

    it('registers each handler under its generic, by name', async () => {
      const cls = connectionClass('NamedConnection');
      const getBlock = async (_conn: Connection, height: number) => block(height);
      registerHandlers(cls, query, { getBlock, getLatestBlock: async () => block(9) });
      expect(query.getBlock.dispatch(cls)).to.equal(getBlock);
      expect(await query.getBlock(new cls(), 4)).to.deep.equal(block(4));
      expect(await query.getLatestBlock(new cls())).to.deep.equal(block(9));
    });

    it('throws RegistrationError for a name that is not a generic of the module, and registers nothing', () => {
      const cls = connectionClass('TypoConnection');
      const handlers = { getBlock: async () => null, getBlok: async () => null };
      expect(() => registerHandlers(cls, query, handlers as never)).to.throw(RegistrationError, 'getBlok');
      expect(query.getBlock.dispatch(cls)).to.equal(undefined);
    });

    it('refuses a plain function of the module that is not a generic', () => {
      const cls = connectionClass('PlainFunctionConnection');
      const handlers = { createTables: async () => undefined, initDatabase: async () => undefined };
      expect(() => registerHandlers(cls, schema, handlers as never)).to.throw(RegistrationError, 'initDatabase');
      expect(schema.createTables.dispatch(cls)).to.equal(undefined);
    });

    it('throws RegistrationError for a handler that is not a function, and registers nothing', () => {
      const cls = connectionClass('NotAFunctionConnection');
      const handlers = { getLatestBlock: async () => null, getBlock: 'soon' };
      expect(() => registerHandlers(cls, query, handlers as never)).to.throw(RegistrationError, 'getBlock');
      expect(query.getLatestBlock.dispatch(cls)).to.equal(undefined);
    });
  });

  // ---------------------------------------------------------------------------
  // coverage
  // ---------------------------------------------------------------------------

  describe('coverage()', () => {
    /** The coverage of the generics of the four interface modules only. */
    function coverageOf(cls: AnyClass): Record<string, CoverageState> {
      const all = coverage(cls);
      return Object.fromEntries(INTERFACE_GENERICS.map(({ fn }) => [fn.genericName, all[fn.genericName]]));
    }

    it('has an entry, keyed by full name, for every generic of every interface module', () => {
      const keys = Object.keys(coverage(connectionClass('KeyedConnection')));
      for (const { module, fn } of INTERFACE_GENERICS) {
        expect(fn.genericName.startsWith(`${module}.`), fn.genericName).to.equal(true);
        expect(keys).to.include(fn.genericName);
      }
      expect(keys).to.include.members(['query.writeTransaction', 'schema.createTables', 'changefeed.getChangefeed', 'admin.setShards']);
    });

    it('reports a bare Connection subclass as missing everything but the defaults registered on Connection', () => {
      const states = coverageOf(connectionClass('BareConnection'));
      for (const name of DEFAULTS_ON_CONNECTION) {
        if (name in states) expect(states[name], name).to.equal('inherited');
      }
      expect(coverage(connectionClass('BareConnection')).capabilities).to.equal('inherited');
      const others = Object.entries(states).filter(([name]) => !DEFAULTS_ON_CONNECTION.has(name));
      expect(others.filter(([, state]) => state !== 'missing')).to.deep.equal([]);
    });

    it('reports the default commitBlock as own on Connection itself', () => {
      expect(coverage(Connection)['query.commitBlock']).to.equal('own');
    });

    it('tells own from inherited, and follows unregister', () => {
      const parent = connectionClass('ParentConnection');
      const child = connectionClass('ChildConnection', parent);
      registerHandlers(parent, query, { getBlock: async () => null });
      registerHandlers(child, schema, { createTables: async () => undefined });
      expect([coverage(parent)['query.getBlock'], coverage(child)['query.getBlock']]).to.deep.equal(['own', 'inherited']);
      expect([coverage(parent)['schema.createTables'], coverage(child)['schema.createTables']]).to.deep.equal(['missing', 'own']);
      query.getBlock.unregister(parent);
      expect(coverage(child)['query.getBlock']).to.equal('missing');
    });

    it('sees an override of the default commitBlock as own', () => {
      const cls = connectionClass('AtomicConnection');
      query.commitBlock.register(cls, async () => undefined);
      expect(coverage(cls)['query.commitBlock']).to.equal('own');
    });
  });
});
