/**
 * fp-ts is an optional peer dependency: only `chainstore/fp-ts` needs it, so a user who never
 * imports the subpath never installs it. Loading it here, once, turns its absence into an
 * error that says what to do, instead of a bare `Cannot find module` stack from deep inside.
 */
import type * as EitherModule from 'fp-ts/Either';
import type * as TaskEitherModule from 'fp-ts/TaskEither';
import { ConfigurationError } from '../errors';

/** True if `error` is Node's failure to find `id` itself (not a module missing inside it). */
function isMissing(error: unknown, id: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === 'MODULE_NOT_FOUND' && typeof message === 'string' && message.startsWith(`Cannot find module '${id}'`);
}

/** Runs `load` (a literal `require`, so bundlers see the dependency), explaining a missing fp-ts. */
function loadPeer<M>(id: string, load: () => M): M {
  try {
    return load();
  } catch (error) {
    if (isMissing(error, id)) {
      throw new ConfigurationError(`chainstore/fp-ts needs the fp-ts package, which is not installed: npm install fp-ts`, { cause: error });
    }
    throw error;
  }
}

/** fp-ts's `Either` module. */
export const E = loadPeer<typeof EitherModule>('fp-ts/Either', () => require('fp-ts/Either'));

/** fp-ts's `TaskEither` module. */
export const TE = loadPeer<typeof TaskEitherModule>('fp-ts/TaskEither', () => require('fp-ts/TaskEither'));
