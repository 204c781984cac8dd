/**
 * Moving a ledger between engines: exportLedger, importLedger, migrateLedger, the ledger
 * file, and the `export`, `import` and `migrate` subcommands, on SQLite and PostgreSQL.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../lib/cli';
import {
  type Connection,
  type LedgerEntry,
  TABLES,
  ValidationError,
  admin,
  compareDigests,
  connect,
  digestLedger,
  exportLedger,
  importLedger,
  migrateLedger,
  query,
  readLedgerFile,
  schema,
  writeLedgerFile,
} from '../lib';
import { block, createTx, freshId, spend, transferTx } from './conformance/fixtures';
import { otherPostgres, skipWithoutPostgres } from './support/postgres';

/**
 * A ledger with a record in every table, written in an order that is not id order: blocks
 * of CREATEs and TRANSFERs, a transaction in no block, loose assets and metadata, the chain
 * state. Returns the asset whose transfers getTxidsFiltered must list in write order.
 */
async function fillLedger(conn: Connection, blocks = 4): Promise<string> {
  const first = createTx({ data: { kind: 'coin' }, metadata: { note: 'minted' } });
  let tip = first;
  await query.commitBlock(conn, block(1, [first]), [first]);
  for (let height = 2; height <= blocks; height += 1) {
    const moved = transferTx([spend(tip)], { metadata: { step: height } });
    const created = [createTx({ data: { n: height } }), createTx({ metadata: null })];
    const txs = [created[0], moved, created[1]];
    await query.commitBlock(conn, block(height, txs), txs);
    tip = moved;
  }
  await query.writeTransaction(conn, createTx({ data: { pending: true } }));
  await query.storeAsset(conn, { id: freshId('asset'), data: 'loose' });
  await query.storeMetadatas(conn, [{ id: freshId('metadata'), metadata: { loose: [1, 2.5, null] } }]);
  await query.storeValidatorSet(conn, { height: 1, validators: [{ power: 10 }] });
  await query.storeElections(conn, [{ election_id: 'upgrade', height: 2, is_concluded: true }]);
  await query.storeAbciChain(conn, 1, 'chain-a', true);
  return first.id;
}

const sqliteMemory = () => connect({ backend: 'sqlite', name: ':memory:' });

async function collect(entries: AsyncIterable<LedgerEntry>): Promise<LedgerEntry[]> {
  const out: LedgerEntry[] = [];
  for await (const entry of entries) out.push(entry);
  return out;
}

/** Runs the command in-process; stdin is never read by these subcommands. `tty`: stderr claims to be a terminal. */
async function cli(args: string[], tty = false): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { text: '', write: (chunk: string) => (out.text += chunk) };
  const err = { text: '', write: (chunk: string) => (err.text += chunk), isTTY: tty, columns: 120 };
  const stdin = Object.assign(Readable.from([]), { isTTY: false });
  const code = await main(args, { stdout: out, stderr: err, stdin, env: {} });
  return { code, stdout: out.text, stderr: err.text };
}

describe('moving a ledger between engines', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chainstore-migrate-'));
  });
  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('exportLedger and importLedger (SQLite to SQLite)', function () {
    it('copies every record of every table, transactions in write order, and both checksums match', async function () {
      const [from, to] = [await sqliteMemory(), await sqliteMemory()];
      await schema.initDatabase(from);
      await schema.initDatabase(to);
      const assetId = await fillLedger(from);
      const report = await importLedger(to, exportLedger(from, { pageSize: 3 }), { batchSize: 4 });
      expect(await admin.countRecords(to)).to.deep.equal(await admin.countRecords(from));
      expect(compareDigests(report.digest, await digestLedger(to))).to.deep.equal([]);
      expect(compareDigests(await digestLedger(from), await digestLedger(to))).to.deep.equal([]);
      expect(await query.getTxidsFiltered(to, assetId)).to.deep.equal(await query.getTxidsFiltered(from, assetId));
      expect(await query.getTxidsFiltered(to, assetId, { lastTx: true })).to.deep.equal(await query.getTxidsFiltered(from, assetId, { lastTx: true }));
      expect(await query.getPreCommitState(to)).to.deep.equal(await query.getPreCommitState(from));
      expect(await query.getUnspentOutputs(to)).to.deep.equal(await query.getUnspentOutputs(from));
      for (const table of TABLES) expect(report.written[table], table).to.equal((await admin.countRecords(from))[table] - report.skipped[table]);
      await Promise.all([from.close(), to.close()]);
    });

    it('writes nothing twice when run again, or after an import cut short', async function () {
      const [from, to] = [await sqliteMemory(), await sqliteMemory()];
      await schema.initDatabase(from);
      await schema.initDatabase(to);
      await fillLedger(from);
      const entries = await collect(exportLedger(from));
      // Cut short: the first half of the entries, then everything.
      await importLedger(to, entries.slice(0, Math.floor(entries.length / 2)), { batchSize: 2 });
      const again = await importLedger(to, entries, { batchSize: 5 });
      expect(again.skipped.transactions).to.be.above(0);
      const third = await importLedger(to, entries);
      expect(third.written.transactions + third.written.assets + third.written.metadata + third.written.blocks).to.equal(0);
      expect(await admin.countRecords(to)).to.deep.equal(await admin.countRecords(from));
      expect(compareDigests(await digestLedger(from), await digestLedger(to))).to.deep.equal([]);
      await Promise.all([from.close(), to.close()]);
    });

    it('tells a copy whose transactions are in another order, or whose records differ, from an exact one', async function () {
      const [from, to] = [await sqliteMemory(), await sqliteMemory()];
      await schema.initDatabase(from);
      await schema.initDatabase(to);
      await fillLedger(from);
      const entries = await collect(exportLedger(from));
      const txs = entries.filter((e) => e.table === 'transactions');
      const reordered = [...txs.slice(1), txs[0], ...entries.filter((e) => e.table !== 'transactions')];
      await importLedger(to, reordered);
      const source = await digestLedger(from);
      expect(compareDigests(source, await digestLedger(to))).to.deep.equal(['transactions']);
      const [utxo] = await query.getUnspentOutputs(to);
      await query.deleteUnspentOutputs(to, [utxo]);
      expect(compareDigests(source, await digestLedger(to))).to.deep.equal(['transactions', 'utxos']);
      await Promise.all([from.close(), to.close()]);
    });

    it('refuses an entry of no table, naming its place, after writing the batches before it', async function () {
      const conn = await sqliteMemory();
      await schema.initDatabase(conn);
      const good = createTx();
      const entries = [{ table: 'transactions', record: good }, { table: 'wallets', record: {} }] as LedgerEntry[];
      const error = await importLedger(conn, entries, { batchSize: 1 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(ValidationError);
      expect((error as ValidationError).message).to.match(/entry 2/);
      expect(await query.getTransaction(conn, good.id)).to.deep.equal(good);
      await conn.close();
    });

    it('refuses a bad record with ValidationError naming the entries it came in', async function () {
      const conn = await sqliteMemory();
      await schema.initDatabase(conn);
      const bad = { ...createTx(), id: 'not-hex' };
      const error = await importLedger(conn, [{ table: 'transactions', record: bad } as LedgerEntry]).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(ValidationError);
      expect((error as ValidationError).message).to.match(/^entries 1 to 1 \(transactions\): /);
      expect(await admin.countRecords(conn)).to.include({ transactions: 0 });
      await conn.close();
    });
  });

  describe('ledger files', function () {
    it('writes one entry a line, renamed into place once complete, and reads back what was written', async function () {
      const conn = await sqliteMemory();
      await schema.initDatabase(conn);
      await fillLedger(conn, 2);
      const file = path.join(dir, 'ledger.jsonl');
      const lines = await writeLedgerFile(file, exportLedger(conn));
      const counts = await admin.countRecords(conn);
      expect(lines).to.equal(TABLES.reduce((n, t) => n + counts[t], 0));
      expect(fs.readFileSync(file, 'utf8').trimEnd().split('\n')).to.have.length(lines);
      expect(fs.existsSync(`${file}.partial`)).to.equal(false);
      expect(await collect(readLedgerFile(file))).to.deep.equal(await collect(exportLedger(conn)));
      await conn.close();
    });

    it('leaves no file behind when the export fails', async function () {
      const conn = await sqliteMemory();
      // No tables: the first page fails.
      const file = path.join(dir, 'ledger.jsonl');
      const error = await writeLedgerFile(file, exportLedger(conn)).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(Error);
      expect(fs.readdirSync(dir)).to.deep.equal([]);
      await conn.close();
    });

    it('refuses a line that is not JSON, naming the file and the line', async function () {
      const file = path.join(dir, 'broken.jsonl');
      fs.writeFileSync(file, `${JSON.stringify({ table: 'blocks', record: block(1) })}\n\n{"table": "blocks", \n`);
      const error = await collect(readLedgerFile(file)).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(ValidationError);
      expect((error as Error).message).to.include(`${file}, line 3: not JSON`);
    });
  });

  describe('the export, import and migrate subcommands', function () {
    it('export --out, then import into a new SQLite file: the report says both sides match', async function () {
      const source = path.join(dir, 'source.db');
      const conn = await connect({ backend: 'sqlite', name: source });
      await schema.initDatabase(conn);
      await fillLedger(conn);
      await conn.close();
      const file = path.join(dir, 'ledger.jsonl');
      const exported = await cli(['--url', `sqlite://${source}`, 'export', '--out', file]);
      expect(exported.code, exported.stderr).to.equal(0);
      expect(exported.stderr).to.match(/exported \d+ records from sqlite/);
      const target = path.join(dir, 'target.db');
      const imported = await cli(['--url', `sqlite://${target}`, 'import', file]);
      expect(imported.code, imported.stderr).to.equal(0);
      expect(imported.stdout).to.include('counts and checksums of both sides match');
      expect(imported.stderr).to.match(/imported \d+ records, done/);
      const again = await cli(['--url', `sqlite://${target}`, '--json', 'import', file]);
      expect(again.code, again.stderr).to.equal(0);
      const report = JSON.parse(again.stdout);
      expect(report.differing).to.deep.equal([]);
      expect(report.written.transactions).to.equal(0);
      expect(report.skipped.transactions).to.equal(report.target.transactions.count);
    });

    it('import into a database that holds other records: exit code 1, naming the tables that differ', async function () {
      const source = path.join(dir, 'source.db');
      const conn = await connect({ backend: 'sqlite', name: source });
      await schema.initDatabase(conn);
      await fillLedger(conn, 2);
      await conn.close();
      const file = path.join(dir, 'ledger.jsonl');
      expect((await cli(['--url', `sqlite://${source}`, 'export', '--out', file])).code).to.equal(0);
      const target = path.join(dir, 'target.db');
      const other = await connect({ backend: 'sqlite', name: target });
      await schema.initDatabase(other);
      await query.storeBlock(other, block(99));
      await other.close();
      const imported = await cli(['--url', `sqlite://${target}`, 'import', file]);
      expect(imported.code).to.equal(1);
      expect(imported.stdout).to.match(/blocks .* DIFFERS/);
      expect(imported.stderr).to.match(/\nchainstore import: the copy differs from its source in blocks \(counts or checksums; see the report\)\n$/);
    });

    it('draws a progress bar when stderr is a terminal, instead of progress lines', async function () {
      const source = path.join(dir, 'source.db');
      const conn = await connect({ backend: 'sqlite', name: source });
      await schema.initDatabase(conn);
      await fillLedger(conn, 2);
      const records = Object.values(await admin.countRecords(conn)).reduce((a, b) => a + b, 0);
      await conn.close();
      const run = await cli(['migrate', '--from', `sqlite://${source}`, '--to', `sqlite://${path.join(dir, 'target.db')}`], true);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stderr).to.include(`migrated [`);
      expect(run.stderr).to.include(`100% | ${records}/${records} records`);
      expect(run.stderr).not.to.match(/chainstore: migrated \d+/);
    });

    it('migrate needs --from and --to', async function () {
      const run = await cli(['migrate', '--from', `sqlite://${path.join(dir, 'a.db')}`]);
      expect(run.code).to.equal(2);
      expect(run.stderr).to.match(/--to/);
    });

    it('names the subcommand in its errors, and under --json reports them as JSON', async function () {
      const missing = path.join(dir, 'missing.jsonl');
      const plain = await cli(['--url', `sqlite://${path.join(dir, 't.db')}`, 'import', missing]);
      expect(plain.code).to.equal(2);
      expect(plain.stderr).to.match(/^chainstore import: cannot read ledger file .*missing\.jsonl: no such file$/m);
      const json = await cli(['--json', '--url', `sqlite://${path.join(dir, 't.db')}`, 'import', missing]);
      expect(json.code).to.equal(2);
      const last = JSON.parse(json.stderr.trim().split('\n').pop() ?? '{}');
      expect(last.error.command).to.equal('import');
    });
  });

  describe('SQLite to PostgreSQL and back', function () {
    const target = otherPostgres('migrate');
    before(skipWithoutPostgres);
    beforeEach(async function () {
      const conn = await target.connect();
      await schema.dropDatabase(conn, target.name).catch(() => undefined);
      await conn.close();
    });
    after(async function () {
      const conn = await target.connect();
      await schema.dropDatabase(conn, target.name).catch(() => undefined);
      await conn.close();
    });

    it('migrateLedger makes the target\'s tables, copies everything in write order, and the checksums match both ways', async function () {
      const from = await connect({ backend: 'sqlite', name: path.join(dir, 'source.db') });
      await schema.initDatabase(from);
      const assetId = await fillLedger(from, 6);
      const to = await target.connect();
      const report = await migrateLedger(from, to, { batchSize: 3 });
      expect(report.differing).to.deep.equal([]);
      expect(report.target).to.deep.equal(report.digest);
      expect(await query.getTxidsFiltered(to, assetId)).to.deep.equal(await query.getTxidsFiltered(from, assetId));
      expect(await query.getTxidsFiltered(to, assetId, { operation: 'TRANSFER', lastTx: true })).to.deep.equal(
        await query.getTxidsFiltered(from, assetId, { operation: 'TRANSFER', lastTx: true }),
      );
      expect(await query.textSearch(to, 'minted', { table: 'metadata' })).to.have.length(1);
      const back = await connect({ backend: 'sqlite', name: path.join(dir, 'back.db') });
      const returned = await migrateLedger(to, back);
      expect(returned.differing).to.deep.equal([]);
      expect(await digestLedger(back)).to.deep.equal(await digestLedger(from));
      await Promise.all([from.close(), to.close(), back.close()]);
    });

    it('the migrate subcommand, run twice: the second run writes nothing and still matches', async function () {
      const source = path.join(dir, 'source.db');
      const conn = await connect({ backend: 'sqlite', name: source });
      await schema.initDatabase(conn);
      await fillLedger(conn);
      await conn.close();
      const to = (await target.connect()).config;
      const url = `postgres://${to.login ?? 'postgres'}@${to.host}:${to.port}/${target.name}`;
      const first = await cli(['migrate', '--from', `sqlite://${source}`, '--to', url]);
      expect(first.code, first.stderr).to.equal(0);
      expect(first.stdout).to.include('counts and checksums of both sides match');
      expect(first.stderr).to.match(/migrated \d+\/\d+ records \(100\.0%\), done/);
      const second = await cli(['--json', 'migrate', '--from', `sqlite://${source}`, '--to', url]);
      expect(second.code, second.stderr).to.equal(0);
      const report = JSON.parse(second.stdout);
      expect(report.differing).to.deep.equal([]);
      expect(report.written).to.include({ transactions: 0, assets: 0, metadata: 0, blocks: 0 });
    });
  });
});
