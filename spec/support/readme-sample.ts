/**
 * The code samples of the README and docs/ as the specs check them: taken from the Markdown
 * (every fenced `ts` and `js` block, or the first after a heading), type-checked under the
 * project's strict compiler options, and run in a fresh Node process as a user's file would
 * be. A TypeScript sample imports the package by name (`chainstore`, `chainstore/fp-ts`);
 * those names are pointed at the sources the subpath's declarations are built from, so the
 * check needs no build and sees the code under review. A JavaScript sample runs as an ES
 * module against the built package (dist/), as an application would.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * The body of the first fenced block after the line `heading` in `markdown`.
 *
 * @example
 * sampleAfterHeading(readme, '## fp-ts');   // the TypeScript of the section's example
 */
export function sampleAfterHeading(markdown: string, heading: string): string {
  const lines = markdown.split('\n');
  const at = lines.findIndex((line) => line.trim() === heading);
  if (at < 0) throw new Error(`README has no heading ${JSON.stringify(heading)}`);
  const open = lines.findIndex((line, i) => i > at && line.startsWith('```'));
  const close = lines.findIndex((line, i) => i > open && line.startsWith('```'));
  if (open < 0 || close < 0) throw new Error(`no fenced code block after ${JSON.stringify(heading)}`);
  return lines.slice(open + 1, close).join('\n') + '\n';
}

/** The source file a subpath's declarations are built from (`./dist/x/index.d.ts` -> `x/index.ts`). */
function sourceOf(specifier: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> };
  const subpath = specifier === pkg.name ? '.' : `.${specifier.slice(pkg.name.length)}`;
  const declarations = JSON.stringify(pkg.exports[subpath] ?? null).match(/"\.\/dist\/([^"]+)\.d\.ts"/);
  if (!declarations) throw new Error(`package.json exports no declarations for ${specifier}`);
  return path.join(ROOT, `${declarations[1]}.ts`);
}

/** `code` with its imports of the package by name pointed at the package's sources. */
function pointAtSources(code: string): string {
  return code.replace(/from '(chainstore(?:\/[\w-]+)?)'/g, (_all, specifier: string) => `from ${JSON.stringify(sourceOf(specifier).replace(/\.ts$/, ''))}`);
}

/**
 * A sample as a CommonJS file can run it: its imports first, the rest in an async function,
 * so that a sample may `await` at the top level as an ES module does (ts-node runs this
 * project's TypeScript as CommonJS, where a top-level await does not compile). A rejection
 * fails the process, as an uncaught one in a module would.
 */
export function withTopLevelAwait(code: string): string {
  const file = ts.createSourceFile('sample.ts', code, ts.ScriptTarget.Latest, true);
  const imports = file.statements.filter((statement) => ts.isImportDeclaration(statement) || ts.isImportEqualsDeclaration(statement));
  if (!code.includes('await')) return code;
  const end = imports.length ? imports[imports.length - 1].end : 0;
  const body = code.slice(end);
  return `${code.slice(0, end)}\n(async () => {${body}\n})().catch((error: unknown) => {\n  console.error(error);\n  process.exitCode = 1;\n});\n`;
}

/**
 * A fenced code block of a Markdown file: its language, its text, the line it starts on, and
 * what the `<!-- sample: ... -->` comment on the line before it says (`typecheck-only: why`
 * for a sample that needs a server this machine may not have).
 */
export interface CodeBlock {
  lang: string;
  code: string;
  line: number;
  directive?: string;
}

/**
 * Every fenced block of `markdown`, in order.
 *
 * @example
 * codeBlocks(readme).filter((b) => b.lang === 'ts');
 */
export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const close = lines.findIndex((line, j) => j > i && /^```\s*$/.test(line));
    if (close < 0) throw new Error(`line ${i + 1}: a code block that is never closed`);
    const directive = /^<!--\s*sample:\s*(.*?)\s*-->$/.exec(lines[i - 1] ?? '')?.[1];
    blocks.push({ lang: open[1], code: lines.slice(i + 1, close).join('\n') + '\n', line: i + 1, directive });
    i = close;
  }
  return blocks;
}

/** What a sample says it prints: its `// prints: ...` lines, in order. */
export function expectedOutput(code: string): string[] {
  return [...code.matchAll(/\/\/ prints: (.*)$/gm)].map((match) => match[1]);
}

/** A directory where samples resolve the project's dependencies (`fp-ts/...`) as a user's files do. */
export function sampleDirectory(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chainstore-sample-'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

/**
 * Writes each sample into `dir` (imports pointed at the sources) and type-checks them together
 * under tsconfig.json's options with `strict` on. Returns the diagnostics by sample name.
 *
 * @example
 * const problems = typeCheckSamples(dir, { readme: code });   // { readme: [] } when it compiles
 */
export function typeCheckSamples(dir: string, samples: Record<string, string>): Record<string, string[]> {
  const files = Object.fromEntries(Object.entries(samples).map(([name, code]) => {
    const file = path.join(dir, `${name}.ts`);
    fs.writeFileSync(file, withTopLevelAwait(pointAtSources(code)));
    return [name, file];
  }));
  const config = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, 'tsconfig.json'), { noEmit: true, strict: true }, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  if (!config) throw new Error('tsconfig.json could not be read');
  // rootDir places emitted files; nothing is emitted, and the samples live outside it.
  const program = ts.createProgram(Object.values(files), { ...config.options, rootDir: undefined });
  const byFile = Object.fromEntries(Object.keys(files).map((name) => [name, [] as string[]]));
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const name = Object.keys(files).find((key) => diagnostic.file?.fileName === files[key]);
    const where = diagnostic.file && diagnostic.start !== undefined ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start) : undefined;
    const text = `${where ? `line ${where.line + 1}: ` : ''}TS${diagnostic.code}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`;
    // A problem outside the samples (in the sources they import) fails every sample.
    for (const key of name ? [name] : Object.keys(files)) byFile[key].push(text);
  }
  return byFile;
}

/**
 * Runs the sample `name` written by {@link typeCheckSamples} in a fresh Node process and
 * returns what it printed, or throws with its stderr.
 */
export function runSample(dir: string, name: string): string {
  const child = spawnSync(process.execPath, ['-r', require.resolve('ts-node/register/transpile-only'), path.join(dir, `${name}.ts`)], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json') },
  });
  if (child.error) throw child.error;
  if (child.status !== 0) throw new Error(`the sample exited with ${child.status}:\n${child.stderr}`);
  return child.stdout;
}

/**
 * A directory where JavaScript samples import chainstore by name from the built package (the
 * repository itself, through its `exports`), and its dependencies as the repository has them.
 */
export function javascriptSampleDirectory(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chainstore-js-sample-'));
  const modules = path.join(dir, 'node_modules');
  fs.mkdirSync(modules);
  for (const name of fs.readdirSync(path.join(ROOT, 'node_modules'))) {
    if (name !== 'chainstore') fs.symlinkSync(path.join(ROOT, 'node_modules', name), path.join(modules, name), 'dir');
  }
  fs.symlinkSync(ROOT, path.join(modules, 'chainstore'), 'dir');
  return dir;
}

/** Runs a JavaScript sample as an ES module in `dir`; returns what it printed, or throws with its stderr. */
export function runJavascriptSample(dir: string, name: string, code: string): string {
  const file = path.join(dir, `${name}.mjs`);
  fs.writeFileSync(file, code);
  const child = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  if (child.error) throw child.error;
  if (child.status !== 0) throw new Error(`the sample exited with ${child.status}:\n${child.stderr}`);
  return child.stdout;
}
