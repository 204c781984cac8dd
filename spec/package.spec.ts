/**
 * The package as its users get it (spec/support/packed.ts): a fresh clone built by `prepare`,
 * packed, and installed from the tarball into a scratch project on chai 5 and mocha. Then
 * `require` and `import` of every subpath in fresh Node processes, types under each
 * TypeScript resolution, the conformance suite run from the project, attw and publint on the
 * tarball, and stack traces that name files the package has.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Packed, ROOT, makePacked, projectWithoutMocha, removePacked } from './support/packed';

interface Manifest {
  main: string;
  types: string;
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, Record<string, string>>>;
  scripts: Record<string, string>;
  typesVersions: Record<'*', Record<string, string[]>>;
}

const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Manifest;
/** The subpaths that hold code (`./package.json` is a file), as specifiers: 'chainstore', 'chainstore/testing', ... */
const SPECIFIERS = Object.entries(PACKAGE.exports)
  .filter(([, target]) => typeof target !== 'string')
  .map(([subpath]) => path.posix.join('chainstore', subpath));

const ERROR_CLASSES = [
  'BackendError',
  'ConnectionError',
  'OperationError',
  'DuplicateKeyError',
  'UnsupportedOperationError',
  'ConfigurationError',
  'ValidationError',
  'RegistrationError',
  'NotImplementedError',
  'RecoveryError',
];
const FUNCTIONS = [
  'connect', 'recover', 'capabilities', 'generic', 'registerHandlers', 'coverage',
  'registerBackend', 'setDefaultBackend', 'listBackends', 'Connection', 'ChangeFeed', ...ERROR_CLASSES,
];
const NAMESPACES = ['query', 'schema', 'changefeed', 'admin'];

/**
 * A script body that prints, as JSON, what module namespace `m` exposes: the typeof of
 * every public name, and its keys. `extraFields` adds fields computed before it.
 */
function describeScript(extraFields = ''): string {
  return `
    const names = ${JSON.stringify([...FUNCTIONS, ...NAMESPACES])};
    const types = Object.fromEntries(names.map((name) => [name, typeof m[name]]));
    const errorsAreErrors = ${JSON.stringify(ERROR_CLASSES)}.every((name) => typeof m[name] === 'function' && m[name].prototype instanceof Error);
    const keys = Object.keys(m).filter((key) => key !== 'default').sort();
    const queryHasGenerics = typeof m.query?.writeTransaction === 'function';
    console.log(JSON.stringify({ types, errorsAreErrors, keys, queryHasGenerics${extraFields} }));
  `;
}

interface Described {
  types: Record<string, string>;
  errorsAreErrors: boolean;
  keys: string[];
  queryHasGenerics: boolean;
  sameAsRequire?: boolean;
}

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

function spawn(command: string, args: string[], cwd: string, timeout = 60_000, env: NodeJS.ProcessEnv = process.env): Ran {
  const child = spawnSync(command, args, { cwd, encoding: 'utf8', timeout, env });
  if (child.error) throw child.error;
  return child;
}

function runNode(args: string[], cwd: string): string {
  const child = spawn(process.execPath, args, cwd);
  expect(child.status, child.stderr).to.equal(0);
  return child.stdout;
}

function describeRequire(cwd: string): Described {
  return JSON.parse(runNode(['-e', `const m = require('chainstore');${describeScript()}`], cwd));
}

function describeImport(cwd: string): Described {
  const script = `
    import * as m from 'chainstore';
    import { connect, query } from 'chainstore';
    import { createRequire } from 'node:module';
    const cjs = createRequire(process.cwd() + '/')('chainstore');
    const sameAsRequire = connect === cjs.connect && query === cjs.query && m.ValidationError === cjs.ValidationError;
    ${describeScript(', sameAsRequire')}
  `;
  return JSON.parse(runNode(['--input-type=module', '-e', script], cwd));
}

function expectPublicSurface(described: Described): void {
  for (const name of FUNCTIONS) expect(described.types[name], name).to.equal('function');
  for (const name of NAMESPACES) expect(described.types[name], name).to.equal('object');
  expect(described.errorsAreErrors, 'every error class extends Error').to.equal(true);
  expect(described.queryHasGenerics, 'query.writeTransaction is a function').to.equal(true);
}

/** Every file path package.json points at (main, types, bin, exports). */
function referencedFiles(): string[] {
  const targets = (value: string | Record<string, Record<string, string>>): string[] =>
    typeof value === 'string' ? [value] : Object.values(value).flatMap((conditions) => Object.values(conditions));
  return [PACKAGE.main, PACKAGE.types, ...Object.values(PACKAGE.bin), ...Object.values(PACKAGE.exports).flatMap(targets)]
    .map((file) => path.normalize(file))
    .filter((file) => file !== 'package.json');
}

/** The absolute file paths a stack trace names under `root`. */
function stackFiles(stack: string, root: string): string[] {
  const files = [...stack.matchAll(/(\/[^\s():]+):\d+:\d+/g)].map((match) => match[1]);
  return [...new Set(files.filter((file) => file.startsWith(`${root}${path.sep}`)))];
}

/** Writes `files` (name to source) into `dir`. */
function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, source] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), source);
  }
}

/**
 * A TypeScript file using each subpath, in `syntax`. Each `@ts-expect-error` line is an error
 * only where the subpath's real types were found: a missing or `any` type makes the
 * directive unused, which is itself an error.
 */
function typeUse(syntax: 'import' | 'require'): string {
  const load =
    syntax === 'import'
      ? "import { connect, ValidationError } from 'chainstore';\nimport { runConformance } from 'chainstore/testing';\nimport { startNode } from 'chainstore/node';\n"
      : "import chainstore = require('chainstore');\nimport testing = require('chainstore/testing');\nimport node = require('chainstore/node');\nconst { connect, ValidationError } = chainstore;\nconst { runConformance } = testing;\nconst { startNode } = node;\n";
  return `${load}
const error: InstanceType<typeof ValidationError> | undefined = undefined;
export const used = [error, connect, runConformance, startNode];
// @ts-expect-error connect takes options, not a number
connect(1);
// @ts-expect-error runConformance takes a factory
runConformance(1);
// @ts-expect-error startNode takes options
startNode(1);
`;
}

const COMPILER = { strict: true, noEmit: true, skipLibCheck: true, types: [] as string[] };

/** One tsconfig a user may have, and the files it compiles. */
const TYPE_PROJECTS: Record<string, { compilerOptions: Record<string, unknown>; files: Record<string, string> }> = {
  node10: { compilerOptions: { module: 'commonjs', moduleResolution: 'node10' }, files: { 'index.ts': typeUse('import') } },
  node16: {
    compilerOptions: { module: 'node16', moduleResolution: 'node16' },
    files: { 'esm.mts': typeUse('import'), 'cjs.cts': typeUse('require') },
  },
  bundler: { compilerOptions: { module: 'esnext', moduleResolution: 'bundler' }, files: { 'index.ts': typeUse('import') } },
};

describe('packed package', function () {
  this.timeout(60_000);
  let packed: Packed;

  before(function () {
    this.timeout(600_000);
    packed = makePacked();
  });

  after(() => removePacked(packed));

  it('a fresh clone has no dist/, and prepare alone (all a git install runs) builds everything package.json points at', () => {
    expect(packed.cloneHadDist, 'the clone had a dist/ before prepare').to.equal(false);
    expect(PACKAGE.scripts.prepare, 'scripts.prepare').to.be.a('string');
    const files = new Set(packed.files.map((file) => path.normalize(file)));
    for (const file of referencedFiles()) expect(files.has(file), `${file} is in the package`).to.equal(true);
  });

  it('prepare in an install without devDependencies (npm ci --omit=dev) skips the build, saying so; a build without TypeScript fails plainly', () => {
    const dir = path.join(packed.scratch, 'production');
    fs.cpSync(path.join(packed.clone, 'scripts'), path.join(dir, 'scripts'), { recursive: true });
    fs.copyFileSync(path.join(packed.clone, 'package.json'), path.join(dir, 'package.json'));
    const build = (env: Record<string, string>, ...args: string[]): Ran => {
      const child = spawnSync(process.execPath, ['scripts/build.js', ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } });
      return child;
    };
    const prepare = build({ npm_command: 'ci' }, '--prepare');
    expect(prepare.status, prepare.stderr).to.equal(0);
    expect(prepare.stderr).to.include('not building dist/ (TypeScript is not installed');
    const plain = build({ npm_command: 'run-script' });
    expect(plain.status).to.equal(1);
    expect(plain.stderr).to.include('build failed: TypeScript is not installed');
  });

  it('the build makes declarations, an ES module entry per subpath, and an executable command', () => {
    for (const specifier of SPECIFIERS) {
      const subpath = PACKAGE.exports[`.${specifier.slice('chainstore'.length)}`] as Record<string, Record<string, string>>;
      for (const file of [subpath.import.types, subpath.import.default, subpath.require.types]) {
        expect(fs.existsSync(path.join(packed.clone, file)), `${specifier}: ${file}`).to.equal(true);
      }
    }
    const cli = path.join(packed.clone, PACKAGE.bin.chainstore);
    expect(fs.readFileSync(cli, 'utf8').split('\n')[0]).to.equal('#!/usr/bin/env node');
    expect(fs.statSync(cli).mode & 0o111, 'cli.js is executable').to.equal(0o111);
  });

  it("require('chainstore') exposes the public surface", () => {
    expectPublicSurface(describeRequire(packed.project));
  });

  it("import from 'chainstore' exposes the public surface, shared with require", () => {
    const described = describeImport(packed.project);
    expectPublicSurface(described);
    expect(described.sameAsRequire, 'import and require give the same objects').to.equal(true);
  });

  it('every subpath can be required and imported, and import gives the same names and objects as require', () => {
    for (const specifier of SPECIFIERS) {
      const script = `
        import * as m from '${specifier}';
        import { createRequire } from 'node:module';
        const cjs = createRequire(process.cwd() + '/')('${specifier}');
        const keys = (o) => Object.keys(o).filter((key) => key !== 'default' && key !== '__esModule').sort();
        const different = keys(cjs).filter((key) => m[key] !== cjs[key]);
        console.log(JSON.stringify({ esm: keys(m), cjs: keys(cjs), different, defaultIsCjs: m.default === cjs }));
      `;
      const seen = JSON.parse(runNode(['--input-type=module', '-e', script], packed.project)) as {
        esm: string[];
        cjs: string[];
        different: string[];
        defaultIsCjs: boolean;
      };
      expect(seen.cjs.length, `${specifier} exports something`).to.be.greaterThan(0);
      expect(seen.esm, `${specifier}: names of import vs require`).to.deep.equal(seen.cjs);
      expect(seen.different, `${specifier}: exports that differ between import and require`).to.deep.equal([]);
      expect(seen.defaultIsCjs, `${specifier}: the default export is the CommonJS module`).to.equal(true);
    }
  });

  it('the package can import itself by name from its own directory', () => {
    const out = runNode(['--input-type=module', '-e', "import { connect, query } from 'chainstore'; console.log(typeof connect, typeof query)"], packed.clone);
    expect(out.trim()).to.equal('function object');
  });

  it('the installed command runs: start on a new SQLite database', () => {
    const bin = path.join(packed.project, 'node_modules', '.bin', 'chainstore');
    const child = spawn(bin, ['--url', `sqlite://${packed.scratch}/ledger.db`, '--json', 'start'], packed.project);
    expect(child.status, child.stderr).to.equal(0);
    expect(JSON.parse(child.stdout)).to.nested.include({ 'recovery.action': 'none', 'status.initialized': true });
  });

  describe('the installed command, on what #13 asked of it', function () {
    const bin = () => path.join(packed.project, 'node_modules', '.bin', 'chainstore');

    it('export, then import into a new database: the report says both sides match; run again, nothing is written twice', () => {
      const source = `sqlite://${packed.scratch}/export-source.db`;
      expect(spawn(bin(), ['--url', source, 'start'], packed.project).status).to.equal(0);
      // Something to copy: three blocks and a validator set, written through the installed package.
      const fill = [
        "const { connect, query } = require('chainstore');",
        `connect({ url: '${source}' }).then(async (c) => {`,
        "  for (const height of [1, 2, 3]) await query.storeBlock(c, { height, app_hash: 'ab', transactions: [] });",
        "  await query.storeValidatorSet(c, { height: 1, validators: [{ power: 10 }] });",
        '  await c.close();',
        '});',
      ].join('\n');
      const filled = spawn(process.execPath, ['-e', fill], packed.project);
      expect(filled.status, filled.stderr).to.equal(0);
      const file = path.join(packed.scratch, 'ledger.jsonl');
      const exported = spawn(bin(), ['--url', source, 'export', '--out', file], packed.project);
      expect(exported.status, exported.stderr).to.equal(0);
      const target = `sqlite://${packed.scratch}/import-target.db`;
      for (const run of [1, 2]) {
        const imported = spawn(bin(), ['--url', target, '--json', 'import', file], packed.project);
        expect(imported.status, imported.stderr).to.equal(0);
        const report = JSON.parse(imported.stdout);
        expect(report.differing, `run ${run}`).to.deep.equal([]);
        expect(report.target.blocks.count, `run ${run}`).to.equal(3);
        expect(report.target.validators.count, `run ${run}`).to.equal(1);
        // The second run finds every record there already.
        expect(report.written.blocks, `run ${run}`).to.equal(run === 1 ? 3 : 0);
      }
      const migrated = spawn(bin(), ['migrate', '--from', source, '--to', `sqlite://${packed.scratch}/migrate-target.db`], packed.project);
      expect(migrated.status, migrated.stderr).to.equal(0);
      expect(migrated.stdout).to.include('counts and checksums of both sides match');
    });

    it('drop --yes on a database that does not exist creates nothing and exits with 4', () => {
      const missing = path.join(packed.scratch, 'never-made.db');
      const child = spawn(bin(), ['--url', `sqlite://${missing}`, 'drop', '--yes'], packed.project);
      expect(child.status, child.stderr).to.equal(4);
      expect(child.stderr).to.match(/^chainstore drop: /);
      expect(fs.existsSync(missing)).to.equal(false);
    });

    it('against a server that is down: retry lines on stderr, then the error naming the subcommand; under --json, JSON lines', () => {
      const env = { ...process.env, CHAINSTORE_DATABASE_MAX_TRIES: '2', CHAINSTORE_DATABASE_CONNECTION_TIMEOUT: '1000' };
      const plain = spawn(bin(), ['--url', 'postgres://postgres@127.0.0.1:1/x', 'status'], packed.project, 60_000, env);
      expect(plain.status).to.equal(1);
      expect(plain.stderr).to.match(/^chainstore status: \[postgres\] try 2 of 2 in \d+ ms/m);
      expect(plain.stderr.trimEnd().split('\n').pop()).to.match(/^chainstore status: /);
      const json = spawn(bin(), ['--url', 'postgres://postgres@127.0.0.1:1/x', '--json', 'status'], packed.project, 60_000, env);
      expect(json.status).to.equal(1);
      const lines = json.stderr.trimEnd().split('\n').map((line) => JSON.parse(line));
      expect(lines[lines.length - 1].error).to.include({ command: 'status', exitCode: 1 });
      expect(lines.some((line) => /try 2 of 2/.test(line.message ?? ''))).to.equal(true);
    });

    it('an argument error shows the value it got', () => {
      const code = "const { connect, query } = require('chainstore'); connect({ backend: 'sqlite', name: ':memory:' }).then((c) => query.getBlock(c, -1)).catch((e) => console.log(e.message));";
      const child = spawn(process.execPath, ['-e', code], packed.project);
      expect(child.stdout).to.match(/got number -1/);
    });
  });

  it('attw and publint find no problem in the tarball', () => {
    const attw = spawn(path.join(ROOT, 'node_modules', '.bin', 'attw'), ['--no-color', packed.tarball], packed.scratch, 120_000);
    expect(attw.status, attw.stdout + attw.stderr).to.equal(0);
    expect(attw.stdout).to.include('No problems found');
    const publint = spawn(path.join(ROOT, 'node_modules', '.bin', 'publint'), ['run', packed.tarball, '--level', 'suggestion'], packed.scratch, 120_000);
    expect(publint.status, publint.stdout + publint.stderr).to.equal(0);
    // publint prints suggestions and warnings without failing: only "All good!" means none.
    expect(publint.stdout, publint.stdout).to.include('All good!');
  });

  for (const [resolution, { compilerOptions, files }] of Object.entries(TYPE_PROJECTS)) {
    it(`types of every subpath resolve under moduleResolution ${resolution}`, () => {
      const dir = path.join(packed.project, `types-${resolution}`);
      writeFiles(dir, {
        ...files,
        'tsconfig.json': JSON.stringify({ compilerOptions: { ...COMPILER, ...compilerOptions }, files: Object.keys(files) }),
      });
      const tsc = spawn(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', dir], packed.project);
      expect(tsc.status, tsc.stdout + tsc.stderr).to.equal(0);
    });
  }

  it('a project on chai 5 has it installed without --force, and runs the conformance suite with its mocha', function () {
    this.timeout(180_000);
    const chai = JSON.parse(fs.readFileSync(path.join(packed.project, 'node_modules', 'chai', 'package.json'), 'utf8')) as { version: string };
    expect(chai.version, 'the project keeps chai 5').to.match(/^5\./);
    writeFiles(packed.project, {
      'spec/sqlite.spec.mjs': `
        import { expect } from 'chai';
        import { connect } from 'chainstore';
        import { resetByDropAndInit, runConformance } from 'chainstore/testing';

        it('uses chai 5 beside the suite', () => expect(runConformance).to.be.a('function'));
        runConformance({ name: 'sqlite', connect: () => connect({ backend: 'sqlite', name: ':memory:' }), reset: resetByDropAndInit });
      `,
    });
    const mocha = spawn(path.join(packed.project, 'node_modules', '.bin', 'mocha'), ['--reporter', 'dot', 'spec/sqlite.spec.mjs'], packed.project, 180_000);
    expect(mocha.status, mocha.stdout.slice(-4000) + mocha.stderr).to.equal(0);
    const passing = Number(/(\d+) passing/.exec(mocha.stdout)?.[1] ?? 0);
    expect(passing, mocha.stdout.slice(-2000)).to.be.greaterThan(200);
    expect(mocha.stdout).not.to.match(/\d+ failing/);
  });

  it('runConformance outside a mocha run says how to run it', () => {
    const child = spawn(process.execPath, ['-e', "require('chainstore/testing').runConformance({ name: 'sqlite' })"], packed.project);
    expect(child.status).to.not.equal(0);
    expect(child.stderr).to.include('ConfigurationError').and.to.include('mocha is not running').and.to.include('npx mocha');
  });

  it('importing chainstore/testing without mocha says what to install', () => {
    const project = projectWithoutMocha(packed.project, path.join(packed.scratch, 'without-mocha'));
    const loads = [
      [process.execPath, '-e', "require('chainstore/testing')"],
      [process.execPath, '--input-type=module', '-e', "import 'chainstore/testing'"],
    ];
    for (const [command, ...args] of loads) {
      const child = spawn(command, args, project);
      expect(child.status, args.join(' ')).to.not.equal(0);
      expect(child.stderr, args.join(' ')).to.include('ConfigurationError: chainstore/testing is a mocha test suite, and mocha is not installed');
      expect(child.stderr, args.join(' ')).to.include("npm install --save-dev 'mocha@>=10'");
      expect(child.stderr, args.join(' ')).not.to.include('Cannot find module');
    }
    expect(runNode(['-e', "console.log(typeof require('chainstore').connect)"], project).trim(), 'the package itself needs no mocha').to.equal('function');
  });

  it('stack traces from the installed package name files it has, with and without source maps', () => {
    const script = `
      const { connect, query } = require('chainstore');
      (async () => {
        const conn = await connect({ backend: 'sqlite', name: ':memory:' });
        try { await query.getBlock(conn, -1); } catch (error) { console.log(JSON.stringify(error.stack)); } finally { await conn.close(); }
      })();
    `;
    for (const flags of [[], ['--enable-source-maps']]) {
      const stack = JSON.parse(runNode([...flags, '-e', script], packed.project)) as string;
      const files = stackFiles(stack, packed.installed);
      expect(files.length, `frames in the package: ${stack}`).to.be.greaterThan(0);
      for (const file of files) expect(fs.existsSync(file), `${file} (${flags.join(' ') || 'no flags'}) exists`).to.equal(true);
      const wanted = flags.length ? '.ts' : '.js';
      expect(files.some((file) => file.endsWith(wanted)), `a ${wanted} frame with ${flags.join(' ') || 'no flags'}: ${stack}`).to.equal(true);
    }
  });

  it('every source a shipped source map names is in the package', () => {
    const files = new Set(packed.files.map((file) => path.posix.normalize(file)));
    const maps = packed.files.filter((file) => file.endsWith('.map'));
    expect(maps.length, 'source maps shipped').to.be.greaterThan(0);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources } = JSON.parse(fs.readFileSync(path.join(packed.installed, map), 'utf8')) as { sources: string[] };
      for (const source of sources) {
        const file = path.posix.normalize(path.posix.join(path.posix.dirname(map), source));
        if (!files.has(file)) missing.push(`${map} -> ${file}`);
      }
    }
    expect(missing).to.deep.equal([]);
  });
});

describe('build entries (scripts/entries.js)', function () {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { entries, expectedShape } = require('../scripts/entries') as {
    entries(pkg: unknown): { subpath: string }[];
    expectedShape(subpath: string, dir: string): { exports: Record<string, unknown>; typesVersions?: Record<'*', Record<string, string[]>> };
  };

  it("lists every code subpath of package.json's exports", () => {
    expect(entries(PACKAGE).map((entry) => path.posix.join('chainstore', entry.subpath))).to.deep.equal(SPECIFIERS);
  });

  it('accepts a new subpath written in the shape it documents, and says when its typesVersions line is missing', () => {
    const shape = expectedShape('./fp-ts', 'fp');
    const withoutTypes = { exports: { ...PACKAGE.exports, ...shape.exports }, typesVersions: PACKAGE.typesVersions };
    expect(() => entries(withoutTypes)).to.throw('needs typesVersions["*"]["fp-ts"] = ["./dist/fp/index.d.ts"]');
    const complete = { ...withoutTypes, typesVersions: { '*': { ...PACKAGE.typesVersions['*'], ...shape.typesVersions?.['*'] } } };
    expect(entries(complete).map((entry) => entry.subpath)).to.include('./fp-ts');
  });

  it('refuses an entry without its ES module types, saying what the entry should be', () => {
    const pkg = { exports: { './fp-ts': { import: './dist/esm/fp-ts.mjs', require: { types: './dist/fp/index.d.ts', default: './dist/fp/index.js' } } } };
    expect(() => entries(pkg)).to.throw(/exports\["\.\/fp-ts"\] needs import\.types .*"import":\{"types":"\.\/dist\/esm\/fp-ts\.d\.mts"/);
  });
});
