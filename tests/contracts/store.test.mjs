// The store's transactions against the stack's PostgreSQL: build/tests/pg_pipeline_test
// (tests/store/pg_pipeline_test.cpp) checks how queued statements leave with a COMMIT, roll back
// when one fails there, and what a connection lost mid-transaction does. Each of its test cases
// runs here as one test, in a process of its own.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = process.env.STREAMBED_ROOT ?? fileURLToPath(new URL('../..', import.meta.url));
const BUILD = process.env.STREAMBED_BUILD_DIR ?? path.join(ROOT, 'build');
const TOOL = path.join(BUILD, 'tests', 'pg_pipeline_test');

function run(args) {
  assert.ok(existsSync(TOOL), `${TOOL} is missing: build the project first (scripts/test does)`);
  assert.ok(process.env.STREAMBED_PG, 'STREAMBED_PG is not set: run this through scripts/test');
  return spawnSync(TOOL, args, { encoding: 'utf8', timeout: 60_000 });
}

// The case names, from Boost.Test's own listing ("name*" per enabled case, on stderr).
function caseNames() {
  const listing = run(['--list_content']);
  assert.equal(listing.status, 0, listing.stderr);
  const names = listing.stderr.split('\n').map((l) => l.trim().replace(/\*$/, '')).filter(Boolean);
  assert.ok(names.length >= 5, `too few cases listed: ${listing.stderr}`);
  return names;
}

describe('PostgreSQL transactions and pipelines (fcgi-app/store/pg.h)', () => {
  for (const name of caseNames()) {
    it(name.replaceAll('_', ' '), () => {
      const r = run([`--run_test=${name}`, '--color_output=no', '--log_level=error']);
      assert.equal(r.status, 0, `${name} failed:\n${r.stdout}${r.stderr}`);
    });
  }
});
