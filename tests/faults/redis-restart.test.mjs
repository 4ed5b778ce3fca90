// Restart Redis under load: workers keep writing (publishes fail while it is down, writes do not),
// gateways see their subscription drop and close their sockets with 1012, clients reconnect and
// recover, and presence and watchers are rebuilt from the sockets that are live.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { redis, runScenario, sleep, stackctl, until } from './lib/harness.mjs';

describe('fault: restart Redis', () => {
  after(() => stackctl('restore'));

  it('gateways and workers reconnect and resubscribe; presence is rebuilt; nothing is lost', async () => {
    await runScenario('redis-restart', async () => {
      // Enough data that Redis takes a moment to read its append-only file back, during which it
      // already accepts connections and answers LOADING: the gateways reconnect inside that window
      // and must still clean up after it (ws-gateway/gateway.cpp, ReconcileRegistry). The keys
      // expire on their own.
      redis('EVAL', "for i = 1, tonumber(ARGV[1]) do redis.call('SET', 'sbtest:pad:' .. i, 'x', 'EX', 300) end return 1",
        '0', '300000');
      stackctl('stop-redis');
      await sleep(1500);
      stackctl('restore');
    }, {
      after: async ({ sdk, rooms, cid }) => {
        const users = [...sdk, ...rooms].map((w) => w.userId).sort();
        await until('every watcher to be connected again', () => [...sdk, ...rooms].every((w) => w.healthy()), 60000);
        // Presence and the channel's watchers come back from the live sockets.
        await until('presence rebuilt', () => users.every((u) => redis('SISMEMBER', 'sb:online', u) === '1'), 20000);
        // ...and nothing else: the sockets closed during the outage (whose entries came back with
        // Redis's append-only file) are gone, so each user has exactly its one live socket.
        let seen = '';
        const exact = () => {
          const watching = redis('HGETALL', `sb:watchers:${cid}`).split('\n').filter(Boolean);
          const counts = Object.fromEntries(watching.reduce((acc, v, i) => (i % 2 ? acc : [...acc, [v, watching[i + 1]]]), []));
          const conns = Object.fromEntries([...sdk, ...rooms].map((w) =>
            [w.userId, { live: String(w.connectionId()), registered: redis('SMEMBERS', `sb:uconns:${w.userId}`).split('\n').filter(Boolean) }]));
          seen = JSON.stringify({ watchers: counts, connections: conns });
          return [...sdk, ...rooms].every((w) => counts[w.userId] === '1' && conns[w.userId].registered.join() === conns[w.userId].live);
        };
        await until(() => `watchers and connections rebuilt exactly; last seen ${seen}`, exact, 20000);
        assert.ok(rooms.every((w) => w.reconnects >= 1), 'the room sockets were closed (1012) and resumed');
      },
    });
  });
});
