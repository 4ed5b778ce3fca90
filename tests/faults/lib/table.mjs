// Prints the fault tests' table (one JSON row per scenario, written by harness.mjs).
import fs from 'node:fs';

const rows = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const cols = [
  ['fault', 'fault'], ['sent', 'sent'], ['acked', 'acknowledged'], ['stored', 'stored once'],
  ['delivered', 'delivered to every watcher'], ['recovered', 're-read after a gap'],
  ['resent', 're-sent, dropped by seq'], ['lost', 'lost'],
];
const cells = rows.map((r) => cols.map(([k]) => String(r[k])));
const widths = cols.map(([, h], i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
const line = (vals) => `| ${vals.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join(' | ')} |`;
console.log(line(cols.map(([, h]) => h)));
console.log(`|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
for (const c of cells) console.log(line(c));
