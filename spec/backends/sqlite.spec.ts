/**
 * The conformance suite on the embedded SQLite backend: once on a database file in a
 * temporary directory (removed afterwards), once in memory. Both name a second database, a
 * file in a temporary directory of its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../lib';
import { type OtherDatabase, resetByDropAndInit, runConformance } from '../conformance';

/** A temporary directory made before the enclosing suite and removed after it. */
function temporaryDirectory(prefix: string): () => string {
  let dir: string | undefined;
  before(function () {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  after(function () {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    if (!dir) throw new Error('the temporary directory is made in a before hook');
    return dir;
  };
}

let others = 0;

/** A database file not made yet, in `dir`. */
function otherFile(dir: string): OtherDatabase {
  const name = join(dir, `other-${++others}.db`);
  return { name, connect: () => connect({ backend: 'sqlite', name }) };
}

describe('sqlite backend on a temporary file', function () {
  const dir = temporaryDirectory('chainstore-sqlite-');

  runConformance({
    name: 'sqlite',
    connect: () => connect({ backend: 'sqlite', name: join(dir(), 'chainstore.db') }),
    reset: resetByDropAndInit,
    otherDatabase: () => otherFile(dir()),
  });
});

describe('sqlite backend in memory', function () {
  const dir = temporaryDirectory('chainstore-sqlite-memory-');

  runConformance({
    name: 'sqlite',
    connect: () => connect({ backend: 'sqlite', name: ':memory:' }),
    reset: resetByDropAndInit,
    otherDatabase: () => otherFile(dir()),
  });
});
