// The store against the stack's PostgreSQL, through two Boost.Test programs whose cases each run
// here as one test, in a process of their own:
// - build/tests/pg_pipeline_test (tests/store/pg_pipeline_test.cpp): how queued statements leave
//   with a COMMIT, roll back when one fails there, and what a connection lost mid-transaction does;
// - build/tests/lookup_cost_test (tests/store/lookup_cost_test.cpp): what the per-request lookups
//   read under the workers' generic plans, for a user in many channels.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = process.env.STREAMBED_ROOT ?? fileURLToPath(new URL('../..', import.meta.url));
const BUILD = process.env.STREAMBED_BUILD_DIR ?? path.join(ROOT, 'build');

function run(tool, args) {
  assert.ok(existsSync(tool), `${tool} is missing: build the project first (scripts/test does)`);
  assert.ok(process.env.STREAMBED_PG, 'STREAMBED_PG is not set: run this through scripts/test');
  return spawnSync(tool, args, { encoding: 'utf8', timeout: 60_000 });
}

// The case names, from Boost.Test's own listing ("name*" per enabled case, on stderr).
function caseNames(tool, atLeast) {
  const listing = run(tool, ['--list_content']);
  assert.equal(listing.status, 0, listing.stderr);
  const names = listing.stderr.split('\n').map((l) => l.trim().replace(/\*$/, '')).filter(Boolean);
  assert.ok(names.length >= atLeast, `too few cases listed: ${listing.stderr}`);
  return names;
}

function describeCases(title, program, atLeast) {
  const tool = path.join(BUILD, 'tests', program);
  describe(title, () => {
    for (const name of caseNames(tool, atLeast)) {
      it(name.replaceAll('_', ' '), () => {
        const r = run(tool, [`--run_test=${name}`, '--color_output=no', '--log_level=error']);
        assert.equal(r.status, 0, `${name} failed:\n${r.stdout}${r.stderr}`);
      });
    }
  });
}

describeCases('PostgreSQL transactions and pipelines (fcgi-app/store/pg.h)', 'pg_pipeline_test', 5);
describeCases('lookups for a user in many channels (fcgi-app/store/channels.h)', 'lookup_cost_test', 3);
