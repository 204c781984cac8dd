/**
 * The built package, as its users get it: `npm run build` once, then `require('chainstore')`
 * and `import ... from 'chainstore'` in fresh Node processes, from a project that has the
 * package in its node_modules.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  main: string;
  types: string;
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
};

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

function runNode(args: string[], cwd: string): string {
  const child = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (child.error) throw child.error;
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
  const targets = (value: string | Record<string, string>): string[] => (typeof value === 'string' ? [value] : Object.values(value));
  return [PACKAGE.main, PACKAGE.types, ...Object.values(PACKAGE.bin), ...Object.values(PACKAGE.exports).flatMap(targets)]
    .map((file) => path.normalize(file))
    .filter((file) => file !== 'package.json');
}

describe('built package', function () {
  this.timeout(60_000);
  let project: string;

  before(function () {
    this.timeout(300_000);
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.js')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    // A user's project with chainstore installed (as a link, the way npm link does it).
    project = fs.mkdtempSync(path.join(os.tmpdir(), 'chainstore-user-'));
    fs.mkdirSync(path.join(project, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(project, 'node_modules', 'chainstore'), 'dir');
  });

  after(() => {
    if (project) fs.rmSync(project, { recursive: true, force: true });
  });

  it('produces declarations, the ES module entry and an executable command', () => {
    expect(fs.existsSync(path.join(ROOT, 'dist/lib/index.d.ts')), 'dist/lib/index.d.ts').to.equal(true);
    expect(fs.existsSync(path.join(ROOT, 'dist/esm/index.mjs')), 'dist/esm/index.mjs').to.equal(true);
    const cli = path.join(ROOT, 'dist/lib/cli.js');
    expect(fs.readFileSync(cli, 'utf8').split('\n')[0]).to.equal('#!/usr/bin/env node');
    expect(fs.statSync(cli).mode & 0o111, 'cli.js is executable').to.equal(0o111);
  });

  it("require('chainstore') exposes the public surface", () => {
    expectPublicSurface(describeRequire(project));
  });

  it("import from 'chainstore' exposes the public surface, shared with require", () => {
    const described = describeImport(project);
    expectPublicSurface(described);
    expect(described.sameAsRequire, 'import and require give the same objects').to.equal(true);
  });

  it('the ES module entry re-exports every named export of the CommonJS build', () => {
    expect(describeImport(project).keys).to.deep.equal(describeRequire(project).keys);
  });

  it('the package can import itself by name from its own directory', () => {
    const out = runNode(['--input-type=module', '-e', "import { connect, query } from 'chainstore'; console.log(typeof connect, typeof query)"], ROOT);
    expect(out.trim()).to.equal('function object');
  });

  it('the built command runs: start on a new SQLite database', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chainstore-bin-'));
    try {
      const child = spawnSync(path.join(ROOT, PACKAGE.bin.chainstore), ['--url', `sqlite://${dir}/ledger.db`, '--json', 'start'], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(child.status, child.stderr).to.equal(0);
      expect(JSON.parse(child.stdout)).to.nested.include({ 'recovery.action': 'none', 'status.initialized': true });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every file package.json points at is built and packed', () => {
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    ) as { files: { path: string }[] }[];
    const files = new Set(packed[0].files.map((file) => path.normalize(file.path)));
    for (const file of referencedFiles()) expect(files.has(file), `${file} is in the package`).to.equal(true);
  });
});
