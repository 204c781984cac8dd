/**
 * The documentation stays true to the code. The API reference (`npm run docs`) builds with no
 * warning: TypeDoc warns on a broken `{@link}` and on a public type that refers to one the
 * reference leaves out, so a JSDoc edit or a new export that breaks the reference fails here,
 * not in a user's browser. Its modules are the package's public subpaths. And every
 * "docs/design.md section N" that a comment cites names a section that exists.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ts from 'typescript';
import { ROOT } from './support/packed';

const TYPEDOC = path.join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc');
const DESIGN_PAGE = path.join(ROOT, 'docs', 'design.md');
/** The folders whose comments cite the design document. */
const CITING = ['lib', 'backends', 'server', 'spec', 'bench'];

interface Build {
  status: number | null;
  output: string;
}

/** Runs the TypeDoc CLI in `cwd` with `args`, warnings counting as errors, as `npm run docs` does. */
function typedoc(cwd: string, args: string[]): Build {
  const run = spawnSync(process.execPath, [TYPEDOC, ...args, '--treatWarningsAsErrors'], {
    cwd,
    encoding: 'utf8',
    // Plain text, so that '[warning]' is matched without colour codes around it.
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** Lines of TypeDoc's output that report a problem. */
function problems(output: string): string[] {
  return output.split('\n').filter((line) => /\[(warning|error)\]/.test(line));
}

/** Every `.ts` file under `dir`, recursively. */
function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : tsFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

describe('documentation', function () {
  describe('the API reference', function () {
    // TypeDoc type-checks the whole package before it writes a page: about 10 s alone.
    this.timeout(120_000);

    let out: string;
    let build: Build;

    before(function () {
      out = fs.mkdtempSync(path.join(os.tmpdir(), 'chainstore-docs-'));
      build = typedoc(ROOT, ['--out', path.join(out, 'html'), '--json', path.join(out, 'api.json')]);
    });

    after(function () {
      fs.rmSync(out, { recursive: true, force: true });
    });

    it('builds with no warning and no error', function () {
      expect(problems(build.output), build.output).to.deep.equal([]);
      expect(build.status, build.output).to.equal(0);
      expect(fs.existsSync(path.join(out, 'html', 'index.html'))).to.equal(true);
    });

    it('documents exactly the public subpaths of package.json, under their names', function () {
      const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
        exports: Record<string, string | { require: { types: string } }>;
      };
      const subpaths = Object.entries(manifest.exports).filter(
        (entry): entry is [string, { require: { types: string } }] => typeof entry[1] !== 'string',
      );
      // The source of each subpath: its CommonJS declarations, dist/x/y.d.ts, come from x/y.ts.
      const sources = subpaths.map(([, target]) => target.require.types.replace(/^\.\/dist\//, '').replace(/\.d\.ts$/, '.ts'));
      const config = ts.parseConfigFileTextToJson('typedoc.json', fs.readFileSync(path.join(ROOT, 'typedoc.json'), 'utf8'));
      expect(config.error, 'typedoc.json parses').to.equal(undefined);
      expect([...(config.config as { entryPoints: string[] }).entryPoints].sort()).to.deep.equal([...sources].sort());

      expect(fs.existsSync(path.join(out, 'api.json')), 'the reference was built (see the test above)').to.equal(true);
      const api = JSON.parse(fs.readFileSync(path.join(out, 'api.json'), 'utf8')) as { children: { name: string }[] };
      const specifiers = subpaths.map(([subpath]) => path.posix.join('chainstore', subpath));
      expect(api.children.map((module) => module.name).sort()).to.deep.equal(specifiers.sort());
    });

    it('fails on a broken link (the check above can see a warning)', function () {
      const project = fs.mkdtempSync(path.join(os.tmpdir(), 'chainstore-docs-broken-'));
      try {
        fs.writeFileSync(path.join(project, 'index.ts'), '/** Like {@link NoSuchThing}. */\nexport const answer = 42;\n');
        fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true }, files: ['index.ts'] }));
        const broken = typedoc(project, ['--name', 'broken', '--readme', 'none', '--disableSources', '--entryPoints', 'index.ts', '--tsconfig', 'tsconfig.json', '--out', 'api']);
        expect(problems(broken.output).join('\n')).to.include('NoSuchThing');
        expect(broken.status).to.not.equal(0);
      } finally {
        fs.rmSync(project, { recursive: true, force: true });
      }
    });
  });

  describe('docs/design.md', function () {
    const sections = new Set([...fs.readFileSync(DESIGN_PAGE, 'utf8').matchAll(/^## (\d+)\. /gm)].map((match) => Number(match[1])));
    const files = CITING.flatMap((dir) => tsFiles(path.join(ROOT, dir)));

    it('has numbered sections', function () {
      expect(sections.size).to.be.greaterThan(10);
    });

    it('has every section that the code cites', function () {
      const cited = files.flatMap((file) =>
        [...fs.readFileSync(file, 'utf8').matchAll(/docs\/design\.md,? sections? (\d+)/g)].map((match) => ({
          at: path.relative(ROOT, file),
          section: Number(match[1]),
        })),
      );
      expect(cited.length, 'citations found').to.be.greaterThan(20);
      expect(cited.filter(({ section }) => !sections.has(section))).to.deep.equal([]);
    });

    it('is what the code cites, not a design document the repository does not have', function () {
      const stale = files.filter((file) => /\bDESIGN(\.md\b|\s+section)/.test(fs.readFileSync(file, 'utf8')));
      expect(stale.map((file) => path.relative(ROOT, file))).to.deep.equal([]);
    });
  });
});
