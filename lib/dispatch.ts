/**
 * Single dispatch on the class of the first argument, in the manner of Python's
 * `functools.singledispatch` (docs/design.md section 2).
 *
 * Why a symbol slot on the prototype: each generic owns a unique symbol, and
 * `register(Class, impl)` stores `impl` under that symbol on `Class.prototype`.
 * A call is then `conn[symbol]`: an ordinary property lookup that walks the
 * prototype chain (so the nearest registration wins, for free) and that V8's
 * inline caches turn into a constant-time load at a monomorphic call site.
 * There is no separate cache to keep coherent: registering or unregistering
 * changes the prototype, which invalidates the engine's caches by itself.
 */
import { NotImplementedError, RegistrationError } from './errors';

/**
 * Any class, abstract or not.
 *
 * @example
 * const classes: AnyClass[] = [Connection, SqliteConnection];
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyClass = abstract new (...args: any[]) => any;

/**
 * The shape of every generic: the dispatch argument first.
 *
 * @example
 * type GetBlock = (conn: Connection, height: number) => Promise<Block | null>;   // fits GenericSignature
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type GenericSignature = (target: any, ...args: any[]) => any;

type Tail<T extends unknown[]> = T extends [unknown, ...infer R] ? R : never;

/**
 * A handler of generic `F` for instances of `C`: the same arguments and result as `F`,
 * except that the first argument is narrowed to the registered class.
 *
 * @example
 * type GetBlock = (conn: Connection, height: number) => Promise<Block | null>;
 * const getBlock: HandlerFor<GetBlock, typeof SqliteConnection> = async (conn, height) => null;   // conn: SqliteConnection
 */
export type HandlerFor<F extends GenericSignature, C extends AnyClass> = (
  target: InstanceType<C>,
  ...args: Tail<Parameters<F>>
) => ReturnType<F>;

/**
 * A class whose instances fit the generic's first parameter.
 *
 * @example
 * const cls: DispatchClass<(conn: Connection) => string> = SqliteConnection;   // a Connection subclass fits
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DispatchClass<F extends GenericSignature> = abstract new (...args: any[]) => Parameters<F>[0];

/**
 * How a generic reports a failure that happens before or inside its handler.
 *
 * @example
 * const orNull: FailureMode<(conn: Connection) => string | null> = () => null;
 * const describe = generic<(conn: Connection) => string | null>('app.describe', { failure: orNull });
 */
export type FailureMode<F extends GenericSignature> = (error: unknown, args: IArguments) => ReturnType<F>;

/**
 * Options of {@link generic}.
 *
 * @example
 * const getAsset = generic<(conn: Connection, id: string) => Promise<Asset | null>>('app.getAsset', {
 *   failure: rejectAsync, check: (_conn, id) => checkString('id', id), doc: 'The asset, or null.',
 * });
 */
export interface GenericOptions<F extends GenericSignature> {
  /**
   * Turns a failure (no handler, bad first argument, a synchronous throw in the handler)
   * into the generic's result. Default: rethrow synchronously. The interface modules use
   * {@link rejectAsync} so that every failure arrives as a rejected promise.
   */
  failure?: FailureMode<F>;
  /**
   * The contract check run before the handler, with the same arguments (it throws
   * {@link ValidationError} on bad input). Declared once with the generic, so no backend
   * is ever handed a malformed record.
   */
  check?: (...args: Parameters<F>) => void;
  /** One line on what the generic does (shown by tooling). */
  doc?: string;
}

/**
 * A generic function: callable like `F`, plus its registry.
 *
 * @example
 * query.getLatestBlock.genericName;                      // 'query.getLatestBlock'
 * query.getLatestBlock.registry.has(SqliteConnection);   // true once the sqlite backend is loaded
 */
export interface Generic<F extends GenericSignature> {
  (...args: Parameters<F>): ReturnType<F>;
  /** Full name, e.g. `'query.writeTransaction'`. */
  readonly genericName: string;
  /**
   * Registers `impl` for instances of `cls` (or of each class in an array) and their subclasses.
   * Returns `impl` unchanged, so it can be used as a decorator-like expression.
   */
  register<C extends DispatchClass<F>, H extends HandlerFor<F, C>>(cls: C | readonly C[], impl: H): H;
  /** Removes the handler registered for exactly `cls`; `true` if there was one. */
  unregister(cls: AnyClass): boolean;
  /** The handler that would run for an instance of `cls`, or `undefined`. */
  dispatch(cls: AnyClass): F | undefined;
  /** Handlers registered so far, by class (read-only view). */
  readonly registry: ReadonlyMap<AnyClass, F>;
}

const GENERIC_BRAND = Symbol('chainstore.generic');

function className(cls: unknown): string {
  return typeof cls === 'function' && cls.name ? cls.name : '<anonymous class>';
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object' || typeof value === 'function') return className((value as object).constructor);
  return typeof value;
}

/**
 * The registry a generic exposes: a real Map (so `instanceof Map` holds) whose mutators
 * refuse, because handlers come and go only through register/unregister, which also move the
 * prototype slots.
 */
class ReadonlyRegistry<K, V> extends Map<K, V> {
  /** Writes that only register/unregister may make. */
  static readonly write = {
    set: <K, V>(registry: ReadonlyRegistry<K, V>, key: K, value: V) => Map.prototype.set.call(registry, key, value),
    delete: <K, V>(registry: ReadonlyRegistry<K, V>, key: K) => Map.prototype.delete.call(registry, key),
  };

  override set(): never {
    throw new TypeError('a generic\'s registry is read-only: use register()');
  }

  override delete(): never {
    throw new TypeError('a generic\'s registry is read-only: use unregister()');
  }

  override clear(): never {
    throw new TypeError('a generic\'s registry is read-only: use unregister()');
  }
}

/**
 * Makes a generic function that dispatches on the class of its first argument.
 *
 * @example
 * const describe = generic<(conn: Connection) => string>('app.describe');
 * describe.register(SqliteConnection, (conn) => `sqlite at ${conn.location}`);
 * describe(conn);   // 'sqlite at ./.chainstore/chainstore.db'
 */
export function generic<F extends GenericSignature>(name: string, options: GenericOptions<F> = {}): Generic<F> {
  const slot = Symbol(name);
  const registry = new ReadonlyRegistry<AnyClass, F>();
  const failure = options.failure;
  const check = options.check;

  const noHandler = (target: unknown): Error => {
    if (target === null || typeof target !== 'object') {
      return new TypeError(`${name}: the first argument must be an object to dispatch on, got ${describeValue(target)}`);
    }
    const implementers = [...registry.keys()].map(className);
    return new NotImplementedError(
      `${name} has no handler for ${describeValue(target)}` +
        (implementers.length ? `; it is implemented for: ${implementers.join(', ')}` : '; no class implements it yet'),
    );
  };

  const miss = failure
    ? (args: IArguments) => failure(noHandler(args[0]), args)
    : (args: IArguments): never => {
        throw noHandler(args[0]);
      };
  const call = compileCaller<F>(slot, miss, check, failure);

  const checkClass = (cls: unknown): AnyClass => {
    if (typeof cls !== 'function' || typeof (cls as { prototype?: unknown }).prototype !== 'object') {
      throw new RegistrationError(`${name}: can only register handlers for classes, got ${describeValue(cls)}`);
    }
    return cls as AnyClass;
  };

  const self = call as unknown as Generic<F>;
  Object.defineProperties(self, {
    name: { value: name.slice(name.lastIndexOf('.') + 1) },
    genericName: { value: name, enumerable: true },
    [GENERIC_BRAND]: { value: true },
    registry: { value: registry, enumerable: true },
    register: {
      value<H>(classes: AnyClass | readonly AnyClass[], impl: H): H {
        if (typeof impl !== 'function') {
          throw new RegistrationError(`${name}: the handler must be a function, got ${describeValue(impl)}`);
        }
        const list = Array.isArray(classes) ? classes : [classes];
        for (const cls of list) checkClass(cls);
        for (const cls of list as AnyClass[]) {
          const value = PRIMITIVE_PROTOTYPES.has(cls.prototype) ? guarded(impl as unknown as F, miss) : impl;
          Object.defineProperty(cls.prototype, slot, { value, writable: true, configurable: true, enumerable: false });
          ReadonlyRegistry.write.set(registry, cls, impl as unknown as F);
        }
        return impl;
      },
    },
    unregister: {
      value(cls: AnyClass): boolean {
        if (!ReadonlyRegistry.write.delete(registry, cls)) return false;
        delete (cls.prototype as Record<symbol, unknown>)[slot];
        return true;
      },
    },
    dispatch: {
      value(cls: AnyClass): F | undefined {
        const found = (checkClass(cls).prototype as Record<symbol, F | undefined>)[slot];
        return found && ((guards.get(found) as F | undefined) ?? found);
      },
    },
  });
  slots.set(self as Generic<GenericSignature>, slot);
  return self;
}

/**
 * The prototypes a primitive or a function reaches when a property is looked up on it
 * (`'abc'[slot]` reads String.prototype, then Object.prototype). Function.prototype is not
 * here because no class with it as prototype can be registered.
 */
const PRIMITIVE_PROTOTYPES = new Set<unknown>([Object.prototype, String.prototype, Number.prototype, Boolean.prototype, Symbol.prototype, BigInt.prototype]);

/** The handlers behind the guards of {@link guarded}, so that `dispatch()` returns the handler. */
const guards = new WeakMap<object, unknown>();

/**
 * A handler registered for a class with one of {@link PRIMITIVE_PROTOTYPES}, behind a check
 * that the first argument is an object. Only such a registration lets a primitive or a
 * function find a handler, so the check lives here, and a call through any other class pays
 * nothing for it.
 */
function guarded<F extends GenericSignature>(impl: F, miss: (args: IArguments) => unknown): F {
  const guard = function (this: unknown) {
    const target: unknown = arguments[0];
    if (target === null || typeof target !== 'object') return miss(arguments);
    // eslint-disable-next-line prefer-rest-params
    return impl.apply(this, arguments as unknown as Parameters<F>);
  } as unknown as F;
  guards.set(guard, impl);
  return guard;
}

/**
 * Builds the function a generic is called as: one property load, one test, one call.
 *
 * Why generated code: V8 keeps type feedback per function literal, so if every generic
 * shared one closure literal, the `target[slot]` load would see every generic's symbol,
 * turn megamorphic, and no call through a generic could be inlined. A literal of its own per
 * generic keeps each call site monomorphic. The shape matters too (measured in bench/): the
 * miss path receives `arguments` whole, a null target is caught rather than tested, and a
 * primitive target is refused where it can find a handler ({@link guarded}) instead of by a
 * `typeof` test here, which alone cost more than half a nanosecond per call.
 */
function compileCaller<F extends GenericSignature>(
  slot: symbol,
  miss: (args: IArguments) => unknown,
  check: ((...args: Parameters<F>) => void) | undefined,
  failure: FailureMode<F> | undefined,
): (...args: Parameters<F>) => ReturnType<F> {
  const invoke = `${check ? 'check.apply(this, arguments);\n' : ''}return handler.apply(this, arguments);\n`;
  // A check must not see a primitive first argument (the guard comes later, in the handler):
  // beside a check, the test costs nothing that matters.
  const refusePrimitives = check ? "if (typeof arguments[0] !== 'object') return miss(arguments);\n" : '';
  const body =
    "'use strict';\n" +
    'let handler;\n' +
    'try { handler = arguments[0][slot]; } catch (error) { return miss(arguments); }\n' +
    'if (handler === undefined) return miss(arguments);\n' +
    refusePrimitives +
    (failure ? `try {\n${invoke}} catch (error) {\nreturn failure(error, arguments);\n}\n` : invoke);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function('slot', 'miss', 'check', 'failure', `return function () {\n${body}};`);
  return factory(slot, miss, check, failure);
}

const slots = new WeakMap<Generic<GenericSignature>, symbol>();

/**
 * True if `value` was made by {@link generic}.
 *
 * @example
 * isGeneric(query.getBlock);   // true
 * isGeneric(() => null);       // false
 */
export function isGeneric(value: unknown): value is Generic<GenericSignature> {
  return typeof value === 'function' && (value as unknown as Record<symbol, unknown>)[GENERIC_BRAND] === true;
}

/**
 * Failure mode of the interface modules: every failure, including a missing handler
 * or a synchronous throw inside the handler, becomes a rejected promise.
 *
 * @example
 * const getBlock = generic<(c: Connection, h: number) => Promise<Block | null>>('query.getBlock', { failure: rejectAsync });
 */
export function rejectAsync(error: unknown): never {
  return Promise.reject(error) as never;
}

// ---------------------------------------------------------------------------
// Interface modules and their coverage
// ---------------------------------------------------------------------------

/**
 * A namespace of generics, such as `query` or `schema`.
 *
 * @example
 * const modules: InterfaceModule[] = [query, schema, changefeed, admin];
 */
export type InterfaceModule = Readonly<Record<string, unknown>>;

const interfaceModules = new Map<string, InterfaceModule>();

/**
 * Declares a namespace of generics as an interface module, so that
 * {@link registerHandlers} and {@link coverage} know it. Called once by each of
 * `query`, `schema`, `changefeed` and `admin`.
 *
 * @example
 * export const metrics = defineInterface('metrics', { countRows });
 */
export function defineInterface<M extends InterfaceModule>(moduleName: string, members: M): M {
  interfaceModules.set(moduleName, members);
  return members;
}

function genericsOf(module: InterfaceModule): [string, Generic<GenericSignature>][] {
  return Object.entries(module).filter((entry): entry is [string, Generic<GenericSignature>] => isGeneric(entry[1]));
}

function moduleNameOf(module: InterfaceModule): string {
  for (const [name, members] of interfaceModules) {
    if (members === module) return name;
  }
  const first = genericsOf(module)[0];
  return first ? first[1].genericName.split('.')[0] : '<module>';
}

/**
 * Handlers by generic name; each must fit that generic's signature.
 *
 * @example
 * const handlers: HandlerMap<typeof admin, typeof SqliteConnection> = { setShards: admin.unsupported('setShards') };
 * registerHandlers(SqliteConnection, admin, handlers);
 */
export type HandlerMap<M, C extends AnyClass> = {
  [K in keyof M]?: M[K] extends Generic<infer F> ? (InstanceType<C> extends Parameters<F>[0] ? HandlerFor<F, C> : never) : never;
};

/**
 * Registers many handlers of one interface module for one class. A name that is not a
 * generic of the module throws {@link RegistrationError} now, not at call time.
 *
 * @example
 * registerHandlers(SqliteConnection, query, {
 *   async getBlock(conn, height) { ... },
 *   async storeBlock(conn, block) { ... },
 * });
 */
export function registerHandlers<M extends InterfaceModule, C extends AnyClass>(
  cls: C,
  module: M,
  handlers: HandlerMap<M, C>,
): void {
  if (module === null || typeof module !== 'object') {
    throw new RegistrationError(`registerHandlers: the second argument must be an interface module, got ${describeValue(module)}`);
  }
  const known = new Map(genericsOf(module));
  const moduleName = moduleNameOf(module);
  // Check everything before registering anything, so a typo leaves no half-registered class.
  for (const [key, impl] of Object.entries(handlers)) {
    if (!known.has(key)) {
      const names = [...known.keys()].sort().join(', ');
      throw new RegistrationError(`registerHandlers: '${key}' is not a generic of ${moduleName} (it has: ${names})`);
    }
    if (typeof impl !== 'function') {
      throw new RegistrationError(`registerHandlers: the handler for ${moduleName}.${key} must be a function`);
    }
  }
  for (const [key, impl] of Object.entries(handlers)) {
    known.get(key)!.register(cls, impl as never);
  }
}

/**
 * How a class implements one generic.
 *
 * @example
 * coverage(SqliteConnection)['query.getBlock'];   // 'own'
 * coverage(class extends SqliteConnection {})['query.getBlock'];   // 'inherited'
 * coverage(Connection)['query.getBlock'];   // 'missing'
 */
export type CoverageState = 'own' | 'inherited' | 'missing';

/**
 * For every generic of every interface module, whether `cls` has its own handler,
 * inherits one from a parent class, or has none.
 *
 * @example
 * const missing = Object.entries(coverage(SqliteConnection)).filter(([, s]) => s === 'missing');
 * // [] for every shipped backend
 */
export function coverage(cls: AnyClass): Record<string, CoverageState> {
  const result: Record<string, CoverageState> = {};
  for (const members of interfaceModules.values()) {
    for (const [, fn] of genericsOf(members)) {
      const slot = slots.get(fn)!;
      const proto = cls.prototype as object;
      result[fn.genericName] = Object.prototype.hasOwnProperty.call(proto, slot)
        ? 'own'
        : (proto as Record<symbol, unknown>)[slot] !== undefined
          ? 'inherited'
          : 'missing';
    }
  }
  return result;
}
