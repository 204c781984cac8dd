#!/usr/bin/env node
/**
 * Builds the package into dist/:
 *
 * 1. the CommonJS build with type declarations and source maps (tsc -p tsconfig.build.json;
 *    the maps point at the TypeScript sources, which the package ships beside dist/);
 * 2. for every code entry of package.json's `exports` (scripts/entries.js), its ES module
 *    entry: a `.mjs` wrapping the CommonJS build and its `.d.mts` (scripts/esm-entry.js);
 * 3. the `chainstore` command (dist/lib/cli.js) made executable.
 *
 * It runs as npm's `prepare`: on `npm pack` and `npm publish`, on `npm install` or `npm ci`
 * in a clone, and when npm installs chainstore from git (the only script npm runs then).
 * An install without devDependencies (`npm ci --omit=dev`) has no TypeScript and builds
 * nothing, saying so, rather than failing the install.
 *
 * Usage: node scripts/build.js [--prepare]
 */
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { entries } = require('./entries');
const { writeEsmEntry } = require('./esm-entry');

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

/** The TypeScript compiler, or null where devDependencies are not installed. */
function findTsc() {
  try {
    return require.resolve('typescript/bin/tsc');
  } catch {
    return null;
  }
}

/** A fresh dist/, so files of deleted sources do not linger in the package. */
function clean() {
  fs.rmSync(DIST, { recursive: true, force: true });
}

function compile(tsc) {
  execFileSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
}

function makeCommandsExecutable() {
  for (const file of Object.values(PACKAGE.bin ?? {})) fs.chmodSync(path.join(ROOT, file), 0o755);
}

function build({ tsc = findTsc() } = {}) {
  // Checked first: a bad exports entry should fail before a 10-second compile.
  const codeEntries = entries(PACKAGE);
  if (!tsc) throw new Error('TypeScript is not installed: run npm install (devDependencies included) first');
  clean();
  compile(tsc);
  for (const entry of codeEntries) writeEsmEntry(ROOT, entry);
  makeCommandsExecutable();
}

/** Whether this is `prepare` during an install that left out devDependencies. */
function isInstallWithoutDevDependencies(argv) {
  return argv.includes('--prepare') && ['install', 'ci'].includes(process.env.npm_command) && !findTsc();
}

if (require.main === module) {
  try {
    if (isInstallWithoutDevDependencies(process.argv)) {
      console.error('chainstore: not building dist/ (TypeScript is not installed: devDependencies were omitted)');
    } else {
      build();
    }
  } catch (error) {
    // tsc has already printed its diagnostics; one line is enough here.
    console.error(`build failed: ${error.message.split('\n')[0]}`);
    process.exitCode = 1;
  }
}

module.exports = { build };
