/**
 * Whole tables: listRecords reads every record of a table in pages, transactions in the
 * order they were written, nothing missed or repeated across pages.
 */
import { expect } from './expect';
import { type Connection, type RecordPage, TABLES, type TableName, canonicalJson, query } from '../../lib';
import { expectValidationError } from './assertions';
import type { ConformanceContext } from './context';
import { block, createTx, freshId, spend, transferTx, utxosOf } from './fixtures';

/** Every record of `table`, page after page of `limit`, with the size of each page. */
async function readAll(conn: Connection, table: TableName, limit?: number): Promise<{ records: unknown[]; sizes: number[] }> {
  const records: unknown[] = [];
  const sizes: number[] = [];
  let after: string | null = null;
  do {
    const page: RecordPage = await query.listRecords(conn, table, limit === undefined ? { after } : { after, limit });
    records.push(...page.records);
    sizes.push(page.records.length);
    after = page.next;
    expect(sizes.length, 'pages read').to.be.below(1000);
  } while (after);
  return { records, sizes };
}

/** A table's records as canonical texts in a fixed order, for tables whose reading order is the engine's. */
const sorted = (records: unknown[]) => records.map((r) => canonicalJson(r)).sort();

export function describePages(ctx: ConformanceContext): void {
  describe('listRecords', function () {
    it('reads an empty table as one empty page, for every table', async function () {
      for (const table of TABLES) expect(await query.listRecords(ctx.conn, table), table).to.deep.equal({ records: [], next: null });
    });

    it('reads transactions in the order they were written, across pages, none missed or repeated', async function () {
      const txs = Array.from({ length: 23 }, () => createTx({ data: { n: freshId('data') } }));
      // Ids are random: write order is not id order.
      await query.writeTransactions(ctx.conn, txs.slice(0, 10));
      for (const tx of txs.slice(10, 13)) await query.writeTransaction(ctx.conn, tx);
      await query.writeTransactions(ctx.conn, txs.slice(13));
      const { records, sizes } = await readAll(ctx.conn, 'transactions', 5);
      expect(records).to.deep.equal(txs);
      expect(sizes).to.deep.equal([5, 5, 5, 5, 3]);
    });

    it('ends with next null when the last page is exactly full', async function () {
      const txs = [createTx(), createTx(), createTx(), createTx()];
      await query.writeTransactions(ctx.conn, txs);
      const first = await query.listRecords(ctx.conn, 'transactions', { limit: 2 });
      expect(first.records).to.deep.equal(txs.slice(0, 2));
      expect(first.next).to.be.a('string');
      const second = await query.listRecords(ctx.conn, 'transactions', { limit: 2, after: first.next });
      expect(second).to.deep.equal({ records: txs.slice(2), next: null });
    });

    it('shows in later pages what is written after the cursor, in write order', async function () {
      const [a, b, c] = [createTx(), createTx(), createTx()];
      await query.writeTransactions(ctx.conn, [a, b]);
      const first = await query.listRecords(ctx.conn, 'transactions', { limit: 1 });
      expect(first.records).to.deep.equal([a]);
      await query.writeTransaction(ctx.conn, c);
      const rest = await query.listRecords(ctx.conn, 'transactions', { after: first.next });
      expect(rest).to.deep.equal({ records: [b, c], next: null });
    });

    it('returns every table\'s records as its point reads do', async function () {
      const created = createTx({ data: { kind: 'pages' }, metadata: { note: 'listed' } });
      const moved = transferTx([spend(created)], { metadata: null });
      const height = 3;
      await query.commitBlock(ctx.conn, block(height, [created, moved]), [created, moved]);
      const asset = { id: freshId('asset'), data: { loose: true } };
      await query.storeAsset(ctx.conn, asset);
      const loose = { id: freshId('metadata'), metadata: ['loose'] };
      await query.storeMetadatas(ctx.conn, [loose]);
      await query.storeBlock(ctx.conn, block(1));
      await query.storeValidatorSet(ctx.conn, { height: 1, validators: [{ power: 1 }] });
      await query.storeValidatorSet(ctx.conn, { height: 2, validators: [] });
      await query.storeElections(ctx.conn, [
        { election_id: 'e-1', height: 1, is_concluded: false },
        { election_id: 'e-1', height: 2, is_concluded: true },
        { election_id: 'e-0', height: 2, is_concluded: false },
      ]);
      await query.storeAbciChain(ctx.conn, 1, 'chain-1', false);
      await query.storeAbciChain(ctx.conn, 2, 'chain-2');

      const expected: Record<TableName, unknown[]> = {
        transactions: [created, moved],
        assets: await query.getAssets(ctx.conn, [created.id, moved.id, asset.id]),
        metadata: await query.getMetadata(ctx.conn, [created.id, moved.id, loose.id]),
        blocks: [await query.getBlock(ctx.conn, 1), await query.getBlock(ctx.conn, height)],
        utxos: await query.getUnspentOutputs(ctx.conn),
        pre_commit: [await query.getPreCommitState(ctx.conn)],
        validators: [await query.getValidatorSet(ctx.conn, 1), await query.getValidatorSet(ctx.conn, 2)],
        elections: [
          { election_id: 'e-1', height: 1, is_concluded: false },
          { election_id: 'e-1', height: 2, is_concluded: true },
          { election_id: 'e-0', height: 2, is_concluded: false },
        ],
        abci_chains: [
          { height: 1, chain_id: 'chain-1', is_synced: false },
          { height: 2, chain_id: 'chain-2', is_synced: true },
        ],
      };
      expect(expected.utxos, 'the UTXO set after the commit').to.deep.equal(utxosOf(moved));
      for (const table of TABLES) {
        const unique = [...new Map(expected[table].map((r) => [canonicalJson(r), r])).values()];
        // Pages of one record: every cursor of every table is used.
        expect(sorted((await readAll(ctx.conn, table, 1)).records), table).to.deep.equal(sorted(unique));
      }
    });

    it('refuses a bad table, limit, cursor or option with ValidationError, naming it', async function () {
      await query.writeTransactions(ctx.conn, [createTx(), createTx()]);
      await expectValidationError(() => query.listRecords(ctx.conn, 'changes' as TableName), 'table');
      for (const limit of [0, -1, 1.5, 100_001, '10' as unknown as number]) {
        await expectValidationError(() => query.listRecords(ctx.conn, 'transactions', { limit }), 'options.limit');
      }
      await expectValidationError(() => query.listRecords(ctx.conn, 'transactions', { after: 'not a cursor' }), 'options.after');
      await expectValidationError(() => query.listRecords(ctx.conn, 'transactions', { after: 7 as unknown as string }), 'options.after');
      await expectValidationError(() => query.listRecords(ctx.conn, 'transactions', { offset: 1 } as never), 'options');
      const page = await query.listRecords(ctx.conn, 'transactions', { limit: 1 });
      await expectValidationError(() => query.listRecords(ctx.conn, 'blocks', { after: page.next }), 'options.after');
    });
  });
}
