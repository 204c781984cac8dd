/**
 * One migration in a process of its own, so that its peak memory is its own: SQLite file
 * argv[2] to PostgreSQL URL argv[3]. Prints one JSON line: time, peak resident memory, and
 * whether both sides' checksums matched.
 */
import { connect, migrateLedger } from '../../lib';

async function main(): Promise<void> {
  const [source, target] = process.argv.slice(2);
  const from = await connect({ backend: 'sqlite', name: source }, {});
  const to = await connect({ backend: 'postgres', url: target }, {});
  const started = process.hrtime.bigint();
  let heapPeak = 0;
  const sampler = setInterval(() => (heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)), 200);
  const report = await migrateLedger(from, to);
  clearInterval(sampler);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  await Promise.all([from.close(), to.close()]);
  const written = Object.values(report.written).reduce((a, b) => a + b, 0);
  console.log(JSON.stringify({ ms, maxRssMiB: process.resourceUsage().maxRSS / 1024, heapPeakMiB: heapPeak / 2 ** 20, differing: report.differing, written }));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
