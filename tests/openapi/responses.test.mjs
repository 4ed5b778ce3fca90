// Every response the contract tests received (recorded by tests/contracts/lib/streambed.mjs into
// STREAMBED_OPENAPI_RECORD) falls under an operation and a status of docs/openapi.yaml, and its
// body validates against that response's schema. One test per described operation and status that
// got traffic, one for the responses that fall under none. scripts/test runs this file after the
// contract suites.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { errorValidator, matchRequest, operations, responseValidator } from './lib/spec.mjs';

const RECORD_DIR = process.env.STREAMBED_OPENAPI_RECORD;

function loadRecords() {
  if (!RECORD_DIR || !fs.existsSync(RECORD_DIR)) return [];
  const records = [];
  for (const name of fs.readdirSync(RECORD_DIR).filter((n) => n.endsWith('.jsonl')).sort()) {
    for (const line of fs.readFileSync(path.join(RECORD_DIR, name), 'utf8').split('\n')) {
      if (line) records.push(JSON.parse(line));
    }
  }
  return records;
}

const records = loadRecords();

test('the contract tests recorded responses', () => {
  assert.ok(RECORD_DIR, 'STREAMBED_OPENAPI_RECORD is not set: run this through scripts/test with the contract suites');
  assert.ok(records.length > 0, `no responses recorded in ${RECORD_DIR}: run the contract suites first`);
});

const describe = (r) => `${r.method} ${r.path} -> ${r.status} (${r.file})`;
const errorsOf = (validate) =>
  validate.errors
    .slice(0, 8)
    .map((e) => `    ${e.instancePath || '/'} ${e.message}${e.params && Object.keys(e.params).length ? ' ' + JSON.stringify(e.params) : ''}`)
    .join('\n');

// Group by (operation, status); the rest are the router's own 404 and 405 or undescribed statuses.
const groups = new Map();
const unrouted = [];
const undescribed = [];
for (const r of records) {
  const m = matchRequest(r.method, r.path);
  if (!m || !m.path) {
    unrouted.push({ r, allowed: m?.allowed ?? null });
    continue;
  }
  const validate = responseValidator(m.path, r.method, r.status);
  if (!validate) {
    undescribed.push(r);
    continue;
  }
  const key = `${r.method} ${m.path} ${r.status}`;
  if (!groups.has(key)) groups.set(key, { validate, records: [] });
  groups.get(key).records.push(r);
}

test('every recorded response has a described operation and status', () => {
  assert.deepEqual(
    undescribed.map(describe),
    [],
    'responses whose status docs/openapi.yaml does not describe for that operation (describe the status, or fix the server)',
  );
});

// A request that no operation covers is answered by the router itself: 404 for an unknown path, 405
// (with Allow) for a known path with another method; both in the error envelope (info.description).
test('requests outside the described operations got the router 404 or 405 in the error envelope', () => {
  const validate = errorValidator();
  const bad = [];
  for (const { r, allowed } of unrouted) {
    const expected = allowed ? 405 : 404;
    if (r.status !== expected) bad.push(`${describe(r)}: expected ${expected}, no operation describes this request`);
    else if (!validate(r.body)) bad.push(`${describe(r)}:\n${errorsOf(validate)}`);
  }
  assert.deepEqual(bad, []);
});

for (const [key, { validate, records: rs }] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
  test(`${key} (${rs.length} response${rs.length === 1 ? '' : 's'}) validates`, () => {
    const failures = [];
    for (const r of rs) {
      if (!validate(r.body)) failures.push(`${describe(r)}:\n${errorsOf(validate)}`);
    }
    // Report a handful: one drift usually fails many responses the same way.
    assert.equal(failures.length, 0, `${failures.length} of ${rs.length} responses do not validate:\n${failures.slice(0, 5).join('\n')}`);
  });
}

test('coverage of the described operations by the contract tests (informational)', (t) => {
  const seen = new Set([...groups.keys()].map((k) => k.split(' ').slice(0, 2).join(' ')));
  const unseen = operations.filter((o) => !o.gateway && !seen.has(`${o.method} ${o.path}`)).map((o) => `${o.method} ${o.path}`);
  t.diagnostic(`${seen.size} operations got responses, ${groups.size} (operation, status) pairs; without traffic: ${unseen.join(', ') || 'none'}`);
});
