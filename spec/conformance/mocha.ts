/**
 * The conformance suite is a set of mocha tests, and mocha is an optional peer dependency of
 * chainstore (most users never run the suite). Where it is missing, importing
 * `chainstore/testing` fails at once saying what to install, instead of with a raw
 * `Cannot find module` stack or, later, `describe is not defined`.
 */
import { ConfigurationError } from '../../lib';

/** What a user types to get mocha (the peer range chainstore declares). */
export const INSTALL_MOCHA = "npm install --save-dev 'mocha@>=10'";

/**
 * Whether mocha's interface (`describe`, `it`, hooks) is defined: true while mocha loads
 * spec files, whichever installation of mocha runs them.
 *
 * @example
 * if (!mochaIsRunning()) console.log('run this file with npx mocha');
 */
export function mochaIsRunning(): boolean {
  const scope = globalThis as Record<string, unknown>;
  return typeof scope.describe === 'function' && typeof scope.it === 'function';
}

/**
 * Throws `ConfigurationError` saying how to install mocha, unless mocha is running or can be
 * found from this package (where npm puts a peer dependency: the user's node_modules).
 *
 * @example
 * requireMochaInstalled();   // at the top of chainstore/testing
 */
export function requireMochaInstalled(): void {
  if (mochaIsRunning()) return;
  try {
    require.resolve('mocha');
  } catch {
    throw new ConfigurationError(
      `chainstore/testing is a mocha test suite, and mocha is not installed. Install it in your project: ${INSTALL_MOCHA}, ` +
        'then run your spec file with npx mocha.',
    );
  }
}

/**
 * Throws `ConfigurationError` unless mocha is running: `what` registers tests, which only
 * means something while mocha loads a spec file.
 *
 * @example
 * requireMochaRunning('runConformance()');
 */
export function requireMochaRunning(what: string): void {
  if (mochaIsRunning()) return;
  throw new ConfigurationError(
    `${what} registers mocha tests, and mocha is not running: call it at the top level of a spec file and run that file with mocha ` +
      '(npx mocha spec/my-backend.spec.ts).',
  );
}
