/**
 * Several processes on one SQLite file: writes from other processes reach a changefeed, in
 * order, and concurrent writers neither lose writes nor see SQLITE_BUSY.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ChangeFeed, type Connection, type Transaction, changefeed, connect, query, schema } from '../../lib';
import { hexId } from '../conformance/fixtures';

const run = promisify(execFile);
const WRITER = join(__dirname, '..', 'support', 'sqlite-writer.ts');

interface WriterResult {
  written: number;
  duplicates: number;
  errors: string[];
}

async function writer(file: string, label: string, count: number, sharedId?: string): Promise<WriterResult> {
  const args = ['-r', 'ts-node/register/transpile-only', WRITER, file, label, String(count), ...(sharedId ? [sharedId] : [])];
  const { stdout } = await run(process.execPath, args, { cwd: join(__dirname, '..', '..') });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

describe('sqlite: several processes on one file', function () {
  this.timeout(60_000);
  let dir: string;
  let file: string;
  let conn: Connection;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chainstore-processes-'));
    file = join(dir, 'shared.db');
    conn = await connect({ backend: 'sqlite', name: file });
    await schema.initDatabase(conn);
  });

  afterEach(async () => {
    await conn.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers writes made by another process to a changefeed, in order, once each', async () => {
    const feed = await changefeed.getChangefeed(conn, 'transactions', ChangeFeed.INSERT);
    const count = 200;
    const done = writer(file, 'feed', count);
    const seen: string[] = [];
    for await (const event of feed) {
      seen.push((event.record as Transaction).id);
      if (seen.length === count) break;
    }
    expect(await done).to.deep.equal({ written: count, duplicates: 0, errors: [] });
    expect(seen).to.deep.equal(Array.from({ length: count }, (_, i) => hexId(`feed/${i}`)));
  });

  it('keeps every write of concurrent writers, and one of two racing writers gets DuplicateKeyError', async () => {
    const shared = hexId('race/shared');
    const results = await Promise.all([writer(file, 'a', 150, shared), writer(file, 'b', 150, shared)]);
    for (const result of results) expect(result.errors, 'no error but duplicates reaches a writer').to.deep.equal([]);
    expect(results.map((r) => r.duplicates).sort(), 'exactly one writer loses the race').to.deep.equal([0, 1]);
    const ids = ['a', 'b'].flatMap((label) => Array.from({ length: 150 }, (_, i) => hexId(`${label}/${i}`)));
    expect(await query.getTransactions(conn, [...ids, shared])).to.have.length(301);
  });
});
