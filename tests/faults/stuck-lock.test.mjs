// A session holds the channel's row lock and never lets go in time (a stuck job, a forgotten
// transaction in psql): every send to that channel waits on it. The wait is bounded by
// STREAMBED_PG_STATEMENT_TIMEOUT_MS (fcgi-app/store/pg.h, the Pg wait limit): the sends get a retryable
// 503 from the worker, well before nginx would give up with a 504, no worker is left blocked, and
// once the lock is gone every retried message is stored and delivered exactly once.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { RUN_DIR, runScenario, sleep, stackctl } from './lib/harness.mjs';

const TIMEOUT_MS = Number(process.env.STREAMBED_PG_STATEMENT_TIMEOUT_MS);

// Holds `cid`'s channel row locked for `seconds` from a psql session of its own (no timeout of
// ours applies to it); resolves once the lock is taken, to { ended }: the session's end.
async function holdChannelLock(cid, seconds) {
  const sql = `BEGIN; SELECT pk FROM channels WHERE cid = '${cid.replace(/'/g, "''")}' FOR UPDATE; ` +
    `SELECT 'locked'; SELECT pg_sleep(${seconds}); COMMIT;`;
  const child = spawn('psql', ['-h', path.join(RUN_DIR, 'pg'), '-p', '5432', '-U', 'streambed', '-d', 'streambed',
    '-AtX', '-v', 'ON_ERROR_STOP=1', '-c', sql], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const ended = new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`psql did not take the lock: ${out}`)), 10000);
    const watch = (chunk) => {
      out += chunk;
      if (out.includes('locked')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', watch);
    child.stderr.on('data', (chunk) => { out += chunk; });
    child.on('exit', () => { clearTimeout(timer); reject(new Error(`psql ended before the lock: ${out}`)); });
  });
  return { ended };
}

describe('fault: a channel row locked by a stuck session', () => {
  after(() => stackctl('restore'));

  it('sends time out with a retryable 503, never a 500 or 504; all delivered once the lock goes', async () => {
    assert.ok(TIMEOUT_MS >= 100 && TIMEOUT_MS <= 10000, `STREAMBED_PG_STATEMENT_TIMEOUT_MS is set by scripts/test: ${TIMEOUT_MS}`);
    const workersBefore = stackctl('workers').split('\n').sort();
    const holdSeconds = Math.ceil((TIMEOUT_MS * 2.5) / 1000);
    const { row } = await runScenario('stuck-lock', async ({ cid }) => {
      const started = Date.now();
      const { ended: session } = await holdChannelLock(cid, holdSeconds);
      const ended = await session;
      assert.equal(ended.code, 0, ended.out);
      assert.ok(Date.now() - started >= holdSeconds * 1000, 'the lock was held for the whole time');
      await sleep(500);
    });
    assert.ok((row.statuses['503/-1'] ?? 0) > 0, `sends behind the lock got 503/-1: ${JSON.stringify(row.statuses)}`);
    const bad = Object.keys(row.statuses).filter((s) => s.startsWith('500') || s.startsWith('504') || s.startsWith('502') || s === '0');
    assert.deepEqual(bad, [], `no 500, no gateway timeout, no broken connection: ${JSON.stringify(row.statuses)}`);
    assert.deepEqual(stackctl('workers').split('\n').sort(), workersBefore, 'no worker died');
  });
});
