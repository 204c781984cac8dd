/**
 * Changefeeds: write-to-event latency (from the start of a writeTransaction call to the
 * feed delivering its event, one write at a time) and sustained events per second while
 * batches of 1,000 are written back to back.
 */
import { ChangeFeed, type ChangeEvent, changefeed, query } from '../../lib';
import { type EngineName, openLayer } from '../support/engines';
import { now, percentile, round } from '../support/measure';
import type { Row, Section } from '../support/report';
import { transactions } from '../support/workload';

export async function changefeedSection(engines: readonly EngineName[], quick: boolean): Promise<Section> {
  const rows: Row[] = [];
  const single = quick ? 50 : 300;
  const bulk = quick ? 5_000 : 20_000;
  for (const engine of engines) {
    const { conn, close } = await openLayer(engine);
    try {
      const feed = await changefeed.getChangefeed(conn, 'transactions', ChangeFeed.INSERT);
      const events: AsyncIterator<ChangeEvent> = feed[Symbol.asyncIterator]();
      const samples: number[] = [];
      for (const tx of transactions('bench/feed/single', single)) {
        // The consumer is already waiting (idle) when the write starts, as a listener would be.
        const next = events.next();
        await new Promise((resolve) => setTimeout(resolve, 5));
        const start = now();
        await query.writeTransaction(conn, tx);
        const { value } = await next;
        samples.push(now() - start);
        if ((value as ChangeEvent<{ id: string }>).record.id !== tx.id) throw new Error('the feed delivered another transaction than the one written');
      }
      const batches = transactions('bench/feed/bulk', bulk);
      const start = now();
      const writing = (async () => {
        for (let i = 0; i < batches.length; i += 1000) await query.writeTransactions(conn, batches.slice(i, i + 1000));
      })();
      for (let seen = 0; seen < bulk; seen += 1) await events.next();
      const elapsed = now() - start;
      await writing;
      await feed.close();
      rows.push({
        engine,
        'latency p50 (ms)': round(percentile(samples, 50) / 1e6),
        'latency p99 (ms)': round(percentile(samples, 99) / 1e6),
        'events/s (batches of 1,000)': Math.round(bulk / (elapsed / 1e9)),
      });
    } finally {
      await close();
    }
  }
  return {
    id: 'changefeed',
    title: 'Changefeed',
    method: `A feed on transaction inserts, in the writing process. Latency: ${single} single writeTransaction calls, each made while the consumer waits for its next event, timed from the call to the delivery. Throughput: ${bulk.toLocaleString('en')} transactions written in batches of 1,000 while the feed reads, from the first write to the last event.`,
    columns: ['engine', 'latency p50 (ms)', 'latency p99 (ms)', 'events/s (batches of 1,000)'],
    rows,
    targets: [],
    notes: [],
  };
}
