// kill -9 one gateway under load: its clients reconnect through nginx to the other gateway and
// recover what they missed; a surviving gateway cleans the dead one's sockets out of the registry
// (connections, watchers, presence) within its sweep window.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { gatewayNode, nodeOf, redis, runScenario, stackctl, until } from './lib/harness.mjs';

describe('fault: kill -9 a gateway', () => {
  after(() => stackctl('restore'));

  it('its clients move to the other gateway and recover; its registry entries are cleaned', async () => {
    let victim = -1;
    let deadNode = -1;
    let moved = 0;
    let cleanedInMs = 0;
    await runScenario('gateway-kill', async ({ sdk, rooms, cid }) => {
      const nodes = [gatewayNode(0), gatewayNode(1)];
      const onNode = (n) => [...sdk, ...rooms].filter((w) => nodeOf(w.connectionId()) === n);
      victim = onNode(nodes[0]).length >= onNode(nodes[1]).length ? 0 : 1;
      deadNode = nodes[victim];
      const victims = onNode(deadNode);
      assert.ok(victims.length > 0, 'some watchers are on the gateway to kill');
      const deadConns = redis('SMEMBERS', `sb:gwconns:${deadNode}`).split('\n').filter(Boolean);
      const killedAt = Date.now();
      stackctl('kill-gateway', String(victim));
      // Every client of the dead gateway reconnects through nginx, to the survivor.
      await until('the dead gateway\'s clients to reconnect elsewhere', () =>
        victims.every((w) => w.healthy() && nodeOf(w.connectionId()) !== deadNode), 60000);
      moved = victims.length;
      // The survivor's janitor removes the dead sockets: connections, watchers, presence.
      await until('the dead gateway\'s registry entries to be cleaned', () =>
        redis('EXISTS', `sb:gwconns:${deadNode}`) === '0' &&
        deadConns.every((id) => redis('EXISTS', `sb:conn:${id}`) === '0'), 40000, 500);
      cleanedInMs = Date.now() - killedAt;
      // The channel's watchers are exactly the live ones again.
      const watchers = redis('HKEYS', `sb:watchers:${cid}`).split('\n').filter(Boolean).sort();
      assert.deepEqual(watchers, [...sdk, ...rooms].map((w) => w.userId).sort());
      // ... and the watcher set, which sends diff the members against, says the same.
      assert.deepEqual(redis('SMEMBERS', `sb:watcher-set:${cid}`).split('\n').filter(Boolean).sort(), watchers);
      stackctl('restore');  // the supervisor (systemd in production) starts it again
    });
    assert.ok(moved > 0);
    assert.ok(cleanedInMs < 40000, `cleaned in ${cleanedInMs} ms`);
  });
});
