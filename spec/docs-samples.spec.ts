/**
 * Every code sample of the README and the docs compiles under strict TypeScript and runs as
 * written, so that what they show stays true. TypeScript samples are type-checked together
 * and run one by one in a fresh Node process (a sample's working directory is a temporary
 * one, so the default SQLite file lands there); JavaScript samples run as ES modules against
 * the built package. A `// prints: ...` comment is checked against what the sample printed.
 * A sample marked `<!-- sample: typecheck-only: <why> -->` needs a server this machine may
 * not have (MongoDB, RethinkDB): it is type-checked, and its run is reported as skipped.
 * Samples that use PostgreSQL name the database `chainstore_example` on the server at
 * 127.0.0.1:5432 (as a reader's would be); it is dropped before and after them.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import pg from 'pg';
import {
  type CodeBlock,
  codeBlocks,
  expectedOutput,
  javascriptSampleDirectory,
  runJavascriptSample,
  runSample,
  sampleDirectory,
  typeCheckSamples,
} from './support/readme-sample';
import { POSTGRES_URL, postgresUnavailable } from './support/postgres';

const ROOT = path.resolve(__dirname, '..');
/** The database the PostgreSQL samples name. */
const EXAMPLE_DATABASE = 'chainstore_example';

/** The Markdown files whose samples are checked: the README, CONTRIBUTING and docs/ (not the generated API reference). */
function markdownFiles(): string[] {
  const files = ['README.md', 'CONTRIBUTING.md'].filter((file) => fs.existsSync(path.join(ROOT, file)));
  const walk = (dir: string): string[] =>
    fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
      const relative = path.join(dir, entry.name);
      if (entry.isDirectory()) return relative === path.join('docs', 'api') ? [] : walk(relative);
      return entry.name.endsWith('.md') ? [relative] : [];
    });
  return [...files, ...(fs.existsSync(path.join(ROOT, 'docs')) ? walk('docs') : [])];
}

interface Sample extends CodeBlock {
  file: string;
  name: string;
}

const TS = new Set(['ts', 'typescript']);
const JS = new Set(['js', 'javascript', 'mjs']);

const samples: Sample[] = markdownFiles().flatMap((file) =>
  codeBlocks(fs.readFileSync(path.join(ROOT, file), 'utf8'))
    .filter((block) => TS.has(block.lang) || JS.has(block.lang))
    .map((block) => ({ ...block, file, name: `${file.replace(/[^\w]+/g, '_')}_line_${block.line}` })),
);

/** The why of a `typecheck-only` sample, or undefined for one that runs. */
const typecheckOnly = (sample: Sample) => /^typecheck-only:\s*(.+)$/.exec(sample.directive ?? '')?.[1];

async function dropExampleDatabase(): Promise<void> {
  const client = new pg.Client(POSTGRES_URL);
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${EXAMPLE_DATABASE} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** The newest modification time under `dir`, in ms. */
function newest(dir: string): number {
  return fs.readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
    const full = path.join(dir, entry.name);
    return Math.max(latest, entry.isDirectory() ? newest(full) : fs.statSync(full).mtimeMs);
  }, 0);
}

describe('the code samples of the README and docs', function () {
  this.timeout(180_000);
  let tsDir: string;
  let jsDir: string;
  let problems: Record<string, string[]>;
  let postgres: boolean;

  before(async function () {
    expect(samples.filter((s) => TS.has(s.lang)), 'TypeScript samples found').to.not.be.empty;
    for (const sample of samples) {
      if (sample.directive !== undefined) expect(typecheckOnly(sample), `${sample.file}:${sample.line}: "${sample.directive}" is not "typecheck-only: <why>"`).to.be.a('string');
    }
    tsDir = sampleDirectory();
    problems = typeCheckSamples(tsDir, Object.fromEntries(samples.filter((s) => TS.has(s.lang)).map((s) => [s.name, s.code])));
    const why = await postgresUnavailable();
    if (why !== null && process.env.CHAINSTORE_REQUIRE_POSTGRES) throw new Error(`PostgreSQL is required but unreachable: ${why}`);
    postgres = why === null;
    if (samples.some((s) => JS.has(s.lang))) {
      jsDir = javascriptSampleDirectory();
      // JavaScript samples import the built package: rebuild it if a source is newer.
      const built = path.join(ROOT, 'dist', 'lib', 'index.js');
      const sources = Math.max(...['lib', 'backends', 'server', 'spec/conformance'].map((dir) => newest(path.join(ROOT, dir))));
      if (!fs.existsSync(built) || fs.statSync(built).mtimeMs < sources) execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.js')], { cwd: ROOT, stdio: 'ignore' });
    }
  });

  after(function () {
    for (const dir of [tsDir, jsDir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const sample of samples) {
    const where = `${sample.file}:${sample.line}`;
    const needsPostgres = sample.code.includes('postgres://');
    if (TS.has(sample.lang)) {
      it(`${where} compiles under strict TypeScript`, function () {
        expect(problems[sample.name], where).to.deep.equal([]);
      });
    }
    it(`${where} runs as written${typecheckOnly(sample) ? ` [skipped: ${typecheckOnly(sample)}]` : ''}`, async function () {
      if (typecheckOnly(sample)) this.skip();
      if (needsPostgres) {
        if (!postgres) {
          if (this.test) this.test.title += ` [skipped: no PostgreSQL server at ${POSTGRES_URL.replace(/:[^:@/]*@/, ':***@')}]`;
          this.skip();
        }
        expect(sample.code, `${where} uses the example database`).to.not.match(new RegExp(`postgres://[^'\`\\s]*/(?!${EXAMPLE_DATABASE}\\b)\\w+`));
        await dropExampleDatabase();
      }
      try {
        const printed = TS.has(sample.lang) ? runSample(tsDir, sample.name) : runJavascriptSample(jsDir, sample.name, sample.code);
        const expected = expectedOutput(sample.code);
        if (expected.length) expect(printed.trimEnd().split('\n'), `${where} prints what its // prints: lines say`).to.deep.equal(expected);
      } finally {
        if (needsPostgres) await dropExampleDatabase();
      }
    });
  }
});


describe('the links of the README and docs', function () {
  for (const file of markdownFiles()) {
    it(`${file}: every relative link names a file of the repository`, function () {
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8').replace(/```[\s\S]*?```/g, '');
      const targets = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]).filter((target) => !/^[a-z]+:/i.test(target) && !target.startsWith('#'));
      // docs/api/ is generated by `npm run docs`, not kept in the repository.
      const missing = targets.filter((target) => {
        const resolved = path.resolve(path.dirname(path.join(ROOT, file)), target.replace(/#.*$/, ''));
        return !resolved.startsWith(path.join(ROOT, 'docs', 'api')) && !fs.existsSync(resolved);
      });
      expect(missing, `links in ${file} to files that do not exist`).to.deep.equal([]);
    });
  }
});
