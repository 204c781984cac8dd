/**
 * The package as its users get it, made once for the package spec: a fresh clone of this
 * repository (its files, no dist/, no build output) is built by npm's `prepare` alone (the one
 * script npm runs when it installs from git), packed, and the tarball installed by plain
 * `npm install` into a scratch project on chai 5 and mocha, the way a user's project has it.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

/** What the spec works with; every directory is removed by `removePacked`. */
export interface Packed {
  /** The scratch directory holding everything below. */
  readonly scratch: string;
  /** The fresh clone, built by `prepare`. */
  readonly clone: string;
  /** Whether the clone had a dist/ before `prepare` ran (it must not: a clone has none). */
  readonly cloneHadDist: boolean;
  /** The tarball `npm pack` made from the clone. */
  readonly tarball: string;
  /** The files in the tarball, relative to the package root. */
  readonly files: readonly string[];
  /** The user's project, with the tarball installed. */
  readonly project: string;
  /** Where chainstore is installed in it. */
  readonly installed: string;
}

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
}

/** The repository's files as a clone has them: tracked and new files, not ignored ones (dist/, node_modules/). */
function copyRepositoryFiles(to: string): void {
  const listed = run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], ROOT).split('\0').filter(Boolean);
  for (const file of listed) {
    const from = path.join(ROOT, file);
    if (!fs.existsSync(from)) continue; // deleted in the work tree, not yet committed
    fs.mkdirSync(path.dirname(path.join(to, file)), { recursive: true });
    fs.copyFileSync(from, path.join(to, file));
  }
}

function installedVersion(name: string): string {
  return (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * The native SQLite addon for the user's project. Its install script compiles SQLite for
 * minutes (no prebuilt binary can be downloaded here), which tests better-sqlite3, not
 * chainstore; the project pins the version this repository built and gets its binary.
 */
function provideSqliteAddon(project: string): void {
  const file = path.join('build', 'Release', 'better_sqlite3.node');
  const target = path.join(project, 'node_modules', 'better-sqlite3', file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'node_modules', 'better-sqlite3', file), target);
}

/** A user's project on chai 5 and mocha, with `tarball` installed by a plain `npm install`. */
function makeProject(project: string, tarball: string): void {
  fs.mkdirSync(project);
  const manifest = {
    name: 'chainstore-user',
    version: '1.0.0',
    private: true,
    // pg as a PostgreSQL user has it: the optional peer of the backend they use.
    dependencies: { 'better-sqlite3': installedVersion('better-sqlite3'), pg: installedVersion('pg') },
    // fp-ts too: a user of chainstore/fp-ts installs its optional peer.
    devDependencies: { chai: '^5.0.0', mocha: `^${installedVersion('mocha').split('.')[0]}.0.0`, 'fp-ts': installedVersion('fp-ts') },
  };
  fs.writeFileSync(path.join(project, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  // No --force and no --legacy-peer-deps: npm must accept chainstore's peer ranges as they are.
  // --ignore-scripts only spares the SQLite compile (above): chainstore itself has no install script.
  run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', tarball], project);
  provideSqliteAddon(project);
}

/** Clones, builds with `prepare`, packs and installs; takes a minute or so. */
export function makePacked(): Packed {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'chainstore-pack-'));
  try {
    return packInto(scratch);
  } catch (error) {
    // The spec's after hook gets no Packed to remove when this fails.
    fs.rmSync(scratch, { recursive: true, force: true });
    throw error;
  }
}

function packInto(scratch: string): Packed {
  const clone = path.join(scratch, 'clone');
  copyRepositoryFiles(clone);
  const cloneHadDist = fs.existsSync(path.join(clone, 'dist'));
  // The devDependencies npm installs in a git clone before `prepare`: the same versions this
  // repository has installed, linked rather than installed a second time.
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules'), 'dir');
  run('npm', ['run', 'prepare'], clone);
  const packed = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], clone)) as {
    filename: string;
    files: { path: string }[];
  }[];
  const tarball = path.join(scratch, packed[0].filename);
  const project = path.join(scratch, 'project');
  makeProject(project, tarball);
  return {
    scratch,
    clone,
    cloneHadDist,
    tarball,
    files: packed[0].files.map((file) => file.path),
    project,
    installed: path.join(project, 'node_modules', 'chainstore'),
  };
}

/**
 * A second project like `from` but without mocha: chainstore copied (so that Node looks for
 * mocha from this project, not from the first), its other dependencies linked.
 */
export function projectWithoutMocha(from: string, at: string): string {
  const modules = path.join(at, 'node_modules');
  fs.mkdirSync(modules, { recursive: true });
  for (const name of fs.readdirSync(path.join(from, 'node_modules'))) {
    if (name === 'mocha' || name === '.bin' || name.startsWith('.')) continue;
    const source = path.join(from, 'node_modules', name);
    if (name === 'chainstore') fs.cpSync(source, path.join(modules, name), { recursive: true });
    else fs.symlinkSync(source, path.join(modules, name), 'dir');
  }
  fs.writeFileSync(path.join(at, 'package.json'), '{ "name": "chainstore-user-without-mocha", "private": true }\n');
  return at;
}

export function removePacked(packed: Packed | undefined): void {
  if (packed) fs.rmSync(packed.scratch, { recursive: true, force: true });
}
