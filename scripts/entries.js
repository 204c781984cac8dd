/**
 * The package's entry points, read from package.json's `exports`: the one list that Node,
 * TypeScript and bundlers read, so the build cannot disagree with it. Every subpath that
 * holds code has the same shape (shown by `expectedShape`); the build makes its ES module
 * entry from it (scripts/esm-entry.js), and `typesVersions` repeats its CommonJS types for
 * TypeScript's node10 resolution, which does not read `exports`.
 *
 * Adding a subpath (say `./fp-ts` built from `fp/index.ts`) means adding its `exports` entry
 * and its `typesVersions` line; `entries()` says exactly what is missing if one is.
 *
 * @example
 * const { entries } = require('./entries');
 * entries(require('../package.json'));
 * // [{ subpath: '.', cjs: './dist/lib/index.js', cjsTypes: './dist/lib/index.d.ts',
 * //    esm: './dist/esm/index.mjs', esmTypes: './dist/esm/index.d.mts' }, ...]
 */
'use strict';

/** The `exports` entry and `typesVersions` line a subpath built from `dist/<dir>/index.js` needs. */
function expectedShape(subpath, dir) {
  const name = subpath === '.' ? 'index' : subpath.slice(2);
  return {
    exports: {
      [subpath]: {
        import: { types: `./dist/esm/${name}.d.mts`, default: `./dist/esm/${name}.mjs` },
        require: { types: `./dist/${dir}/index.d.ts`, default: `./dist/${dir}/index.js` },
      },
    },
    typesVersions: subpath === '.' ? undefined : { '*': { [name]: [`./dist/${dir}/index.d.ts`] } },
  };
}

function problem(subpath, what, shapeFor) {
  const shape = shapeFor ? `; the entry of a subpath built from dist/${shapeFor}/index.js is ${JSON.stringify(expectedShape(subpath, shapeFor))}` : '';
  return new Error(`package.json: exports["${subpath}"] ${what}${shape}`);
}

/** One code entry of `exports`, checked: four paths with the right extensions. */
function entry(subpath, target) {
  const paths = {
    cjs: target?.require?.default,
    cjsTypes: target?.require?.types,
    esm: target?.import?.default,
    esmTypes: target?.import?.types,
  };
  const dir = typeof paths.cjs === 'string' ? paths.cjs.replace(/^\.\/dist\//, '').replace(/\/[^/]*$/, '') : 'lib';
  const endings = { cjs: '.js', cjsTypes: '.d.ts', esm: '.mjs', esmTypes: '.d.mts' };
  for (const [key, ending] of Object.entries(endings)) {
    const value = paths[key];
    if (typeof value !== 'string' || !value.startsWith('./dist/') || !value.endsWith(ending)) {
      throw problem(subpath, `needs import.types (.d.mts), import.default (.mjs), require.types (.d.ts) and require.default (.js), all under ./dist/`, dir);
    }
  }
  return { subpath, ...paths };
}

/** The node10 types path of a subpath, which must be its CommonJS types. */
function checkTypesVersions(pkg, found) {
  const map = pkg.typesVersions?.['*'] ?? {};
  const name = found.subpath.slice(2);
  const listed = map[name];
  if (!Array.isArray(listed) || listed.length !== 1 || listed[0] !== found.cjsTypes) {
    throw problem(found.subpath, `needs typesVersions["*"]["${name}"] = ["${found.cjsTypes}"] (TypeScript's node10 resolution ignores exports)`);
  }
}

/**
 * Every code entry of `pkg.exports` (entries that are plain strings, like `./package.json`,
 * are files, not code), in the order package.json lists them. Throws an Error naming the
 * subpath and what it needs when an entry does not have the shape the build makes.
 */
function entries(pkg) {
  if (!pkg.exports || typeof pkg.exports !== 'object') throw new Error('package.json: exports must be an object of subpaths');
  const found = Object.entries(pkg.exports)
    .filter(([, target]) => typeof target !== 'string')
    .map(([subpath, target]) => entry(subpath, target));
  for (const each of found) if (each.subpath !== '.') checkTypesVersions(pkg, each);
  return found;
}

module.exports = { entries, expectedShape };
