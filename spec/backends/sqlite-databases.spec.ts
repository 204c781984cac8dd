/**
 * What `name` means in the schema generics on SQLite: a database file, resolved like the
 * `name` option. Another file than the connection's is created, given its tables, inspected
 * and deleted; the connection's own file (however its path is spelled) is the connection's
 * database, which a drop empties of every table; `':memory:'` names a database only on a
 * `':memory:'` connection.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { type Connection, OperationError, UnsupportedOperationError, admin, connect, query, schema } from '../../lib';
import { block, createTx } from '../conformance/fixtures';

/** The tables of a database file, read straight from it. */
function tablesOf(file: string): string[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
  } finally {
    db.close();
  }
}

describe('sqlite schema generics: `name` is a database file', function () {
  let dir: string;
  let own: Connection;
  let ownFile: string;
  const stored = createTx({ metadata: { database: 'own' } });

  beforeEach(async function () {
    dir = mkdtempSync(join(tmpdir(), 'chainstore-databases-'));
    ownFile = join(dir, 'own.db');
    own = await connect({ backend: 'sqlite', name: ownFile });
    await schema.initDatabase(own);
    await query.writeTransaction(own, stored);
    await query.storeBlock(own, block(1, [stored]));
  });

  afterEach(async function () {
    await own.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function ownRecordsAreThere(): Promise<void> {
    expect(await schema.isInitialized(own), "the connection's own database").to.equal(true);
    expect(await query.getTransaction(own, stored.id)).to.deep.equal(stored);
    expect(await query.getLatestBlock(own)).to.deep.equal(block(1, [stored]));
    expect(await admin.countRecords(own)).to.deep.include({ transactions: 1, blocks: 1 });
  }

  it("drops another file, made and filled through a connection of its own, by deleting it with its -wal and -shm; the connection's own records stay", async function () {
    const otherFile = join(dir, 'dummy_db.db');
    const other = await connect({ backend: 'sqlite', name: otherFile });
    await schema.initDatabase(other);
    await query.writeTransaction(other, createTx());
    await other.close();
    // What a process that ended without closing leaves next to the file.
    writeFileSync(`${otherFile}-wal`, '');
    writeFileSync(`${otherFile}-shm`, '');
    await schema.dropDatabase(own, otherFile);
    await ownRecordsAreThere();
    for (const file of [otherFile, `${otherFile}-wal`, `${otherFile}-shm`]) expect(existsSync(file), file).to.equal(false);
    expect(await schema.isInitialized(own, otherFile)).to.equal(false);
  });

  it('makes another file and its tables with initDatabase(conn, name), a directory included, and leaves it closed', async function () {
    const otherFile = join(dir, 'nested', 'deeper', 'dummy_db.db');
    await schema.createDatabase(own, otherFile);
    expect(existsSync(otherFile), 'the file').to.equal(true);
    expect(existsSync(`${otherFile}-wal`), 'a WAL left means the file is still open').to.equal(false);
    expect(await schema.isInitialized(own, otherFile), 'created, without tables').to.equal(false);
    await schema.initDatabase(own, otherFile);
    expect(existsSync(`${otherFile}-wal`), 'closed again').to.equal(false);
    expect(tablesOf(otherFile)).to.deep.equal(tablesOf(ownFile));
    // Opened with the connection's settings: WAL mode is kept in the file.
    expect(readFileSync(otherFile)[18], 'file format version 2: WAL').to.equal(2);
    await ownRecordsAreThere();
  });

  it('inspects another file that does not exist without creating it or its directory', async function () {
    const missing = join(dir, 'absent', 'dummy_db.db');
    expect(await schema.isInitialized(own, missing)).to.equal(false);
    expect(existsSync(join(dir, 'absent'))).to.equal(false);
    await schema.dropDatabase(own, missing);
    await schema.dropDatabase(own, missing);
    expect(existsSync(join(dir, 'absent'))).to.equal(false);
    await ownRecordsAreThere();
  });

  it("takes the connection's own file however its path is spelled, and a link to it, as the connection's own database", async function () {
    const link = join(dir, 'link.db');
    symlinkSync(ownFile, link);
    for (const name of [relative(process.cwd(), ownFile), `${dir}/./own.db`, link]) {
      await schema.initDatabase(own, name);
      expect(await schema.isInitialized(own, name), name).to.equal(true);
    }
    await ownRecordsAreThere();
    // Dropping the own database empties it of every table and keeps the open file.
    await schema.dropDatabase(own, link);
    expect(existsSync(ownFile), 'the open file is kept').to.equal(true);
    expect(existsSync(link), 'the link is kept').to.equal(true);
    expect(await schema.isInitialized(own)).to.equal(false);
    expect(tablesOf(ownFile)).to.deep.equal([]);
  });

  it('refuses to delete a file that is not an SQLite database, keeping it', async function () {
    const notes = join(dir, 'notes.txt');
    writeFileSync(notes, 'not a database');
    await expect(schema.dropDatabase(own, notes)).to.be.rejectedWith(OperationError, /is not an SQLite database; it was not deleted/);
    expect(readFileSync(notes, 'utf8')).to.equal('not a database');
    await ownRecordsAreThere();
  });

  it("refuses ':memory:' on a file connection, with UnsupportedOperationError, for each generic", async function () {
    for (const call of [
      () => schema.createDatabase(own, ':memory:'),
      () => schema.createTables(own, ':memory:'),
      () => schema.dropDatabase(own, ':memory:'),
      () => schema.isInitialized(own, ':memory:'),
      () => schema.initDatabase(own, ':memory:'),
    ]) {
      await expect(call()).to.be.rejectedWith(UnsupportedOperationError, /^\[sqlite\] .*':memory:': a private in-memory database exists only inside the connection that opens it/);
    }
    await ownRecordsAreThere();
  });

  it("takes ':memory:' on a ':memory:' connection as its own database, and a file name as that file", async function () {
    const memory = await connect({ backend: 'sqlite', name: ':memory:' });
    try {
      await schema.initDatabase(memory, ':memory:');
      await query.writeTransaction(memory, stored);
      expect(await schema.isInitialized(memory, ':memory:')).to.equal(true);
      const otherFile = join(dir, 'from-memory.db');
      await schema.initDatabase(memory, otherFile);
      expect(tablesOf(otherFile)).to.deep.equal(tablesOf(ownFile));
      await schema.dropDatabase(memory, otherFile);
      expect(existsSync(otherFile)).to.equal(false);
      expect(await query.getTransaction(memory, stored.id)).to.deep.equal(stored);
      await schema.dropDatabase(memory, ':memory:');
      expect(await schema.isInitialized(memory)).to.equal(false);
    } finally {
      await memory.close();
    }
  });

});
