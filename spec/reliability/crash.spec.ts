/**
 * Crashes: writer processes killed with SIGKILL at random moments while they commit blocks,
 * on SQLite and PostgreSQL, through each engine's atomic commitBlock and through the
 * step-by-step protocol that recover() repairs. After every kill the ledger invariants are
 * checked (see crash-harness.ts).
 *
 * Every kill is followed at once by the next process: its recover() and the next writer
 * start the moment the killed writer is gone, waiting for nothing (on PostgreSQL, the writer
 * lease makes recover() wait for the dead writer's sessions). CHAINSTORE_RELIABILITY_SETTLE=1
 * waits instead until the server has ended the dead writer's sessions (the older, weaker run).
 *
 * `npm test` makes 10 kills per engine and variant (CHAINSTORE_RELIABILITY_KILLS changes
 * it; `npm run test:reliability` makes 200). CHAINSTORE_RELIABILITY_SEED replays a run's
 * chain and kill plan; CHAINSTORE_RELIABILITY_VERBOSE prints one line per kill.
 */
import { expect } from 'chai';
import { type CommitVariant, type CrashRunResult, type EngineName, type RestartMode, finalLine, runCrashLoop, summaryLine, writerProgram } from './crash-harness';
import { skipWithoutPostgres } from '../support/postgres';

const KILLS = Number(process.env.CHAINSTORE_RELIABILITY_KILLS || 10);
const SEED = process.env.CHAINSTORE_RELIABILITY_SEED ? Number(process.env.CHAINSTORE_RELIABILITY_SEED) : undefined;
const VERBOSE = Boolean(process.env.CHAINSTORE_RELIABILITY_VERBOSE);
const RESTART: RestartMode = process.env.CHAINSTORE_RELIABILITY_SETTLE ? 'settled' : 'at-once';

const ENGINES: { engine: EngineName; skip?: (this: Mocha.Context) => Promise<void> }[] = [
  { engine: 'sqlite' },
  { engine: 'postgres', skip: skipWithoutPostgres },
];
const VARIANTS: { variant: CommitVariant; how: string }[] = [
  { variant: 'atomic', how: "the engine's atomic commitBlock" },
  { variant: 'steps', how: 'the step-by-step protocol, repaired by recover()' },
];

describe('crashes: writers killed at random moments', function () {
  // Up to three times KILLS kills, well under a second each; generous for a loaded machine.
  this.timeout(60_000 + KILLS * 3 * 3_000);
  const results: CrashRunResult[] = [];

  before(async () => {
    await writerProgram();
  });

  after(() => {
    if (results.length) console.log(`    ${finalLine(results)}`);
  });

  for (const { engine, skip } of ENGINES) {
    describe(engine, () => {
      if (skip) before(skip);

      for (const { variant, how } of VARIANTS) {
        const restarted = RESTART === 'at-once' ? 'each restarted at once' : 'each restarted once its sessions ended';
        it(`keeps every invariant through ${KILLS} kills of writers committing with ${how}, ${restarted}`, async () => {
          const result = await runCrashLoop(engine, variant, {
            kills: KILLS,
            restart: RESTART,
            seed: SEED,
            log: VERBOSE ? (line) => console.log(`      ${line}`) : undefined,
          });
          results.push(result);
          console.log(`      ${summaryLine(result)}`);

          expect(result.inconsistencies, `broken invariants (database kept: ${result.keptDatabase})`).to.deep.equal([]);
          expect(result.kills).to.be.at.least(KILLS);
          expect(result.killedIn.commit, 'kills that landed inside a commit').to.be.above(0);
          // Every kill is checked, by a recovery right after it or (deferred) after the next one.
          expect(result.checks + result.deferred, 'kills checked or left to the next writer').to.be.at.least(result.kills);
          expect(result.checks, 'recoveries checked').to.be.above(0);
          if (variant === 'steps') {
            expect(result.rollbacks + result.writerRollbacks, 'recoveries that rolled a block back').to.be.above(0);
          } else {
            expect(result.rollbacks, 'atomic commits leave nothing to roll back').to.equal(0);
          }
        });
      }
    });
  }
});
