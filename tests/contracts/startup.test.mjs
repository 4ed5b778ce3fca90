// Start-up refusals (issue 2): a process with a bad configuration stops with a sentence saying
// what to fix, and never echoes the secret it refused.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';

const BUILD = process.env.STREAMBED_BUILD_DIR ?? path.join(process.env.STREAMBED_ROOT, 'build');
const BINARIES = {
  'streambed-api': path.join(BUILD, 'fcgi-app', 'streambed-api'),
  'streambed-gateway': path.join(BUILD, 'ws-gateway', 'streambed-gateway'),
  'streambed-push': path.join(BUILD, 'push', 'streambed-push'),
};

function start(binary, env) {
  // A clean environment: only what the case sets (and PATH), so the test stack's settings don't leak in.
  return spawnSync(binary, [], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 10000 });
}

describe('a short API secret stops start-up', () => {
  for (const [name, binary] of Object.entries(BINARIES)) {
    it(`${name} refuses a 31-byte secret and names the variable`, () => {
      const secret = 's'.repeat(31);
      const run = start(binary, { STREAMBED_API_KEY: 'key', STREAMBED_API_SECRET: secret });
      assert.equal(run.status, 2, `${run.stdout}${run.stderr}`);
      assert.match(run.stderr, /STREAMBED_API_SECRET must be at least 32 bytes/);
      assert.ok(!run.stderr.includes(secret), 'the refused secret is not echoed');
    });
  }
  it('a missing API key is refused too', () => {
    const run = start(BINARIES['streambed-api'], { STREAMBED_API_SECRET: 'x'.repeat(40) });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /STREAMBED_API_KEY is not set/);
  });
  it('a bad rate-limit setting is refused at start-up', () => {
    const run = start(BINARIES['streambed-api'], {
      STREAMBED_API_KEY: 'key', STREAMBED_API_SECRET: 'x'.repeat(40), STREAMBED_RATE_LIMITS: 'send_mesage=5',
    });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /unknown endpoint class 'send_mesage'/);
  });
});
