/**
 * The conformance suite on the embedded SQLite backend: once on a database file in a
 * temporary directory (removed afterwards), once in memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../lib';
import { resetByDropAndInit, runConformance } from '../conformance';

describe('sqlite backend on a temporary file', function () {
  let dir: string | undefined;

  before(function () {
    dir = mkdtempSync(join(tmpdir(), 'chainstore-sqlite-'));
  });

  after(function () {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  runConformance({
    name: 'sqlite',
    connect: () => connect({ backend: 'sqlite', name: join(dir!, 'chainstore.db') }),
    reset: resetByDropAndInit,
  });
});

describe('sqlite backend in memory', function () {
  runConformance({
    name: 'sqlite',
    connect: () => connect({ backend: 'sqlite', name: ':memory:' }),
    reset: resetByDropAndInit,
  });
});
