// Issue 7, the OT library: common/ot.h must agree with ot.js, the implementation browsers run.
// build/tests/ot_cases answers every case of tests/ot/corpus.json (transform, compose, apply,
// cursor transform) and each answer is compared with ot.js's TextOperation and Selection.Range.
// Needs only the build, not the running stack.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import ot from 'ot';

import { CORPUS_PATH, buildCorpus, corpusText } from '../ot/generate_corpus.mjs';

const { TextOperation, Selection } = ot;

const ROOT = process.env.STREAMBED_ROOT ?? fileURLToPath(new URL('../..', import.meta.url));
const BUILD = process.env.STREAMBED_BUILD_DIR ?? path.join(ROOT, 'build');
const TOOL = path.join(BUILD, 'tests', 'ot_cases');

const corpusFile = readFileSync(CORPUS_PATH, 'utf8');
const corpus = JSON.parse(corpusFile);

function runTool() {
  assert.ok(existsSync(TOOL), `${TOOL} is missing: build the project first (scripts/test does)`);
  const run = spawnSync(TOOL, { input: corpusFile, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
  assert.equal(run.status, 0, `ot_cases failed: ${run.stderr}`);
  const answers = JSON.parse(run.stdout);
  assert.equal(answers.length, corpus.length);
  return answers;
}

let answers;
const answersFor = () => (answers ??= runTool());

// What ot.js computes for a case, in the shape ot_cases prints.
function otJs(c) {
  const a = TextOperation.fromJSON(c.a);
  const b = TextOperation.fromJSON(c.b);
  const [aPrime, bPrime] = TextOperation.transform(a, b);
  const out = {
    a_normal: a.toJSON(),
    b_normal: b.toJSON(),
    a_prime: aPrime.toJSON(),
    b_prime: bPrime.toJSON(),
    composed: a.compose(bPrime).toJSON(),
    result: bPrime.apply(a.apply(c.doc)),
    result_other: aPrime.apply(b.apply(c.doc)),
  };
  if (c.cursor) {
    const range = new Selection.Range(c.cursor.anchor, c.cursor.head);
    for (const [key, op] of [['cursor_a', a], ['cursor_b', b]]) {
      const moved = range.transform(op);
      out[key] = { anchor: moved.anchor, head: moved.head };
    }
  }
  return out;
}

function assertAgrees(c, ours) {
  const where = `case "${c.name}": doc ${JSON.stringify(c.doc)}, a ${JSON.stringify(c.a)}, b ${JSON.stringify(c.b)}`;
  assert.equal(ours.error, undefined, `${where}: streambed refused it: ${ours.error}`);
  assert.deepEqual(ours, otJs(c), where);
  // Convergence, which ot.js's answer satisfies too once the two are equal.
  assert.equal(ours.result, ours.result_other, where);
  assert.ok(ours.result.isWellFormed(), `${where}: the result holds half a surrogate pair`);
}

describe('OT agreement with ot.js', () => {
  const handWritten = corpus.filter((c) => !c.name.startsWith('random ') && !c.refused);
  const random = corpus.filter((c) => c.name.startsWith('random '));
  const refused = corpus.filter((c) => c.refused);

  it('the corpus is the one tests/ot/generate_corpus.mjs writes, with emoji in it', () => {
    assert.equal(corpusFile, corpusText(buildCorpus()), 'regenerate it: node tests/ot/generate_corpus.mjs');
    assert.ok(random.length >= 300 && handWritten.length >= 15 && refused.length >= 5);
    const astral = corpus.filter((c) => /[\u{10000}-\u{10FFFF}]/u.test(c.doc + JSON.stringify([c.a, c.b])));
    assert.ok(astral.length > corpus.length / 2, `only ${astral.length} cases have characters outside the BMP`);
    assert.ok(corpus.filter((c) => c.cursor).length > 100);
  });

  for (const c of handWritten) {
    it(c.name, () => assertAgrees(c, answersFor()[corpus.indexOf(c)]));
  }

  it(`${random.length} random cases from a seeded generator`, () => {
    for (const c of random) assertAgrees(c, answersFor()[corpus.indexOf(c)]);
  });

  for (const c of refused) {
    it(c.name, () => {
      const ours = answersFor()[corpus.indexOf(c)];
      assert.ok(ours.error?.includes(c.refused), `expected an error containing "${c.refused}", got ${JSON.stringify(ours)}`);
      // What ot.js does instead, so that each difference is deliberate and written down.
      let theirs;
      try {
        theirs = otJs(c);
      } catch {
        assert.equal(c.ot_js, 'throws', 'ot.js throws on it');
        return;
      }
      const texts = [theirs.result, theirs.result_other, TextOperation.fromJSON(c.a).apply(c.doc),
        TextOperation.fromJSON(c.b).apply(c.doc)];
      const lone = texts.some((t) => !t.isWellFormed());
      assert.equal(c.ot_js, lone ? 'lone-surrogate' : 'accepts', `ot.js gives ${JSON.stringify(theirs)}`);
    });
  }
});
