/**
 * Full-text search over asset data and metadata (textSearch): what matches, the query
 * syntax of its JSDoc (alternatives, "phrases", -exclusions), ranking, limit and options;
 * and, on the example collection of MongoDB's `$text` documentation, folding of accents and
 * combining marks and ranking by how much of a record the words cover.
 */
import { expect } from './expect';
import { type Json, type TextSearchResult, UnsupportedOperationError, query } from '../../lib';
import { idsOf, rejection } from './assertions';
import { type ConformanceContext, requireFeature } from './context';
import { createTx, freshId } from './fixtures';

/** Stores one asset per text (as `{ title: text }`) and returns their ids, in order. */
async function assetsTitled(ctx: ConformanceContext, ...titles: string[]): Promise<string[]> {
  const assets = titles.map((title) => ({ id: freshId('searchable'), data: { title } }));
  await query.storeAssets(ctx.conn, assets);
  return idsOf(assets);
}

/**
 * The example collection of MongoDB's `$text` documentation, stored as assets
 * (`{ subject }`); returns the id of each subject.
 */
async function storeSubjects(ctx: ConformanceContext): Promise<Record<string, string>> {
  const subjects = ['coffee', 'Coffee Shopping', 'Baking a cake', 'baking', 'Café Con Leche', 'Сырники', 'coffee and cream', 'Cafe con Leche'];
  const assets = subjects.map((subject) => ({ id: freshId('subject'), data: { subject } }));
  await query.storeAssets(ctx.conn, assets);
  return Object.fromEntries(subjects.map((subject, i) => [subject, assets[i].id]));
}

async function searchIds(ctx: ConformanceContext, search: string, options?: Parameters<typeof query.textSearch>[2]): Promise<string[]> {
  return idsOf(await query.textSearch(ctx.conn, search, options));
}

export function describeSearch(ctx: ConformanceContext): void {
  describe('textSearch', function () {
    beforeEach(function () {
      requireFeature(this, ctx, 'textSearch');
    });

    it('finds the assets whose data contains a word, with their id and data', async function () {
      const [mug, , cup] = await assetsTitled(ctx, 'blue coffee mug', 'green teapot', 'coffee cup');
      const hits = await query.textSearch(ctx.conn, 'coffee');
      expect(idsOf(hits)).to.have.members([mug, cup]);
      expect(hits.find((hit) => hit.id === mug)).to.deep.include({ id: mug, data: { title: 'blue coffee mug' } });
    });

    it('drops English stop words, as PostgreSQL and MongoDB do: alone they find nothing, beside a word they change nothing', async function () {
      const [either, the] = await assetsTitled(ctx, 'tea or coffee', 'the teapot is on the shelf');
      expect(await searchIds(ctx, 'or')).to.deep.equal([]);
      expect(await searchIds(ctx, 'the')).to.deep.equal([]);
      expect(await searchIds(ctx, 'THE Or')).to.deep.equal([]);
      expect(await searchIds(ctx, 'the coffee')).to.deep.equal([either]);
      expect(await searchIds(ctx, 'shelf -the')).to.deep.equal([the]);
    });

    it('searches every string of nested asset data', async function () {
      const data: Json = { product: { spec: { description: 'handmade porcelain' } }, tags: ['kitchen', 'ceramic'] };
      const nested = { id: freshId('searchable'), data };
      await query.storeAsset(ctx.conn, nested);
      expect(await searchIds(ctx, 'porcelain')).to.deep.equal([nested.id]);
      expect(await searchIds(ctx, 'ceramic')).to.deep.equal([nested.id]);
    });

    it('finds asset data written with its CREATE, and forgets it when the CREATE is deleted', async function () {
      const tx = createTx({ data: { title: 'vintage typewriter' } });
      await query.writeTransaction(ctx.conn, tx);
      expect(await searchIds(ctx, 'typewriter')).to.deep.equal([tx.id]);
      await query.deleteTransactions(ctx.conn, [tx.id]);
      expect(await searchIds(ctx, 'typewriter')).to.deep.equal([]);
    });

    it("searches metadata with table: 'metadata', returning id and metadata", async function () {
      const tx = createTx({ data: { title: 'refund policy document' }, metadata: { note: 'customer refund issued' } });
      await query.writeTransaction(ctx.conn, tx);
      await query.storeMetadatas(ctx.conn, [{ id: freshId(), metadata: { note: 'shipment delayed' } }]);
      const hits = await query.textSearch(ctx.conn, 'refund', { table: 'metadata' });
      expect(hits).to.have.length(1);
      expect(hits[0]).to.deep.include({ id: tx.id, metadata: { note: 'customer refund issued' } });
      expect(await searchIds(ctx, 'shipment'), 'assets are searched by default, not metadata').to.deep.equal([]);
    });

    it('returns [] when nothing matches', async function () {
      await assetsTitled(ctx, 'coffee mug');
      expect(await query.textSearch(ctx.conn, 'zeppelin')).to.deep.equal([]);
      expect(await query.textSearch(ctx.conn, 'zeppelin', { table: 'metadata' })).to.deep.equal([]);
    });

    it('returns at most limit results', async function () {
      await assetsTitled(ctx, 'red apple', 'green apple', 'apple pie', 'banana');
      expect(await query.textSearch(ctx.conn, 'apple', { limit: 2 })).to.have.length(2);
      expect(await query.textSearch(ctx.conn, 'apple', { limit: 10 })).to.have.length(3);
    });

    it('ranks a record matching more of the words first', async function () {
      const [, both] = await assetsTitled(ctx, 'coffee cup', 'coffee mug', 'tea mug');
      const ranked = await searchIds(ctx, 'coffee mug');
      expect(ranked).to.have.length(3);
      expect(ranked[0]).to.equal(both);
    });

    it('ranks a record matching a word more often first, and scores in descending order', async function () {
      const [, often] = await assetsTitled(ctx, 'coffee tea water', 'coffee coffee coffee');
      const hits = await query.textSearch(ctx.conn, 'coffee');
      expect(idsOf(hits)[0]).to.equal(often);
      expectDescendingScores(hits);
    });

    it('keeps the best match first under a limit', async function () {
      const [, both] = await assetsTitled(ctx, 'coffee cup', 'coffee mug', 'tea mug', 'coffee filter');
      expect(await searchIds(ctx, 'coffee mug', { limit: 1 })).to.deep.equal([both]);
    });

    it('ignores case by default and matches case exactly with caseSensitive', async function () {
      const [upper, lower] = await assetsTitled(ctx, 'Espresso machine', 'espresso beans');
      expect(await searchIds(ctx, 'ESPRESSO')).to.have.members([upper, lower]);
      expect(await searchIds(ctx, 'Espresso', { caseSensitive: true })).to.deep.equal([upper]);
    });

    it('requires a "quoted phrase" to appear as written', async function () {
      const [phrase] = await assetsTitled(ctx, 'a blue mug', 'a blue cup and a red mug', 'mug blue');
      expect(await searchIds(ctx, '"blue mug"')).to.deep.equal([phrase]);
    });

    it('matches by the phrases alone when a search has phrases and words (as MongoDB does)', async function () {
      const [tea] = await assetsTitled(ctx, 'fair trade tea', 'coffee beans');
      expect(await searchIds(ctx, 'coffee "fair trade"')).to.deep.equal([tea]);
    });

    it('excludes records containing a -word', async function () {
      const [blue] = await assetsTitled(ctx, 'a blue mug', 'a red mug');
      expect(await searchIds(ctx, 'mug -red')).to.deep.equal([blue]);
    });

    it("stems English words by default and matches exact words with language: 'none'", async function () {
      const [running] = await assetsTitled(ctx, 'running shoes', 'walking boots');
      expect(await searchIds(ctx, 'run')).to.deep.equal([running]);
      expect(await searchIds(ctx, 'run', { language: 'none' })).to.deep.equal([]);
      expect(await searchIds(ctx, 'running', { language: 'none' })).to.deep.equal([running]);
    });

    it('refuses a language it does not speak with UnsupportedOperationError, quoting at most the start of it', async function () {
      await assetsTitled(ctx, 'coffee mug');
      for (const language of ['klingon-tlh', 'x'.repeat(10_000_000)]) {
        const error = await rejection(() => query.textSearch(ctx.conn, 'coffee', { language }), UnsupportedOperationError);
        expect(error.message.length, 'a message of its own length, not the value').to.be.below(400);
        expect(error.message).to.include(language.slice(0, 8));
      }
    });

    it('treats query-syntax and injection-shaped search strings as text, never failing', async function () {
      await assetsTitled(ctx, 'coffee mug');
      const odd = ["'; DROP TABLE assets; --", '{"$gt": ""}', "r.db('x')", '"unbalanced', 'NEAR(a b)', 'title:coffee', '*', 'AND OR NOT', '%_\\', ''];
      for (const search of odd) {
        const hits = await query.textSearch(ctx.conn, search);
        expect(hits, `textSearch(${JSON.stringify(search)})`).to.be.an('array');
      }
      expect(await query.textSearch(ctx.conn, 'coffee')).to.have.length(1);
    });

    it('finds nothing when the words are punctuation alone, whatever is excluded', async function () {
      await assetsTitled(ctx, 'coffee mug', 'green teapot');
      for (const search of ['?! -teapot', '-- -teapot', '"!!" -coffee', '\u{56070}- ---ᎌ!']) {
        expect(await searchIds(ctx, search), `textSearch(${JSON.stringify(search)})`).to.deep.equal([]);
      }
    });

    it('answers a search of enormous words, whatever the engine splits them into', async function () {
      // One "word" to our parser (no spaces), but hundreds of thousands of terms to an engine
      // whose tokenizer splits at the private-use character: it once exceeded PostgreSQL's stack.
      const [mug] = await assetsTitled(ctx, 'coffee mug');
      const huge = '\ue0000'.repeat(175_000);
      for (const search of [huge, `coffee ${huge}`, `"${Array(32).fill(huge).join(' ')}"`, `coffee -${huge}`]) {
        const hits = await query.textSearch(ctx.conn, search);
        expect(hits, `textSearch(${search.slice(0, 20)}...)`).to.be.an('array');
        expect(idsOf(hits).every((id) => id === mug)).to.equal(true);
      }
      expect(await searchIds(ctx, `coffee ${huge}`)).to.deep.equal([mug]);
    });
  });

  describe('textSearch: accents and ranking on the example collection', function () {
    beforeEach(function () {
      requireFeature(this, ctx, 'textSearch');
      requireFeature(this, ctx, 'linguisticSearch');
    });

    it('folds accents and combining marks, in the search and in the records', async function () {
      const id = await storeSubjects(ctx);
      // U+0301 (combining acute) follows the ы: a mark typed into the search, not a letter.
      expect(await searchIds(ctx, 'сы\u0301рники CAFÉS')).to.have.members([id['Сырники'], id['Café Con Leche'], id['Cafe con Leche']]);
      expect(await searchIds(ctx, 'cafe')).to.have.members([id['Café Con Leche'], id['Cafe con Leche']]);
      expect(await searchIds(ctx, 'café')).to.have.members([id['Café Con Leche'], id['Cafe con Leche']]);
      const [zurich] = await assetsTitled(ctx, 'Zürich');
      expect(await searchIds(ctx, 'zurich')).to.deep.equal([zurich]);
    });

    it('folds accents in phrases and exclusions too', async function () {
      const id = await storeSubjects(ctx);
      expect(await searchIds(ctx, '"cafe con leche"')).to.have.members([id['Café Con Leche'], id['Cafe con Leche']]);
      expect(await searchIds(ctx, 'leche -café')).to.deep.equal([]);
    });

    it('ranks the record a word covers whole above records it covers in part, with a higher score', async function () {
      const id = await storeSubjects(ctx);
      const hits = await query.textSearch(ctx.conn, 'coffee');
      expect(idsOf(hits)[0]).to.equal(id['coffee']);
      expect(idsOf(hits).slice(1)).to.have.members([id['Coffee Shopping'], id['coffee and cream']]);
      expectDescendingScores(hits);
      expectScoresAbove(hits.slice(0, 1), hits.slice(1));
    });

    it('ranks by how many of the words a record has, then by how much of it they cover', async function () {
      const id = await storeSubjects(ctx);
      const hits = await query.textSearch(ctx.conn, 'bake coffee cake');
      const ranked = idsOf(hits);
      expect(ranked).to.have.length(5);
      expect(ranked[0]).to.equal(id['Baking a cake']);
      expect(ranked.slice(1, 3)).to.have.members([id['coffee'], id['baking']]);
      expect(ranked.slice(3)).to.have.members([id['Coffee Shopping'], id['coffee and cream']]);
      expectDescendingScores(hits);
      expectScoresAbove(hits.slice(0, 1), hits.slice(1));
      expectScoresAbove(hits.slice(1, 3), hits.slice(3));
    });
  });
}

/** Every score of `better` is strictly higher than every score of `worse` (when the backend scores). */
function expectScoresAbove(better: readonly TextSearchResult[], worse: readonly TextSearchResult[]): void {
  if ([...better, ...worse].some((hit) => hit.score === undefined)) return;
  const lowest = Math.min(...better.map((hit) => hit.score!));
  const highest = Math.max(...worse.map((hit) => hit.score!));
  expect(lowest, `scores ${better.map((hit) => hit.score)} above ${worse.map((hit) => hit.score)}`).to.be.greaterThan(highest);
}

function expectDescendingScores(hits: readonly TextSearchResult[]): void {
  const scores = hits.map((hit) => hit.score).filter((score): score is number => score !== undefined);
  if (scores.length === 0) return;
  expect(scores, 'every result has a score, or none does').to.have.length(hits.length);
  expect(scores).to.deep.equal([...scores].sort((a, b) => b - a));
}
