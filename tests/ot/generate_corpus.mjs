// Writes tests/ot/corpus.json: the cases on which tests/contracts/ot_agreement.test.mjs checks
// that streambed's common/ot.h (through build/tests/ot_cases) and ot.js agree.
//
//   node tests/ot/generate_corpus.mjs      rewrite the corpus (only after changing this file)
//
// The corpus is a JSON array of {name, doc, a, b, cursor?}; a and b are concurrent operations on
// doc in ot.js's wire form. Hand-written cases come first, then random ones from a seeded
// generator, so the file is the same on every run; the contract test checks that it still
// matches this script. Cases marked `refused` are ones streambed rejects on purpose: `refused` is
// a fragment of its error and `ot_js` says what ot.js does with them ("throws", "accepts", or
// "lone-surrogate": it accepts and produces text with half a surrogate pair).
//
// This script does not use ot.js: the operations are built from the documents alone.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SEED = 0x5eed07;
export const RANDOM_CASES = 320;

// Original text and inserts mix ASCII, precomposed accents, combining marks, CJK, and code
// points outside the BMP (two UTF-16 units each): emoji, regional indicators, a ZWJ, music.
const DOC_CHARS = ['a', 'b', 'c', ' ', 'é', 'ß', '\u0301', '中', '😀', '🇫', '🇷', '👩', '\u200d', '👧', '𝄞', '\n'];
const INSERT_CHARS = ['X', 'y', 'Ñ', 'ü', '\u0308', '日', '🎉', '👍', '🏽', '𝄫', '\n', ' '];

// mulberry32: a tiny, well-known 32-bit generator; enough for test data and fully determined by the seed.
function generator(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const below = (n) => Math.floor(next() * n);
  const pick = (list) => list[below(list.length)];
  return { below, pick };
}

function randomText(g, maxChars) {
  let s = '';
  for (let i = 1 + g.below(maxChars); i > 0; i--) s += g.pick(INSERT_CHARS);
  return s;
}

// A valid operation on `chars` (the document's code points), cut at code point boundaries and
// left un-normalised on purpose: neighbouring retains, deletes before inserts, consecutive
// inserts. Both implementations must normalise it the same way.
function randomOp(g, chars) {
  const ops = [];
  let i = 0;
  for (;;) {
    const choice = g.below(10);
    if (i === chars.length) {
      if (choice < 3) ops.push(randomText(g, 4));
      return ops;
    }
    const run = Math.min(chars.length - i, 1 + g.below(5));
    const units = chars.slice(i, i + run).join('').length;
    if (choice < 5) {
      ops.push(units);
    } else if (choice < 8) {
      ops.push(-units);
    } else {
      ops.push(randomText(g, 4));
      continue;
    }
    i += run;
  }
}

function randomPosition(g, chars) {
  return chars.slice(0, g.below(chars.length + 1)).join('').length;
}

const HAND_WRITTEN = [
  { name: 'both insert at one position: a goes first', doc: '', a: ['x'], b: ['y'] },
  { name: 'both insert an emoji after an emoji', doc: '😀!', a: [2, '🎉', 1], b: [2, '👍', 1], cursor: { anchor: 2, head: 2 } },
  { name: 'insert an emoji in front while the other deletes everything', doc: 'héllo', a: ['😀', 5], b: [-5] },
  { name: 'both delete the same emoji', doc: 'a😀b', a: [1, -2, 1], b: [1, -2, 1], cursor: { anchor: 3, head: 3 } },
  { name: 'overlapping deletes, one replacing an emoji', doc: 'ab😀cdé', a: [1, -4, 2], b: [2, -2, 'ü', 3] },
  { name: 'flags are two astral characters each', doc: '🇫🇷', a: [2, -2, '🇪🇸'], b: [-2, '🇩🇪', 2] },
  { name: 'ZWJ family: drop a joiner while adding a skin tone', doc: '👩\u200d👩\u200d👧', a: [5, -1, 2], b: [2, '🏽', 6] },
  { name: 'two combining marks on one letter', doc: 'cafe', a: [4, '\u0301'], b: [4, '\u0308'], cursor: { anchor: 4, head: 0 } },
  { name: 'precomposed replaced by decomposed', doc: 'café', a: [3, -1, 'e\u0301'], b: [4, '!'] },
  { name: 'insert inside a region the other deletes', doc: 'abcdef', a: [2, '😀', 4], b: [1, -4, 1], cursor: { anchor: 3, head: 3 } },
  { name: 'insert at the end of the other deletion', doc: 'abc', a: [1, -2], b: [3, 'Y'], cursor: { anchor: 2, head: 2 } },
  { name: 'empty document, empty operation', doc: '', a: [], b: ['日本'] },
  { name: 'un-normalised input: split retains, delete before insert', doc: 'abcdef', a: [1, 1, -2, 'X', -1, 1], b: [3, '😀', 3] },
  { name: 'musical symbols outside the BMP', doc: '𝄞𝄢', a: [2, -2, '𝄫'], b: [-2, 2], cursor: { anchor: 0, head: 4 } },
  { name: 'both delete everything', doc: '😀é', a: [-3], b: [-2, 1] },
  { name: 'CJK and a newline at one position', doc: '中文', a: [1, '\n', 1], b: [1, '日', 1], cursor: { anchor: 1, head: 1 } },
  { name: 'selection across an emoji', doc: 'x😀y😀z', a: [1, '🎉', 6], b: [3, -1, 3], cursor: { anchor: 1, head: 6 } },
  { name: 'inserts on both sides of a deleted emoji', doc: 'a😀b', a: [1, 'L', 2, 'R', 1], b: [1, -2, 1], cursor: { anchor: 3, head: 1 } },
  { name: 'long text with emoji throughout', doc: 'Grüße 😀 from 中国 🇫🇷 👩\u200d👧 e\u0301 '.repeat(8), a: [12, -20, 'Ça va? 🎉', 216], b: [6, 'X', 100, -8, 'y', 134] },
  {
    name: 'refused: a retain ends inside an emoji', doc: 'a😀b', a: [2, -1, 1], b: [4],
    refused: 'surrogate pair', ot_js: 'lone-surrogate',
  },
  {
    name: 'refused: an insert between the halves of an emoji', doc: '😀', a: [2], b: [1, 'x', 1],
    refused: 'surrogate pair', ot_js: 'lone-surrogate',
  },
  {
    name: 'refused: an operation longer than the document', doc: 'abc', a: [4], b: [3],
    refused: 'retain count exceeds document', ot_js: 'throws',
  },
  {
    name: 'refused: a retain counting code points, not UTF-16 units', doc: '😀😀', a: [2, 'x'], b: [4],
    refused: 'covers 2 of the document\'s 4 UTF-16 units', ot_js: 'throws',
  },
  {
    name: 'refused: an empty insert', doc: 'ab', a: [1, '', 1], b: [2],
    refused: 'an insert must not be empty', ot_js: 'accepts',
  },
  {
    name: 'refused: a fractional count', doc: 'ab', a: [1.5, 0.5], b: [2],
    refused: 'counts must be integers', ot_js: 'accepts',
  },
  {
    name: 'refused: a zero count', doc: 'ab', a: [0, 2], b: [2],
    refused: 'a count must not be zero', ot_js: 'throws',
  },
];

export function buildCorpus() {
  const g = generator(SEED);
  const cases = HAND_WRITTEN.map((c) => ({ ...c }));
  for (let i = 0; i < RANDOM_CASES; i++) {
    // Mostly short documents, where positions collide often; some longer ones.
    const length = i % 10 === 9 ? 40 + g.below(120) : g.below(16);
    const chars = [];
    for (let k = 0; k < length; k++) chars.push(g.pick(DOC_CHARS));
    const c = { name: `random ${i}`, doc: chars.join(''), a: randomOp(g, chars), b: randomOp(g, chars) };
    if (g.below(2) === 0) c.cursor = { anchor: randomPosition(g, chars), head: randomPosition(g, chars) };
    cases.push(c);
  }
  return cases;
}

export function corpusText(cases) {
  return `[\n${cases.map((c) => JSON.stringify(c)).join(',\n')}\n]\n`;
}

export const CORPUS_PATH = fileURLToPath(new URL('./corpus.json', import.meta.url));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cases = buildCorpus();
  writeFileSync(CORPUS_PATH, corpusText(cases));
  console.log(`wrote ${cases.length} cases to ${CORPUS_PATH}`);
}
