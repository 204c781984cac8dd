/**
 * `npm run bench`: measures the layer against direct calls and hand-written SQL on the same
 * engines, and writes bench/RESULTS.md (tables) and bench/results.json. Never part of
 * `npm test`.
 *
 *   npm run bench                       everything (about 20-30 minutes)
 *   npm run bench -- --only dispatch    some sections: dispatch, writes, scaling, commit, changefeed, node, migrate
 *   npm run bench -- --only node        the node alone: transactions posted over HTTP and committed
 *   npm run bench -- --quick            smaller sizes, to try the harness (results not written)
 *
 * PostgreSQL: CHAINSTORE_BENCH_POSTGRES_URL names a server where databases may be created
 * (default postgres://postgres@127.0.0.1:5432/postgres); without one, only SQLite is measured.
 * With CHAINSTORE_BENCH_POSTGRES_IN_PLACE=1 the database of that URL is used itself, emptied
 * before each measurement, and no database is created.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { changefeedSection } from './cases/changefeed';
import { commitSection } from './cases/commit';
import { dispatchSection } from './cases/dispatch';
import { migrateSection } from './cases/migrate';
import { nodeSection } from './cases/node';
import { scalingSection } from './cases/scaling';
import { writesAndReadsSections } from './cases/writes-and-reads';
import { type EngineName, postgresReachable } from './support/engines';
import { type Section, holds, markdown } from './support/report';

const SECTIONS = ['dispatch', 'writes', 'scaling', 'commit', 'changefeed', 'node', 'migrate'] as const;
type SectionName = (typeof SECTIONS)[number];
/** Section ids in the order RESULTS.md lists them. */
const ORDER = ['dispatch', 'bulk-writes', 'point-reads', 'scaling', 'commit', 'changefeed', 'node', 'migrate'];

function parseArgs(argv: readonly string[]): { only: SectionName[]; quick: boolean } {
  const quick = argv.includes('--quick');
  const at = argv.indexOf('--only');
  const only = at >= 0 ? (argv[at + 1] ?? '').split(',').filter(Boolean) : [...SECTIONS];
  const unknown = only.filter((name) => !(SECTIONS as readonly string[]).includes(name));
  if (unknown.length) throw new Error(`unknown section(s) ${unknown.join(', ')}; known: ${SECTIONS.join(', ')}`);
  return { only: only as SectionName[], quick };
}

async function main(): Promise<void> {
  const { only, quick } = parseArgs(process.argv.slice(2));
  const engines: EngineName[] = ['sqlite'];
  if (await postgresReachable()) engines.push('postgres');
  else console.log('PostgreSQL is not reachable (set CHAINSTORE_BENCH_POSTGRES_URL): measuring SQLite only');

  const sections: Section[] = [];
  const run = async (name: SectionName, make: () => Promise<Section | Section[]>) => {
    if (!only.includes(name)) return;
    const started = Date.now();
    process.stdout.write(`${name} ... `);
    const made = await make();
    sections.push(...(Array.isArray(made) ? made : [made]));
    console.log(`${Math.round((Date.now() - started) / 1000)} s`);
  };
  await run('dispatch', dispatchSection);
  await run('writes', () => writesAndReadsSections(engines, quick));
  await run('scaling', () => scalingSection(engines, quick));
  await run('commit', () => commitSection(engines, quick));
  await run('changefeed', () => changefeedSection(engines, quick));
  await run('node', () => nodeSection(engines, quick));
  // PostgreSQL is the target: without a server there is nothing to migrate to.
  if (engines.includes('postgres')) await run('migrate', () => migrateSection(quick));
  else if (only.includes('migrate')) console.log('migrate: skipped, it needs PostgreSQL as the target');

  const context = {
    date: new Date().toISOString().slice(0, 10),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    engines: engines.join(', '),
  };
  for (const t of sections.flatMap((s) => s.targets)) console.log(`${holds(t) ? 'holds' : 'MISSED'}  ${t.name}: ${t.value} (${t.kind === 'max' ? '≤' : '≥'} ${t.bound})`);
  if (quick) {
    console.log(markdown(sections, context));
    return;
  }
  // A partial run (--only) replaces its own sections and keeps the others of the last run.
  const file = join(__dirname, 'results.json');
  const previous: Section[] = only.length < SECTIONS.length && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { sections: Section[] }).sections : [];
  const fresh = new Set(sections.map((s) => s.id));
  const merged = [...previous.filter((s) => !fresh.has(s.id)), ...sections].sort((a, b) => ORDER.indexOf(a.id) - ORDER.indexOf(b.id));
  writeFileSync(join(__dirname, 'RESULTS.md'), markdown(merged, context));
  writeFileSync(file, `${JSON.stringify({ context, sections: merged }, null, 2)}\n`);
  console.log('wrote bench/RESULTS.md and bench/results.json');
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
