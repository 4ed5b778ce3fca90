// kill -9 one FastCGI worker mid-request, three times, under load: the pool replaces it, nginx
// answers the request in hand with 502, and the client's retry with the same message id is
// idempotent ("already exists" when the first attempt had committed).

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { runScenario, sleep, stackctl, until } from './lib/harness.mjs';

describe('fault: kill -9 a FastCGI worker', () => {
  after(() => stackctl('restore'));

  it('the pool replaces it; every acknowledged message is stored once and reaches every watcher', async () => {
    const workers = stackctl('workers').split('\n').length;
    const killed = [];
    await runScenario('worker-kill', async () => {
      for (let i = 0; i < 3; i++) {
        killed.push(stackctl('kill-worker'));
        await sleep(700);
      }
      await until('the pool to have every worker again', () => {
        const now = stackctl('workers').split('\n');
        return now.length === workers && killed.every((pid) => !now.includes(pid));
      }, 20000);
    });
    assert.equal(killed.length, 3);
  });
});
