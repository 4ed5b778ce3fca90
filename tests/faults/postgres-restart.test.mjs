// Restart PostgreSQL under load: requests during the outage get 503 with the retryable code -1
// (never a 500, no worker crashes), and the workers reconnect on their own once it is back.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { runScenario, sleep, stackctl } from './lib/harness.mjs';

describe('fault: restart PostgreSQL', () => {
  after(() => stackctl('restore'));

  it('503 with a retryable code during the outage, no crash, recovery on its own', async () => {
    const workersBefore = stackctl('workers').split('\n').sort();
    const { row } = await runScenario('postgres-restart', async () => {
      stackctl('stop-postgres');
      await sleep(2000);
      stackctl('restore');
    });
    assert.ok((row.statuses['503/-1'] ?? 0) > 0, `requests during the outage got 503/-1: ${JSON.stringify(row.statuses)}`);
    assert.equal(Object.keys(row.statuses).filter((s) => s.startsWith('500')).length, 0, JSON.stringify(row.statuses));
    assert.deepEqual(stackctl('workers').split('\n').sort(), workersBefore, 'no worker died');
  });
});
