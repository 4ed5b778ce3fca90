// Issue 3, events sent by clients (STREAM-PROTOCOL.md §4.4, §5): typing start/stop (with
// parent_id in threads), custom events, and how POST /channels/{type}/{id}/event fails; presence
// subscriptions from queries.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  TIME_RE, api, connectUser, connectUsers, createUsers, expectError, recordEvents, serverClient, uniqueId, userToken,
} from './lib/streambed.mjs';

async function trio() {
  const ids = [uniqueId('a'), uniqueId('b'), uniqueId('c')];
  const clients = await connectUsers(ids);
  const id = uniqueId('ch');
  const channels = [];
  channels.push(clients[0].channel('messaging', id, { members: ids }));
  await channels[0].watch();
  for (const c of clients.slice(1)) {
    const ch = c.channel('messaging', id);
    await ch.watch();
    channels.push(ch);
  }
  return { ids, clients, channels, id, cid: `messaging:${id}`, close: () => clients.close() };
}

describe('event envelope', () => {
  it('every channel-scoped event carries type, cid, channel_id, channel_type, created_at and the user', async () => {
    const t = await trio();
    const [extra] = await createUsers(1, 'ex');
    try {
      const events = recordEvents(t.clients[1]);
      const [a, , c] = t.channels;
      const m = (await a.sendMessage({ text: 'one' })).message;
      await t.clients[0].updateMessage({ id: m.id, text: 'one, edited' });
      await a.sendReaction(m.id, { type: 'like' });
      await a.deleteReaction(m.id, 'like');
      await a.sendMessage({ text: 'reply', parent_id: m.id });
      await a.keystroke();
      await a.stopTyping();
      await a.sendEvent({ type: 'custom_one' });
      await a.addMembers([extra]);
      await a.addModerators([t.ids[2]]);
      await a.removeMembers([extra]);
      await a.updatePartial({ set: { topic: 'x' } });
      await c.markRead();
      await a.banUser(extra, {});
      await a.unbanUser(extra);
      await t.clients[0].deleteMessage(m.id);
      await a.truncate();
      await c.stopWatching();
      await events.waitFor('user.watching.stop');
      const expected = ['message.new', 'message.updated', 'reaction.new', 'reaction.deleted', 'typing.start', 'typing.stop',
        'custom_one', 'member.added', 'member.updated', 'member.removed', 'channel.updated', 'message.read', 'user.banned',
        'user.unbanned', 'message.deleted', 'channel.truncated', 'user.watching.stop'];
      const seen = new Set(events.events.map((e) => e.type));
      for (const type of expected) assert.ok(seen.has(type), `received ${type}`);
      for (const e of events.events.filter((x) => x.cid)) {
        assert.equal(e.cid, t.cid, e.type);
        assert.equal(e.channel_id, t.id, e.type);
        assert.equal(e.channel_type, 'messaging', e.type);
        assert.match(e.created_at, TIME_RE, e.type);
        assert.ok(e.user?.id, `${e.type} names its user`);
        assert.match(e.user.created_at, TIME_RE, `${e.type}: the user is a full UserResponse`);
      }
    } finally {
      await t.close();
    }
  });
});

describe('typing', () => {
  it('keystroke() and stopTyping() reach every watcher as typing.start / typing.stop with the typer', async () => {
    const t = await trio();
    try {
      const evB = recordEvents(t.clients[1]);
      const evC = recordEvents(t.clients[2]);
      await t.channels[0].keystroke();
      for (const ev of [await evB.waitFor('typing.start'), await evC.waitFor('typing.start')]) {
        assert.equal(ev.cid, t.cid);
        assert.equal(ev.channel_id, t.id);
        assert.equal(ev.channel_type, 'messaging');
        assert.equal(ev.user.id, t.ids[0]);
        assert.match(ev.created_at, TIME_RE);
        assert.equal(ev.parent_id, undefined);
      }
      assert.ok(t.channels[1].state.typing[t.ids[0]], 'the SDK shows the typer');
      await t.channels[0].stopTyping();
      const stop = await evB.waitFor('typing.stop');
      assert.equal(stop.user.id, t.ids[0]);
      assert.equal(t.channels[1].state.typing[t.ids[0]], undefined);
    } finally {
      await t.close();
    }
  });

  it('typing in a thread carries parent_id', async () => {
    const t = await trio();
    try {
      const parent = (await t.channels[0].sendMessage({ text: 'thread' })).message;
      const ev = recordEvents(t.clients[0]);
      await t.channels[1].keystroke(parent.id);
      const start = await ev.waitFor('typing.start');
      assert.equal(start.parent_id, parent.id);
      assert.equal(start.user.id, t.ids[1]);
      await t.channels[1].stopTyping(parent.id);
      assert.equal((await ev.waitFor('typing.stop')).parent_id, parent.id);
    } finally {
      await t.close();
    }
  });

  it('the REST reply is {"event": <the enriched event>}; the body cannot impersonate another user', async () => {
    const t = await trio();
    try {
      const evB = recordEvents(t.clients[1]);
      const res = await t.channels[0].sendEvent({ type: 'typing.start', user: { id: t.ids[2] }, user_id: t.ids[2] });
      assert.equal(res.event.type, 'typing.start');
      assert.equal(res.event.cid, t.cid);
      assert.equal(res.event.user.id, t.ids[0]);
      assert.equal((await evB.waitFor('typing.start')).user.id, t.ids[0]);
    } finally {
      await t.close();
    }
  });

  it('a livestream (typing_events off) withholds typing and refuses the event with 403 code 17', async () => {
    const [owner] = await createUsers(1, 'ls');
    const id = uniqueId('live');
    await serverClient().channel('livestream', id, { created_by_id: owner, members: [owner] }).create();
    const client = await connectUser(owner);
    try {
      const ch = client.channel('livestream', id);
      const state = await ch.watch();
      assert.equal(state.channel.config.typing_events, false);
      assert.ok(!state.channel.own_capabilities.includes('send-typing-events'));
      await expectError(ch.sendEvent({ type: 'typing.start' }), 403, 17);
    } finally {
      await client.disconnectUser();
    }
  });
});

describe('custom events', () => {
  it('a custom event reaches the watchers with its fields, the user and the channel', async () => {
    const t = await trio();
    try {
      const evC = recordEvents(t.clients[2]);
      const res = await t.channels[1].sendEvent({ type: 'game_move', move: { x: 3, y: 4 }, note: 'e4' });
      assert.equal(res.event.type, 'game_move');
      assert.deepEqual(res.event.move, { x: 3, y: 4 });
      const ev = await evC.waitFor('game_move');
      assert.equal(ev.cid, t.cid);
      assert.equal(ev.user.id, t.ids[1]);
      assert.deepEqual(ev.move, { x: 3, y: 4 });
      assert.equal(ev.note, 'e4');
      assert.match(ev.created_at, TIME_RE);
    } finally {
      await t.close();
    }
  });

  it('the body cannot override the server\'s fields of a custom event', async () => {
    const t = await trio();
    try {
      const evB = recordEvents(t.clients[1]);
      await t.channels[0].sendEvent({ type: 'ping_me', cid: 'messaging:elsewhere', channel_id: 'elsewhere', created_at: '2000-01-01T00:00:00Z', user: { id: 'mallory' } });
      const ev = await evB.waitFor('ping_me');
      assert.equal(ev.cid, t.cid);
      assert.equal(ev.channel_id, t.id);
      assert.equal(ev.user.id, t.ids[0]);
      assert.notEqual(ev.created_at, '2000-01-01T00:00:00Z');
    } finally {
      await t.close();
    }
  });
});

describe('send-event failures', () => {
  it('each malformed event is 400 code 4 and nothing is delivered', async () => {
    const t = await trio();
    try {
      const evB = recordEvents(t.clients[1]);
      const url = `/api/channels/messaging/${t.id}/event/`;
      const call = (body) => api('POST', url, { token: userToken(t.ids[0]), query: { user_id: t.ids[0] }, body });
      for (const body of [
        {},
        { event: 'typing.start' },
        { event: {} },
        { event: { type: '' } },
        { event: { type: 42 } },
        { event: { type: 'message.new', message: { text: 'forged' } } },
        { event: { type: 'health.check' } },
        { event: { type: 'x'.repeat(65) } },
        { event: { type: 'big', blob: 'x'.repeat(6000) } },
      ]) {
        await expectError(call(body), 400, 4);
      }
      const bad = await fetch(`${process.env.STREAMBED_URL}${url}?api_key=${process.env.STREAMBED_API_KEY}`, {
        method: 'POST', headers: { authorization: userToken(t.ids[0]), 'stream-auth-type': 'jwt', 'content-type': 'application/json' }, body: '{"event": {',
      });
      assert.equal(bad.status, 400);
      assert.equal((await bad.json()).code, 4);
      await t.channels[0].sendEvent({ type: 'marker' });
      await evB.waitFor('marker');
      // (user.watching.* of the other watchers may still be arriving: only what this test sent counts.)
      const sentHere = evB.events.filter((e) => e.cid === t.cid && !e.type.startsWith('user.watching.'));
      assert.deepEqual(sentHere.map((e) => e.type), ['marker'], 'no refused event was delivered');
    } finally {
      await t.close();
    }
  });

  it('a non-member is 403 code 17, an unknown channel 404 code 16, an unknown type of channel 404', async () => {
    const t = await trio();
    const stranger = uniqueId('stranger');
    try {
      const call = (path) => api('POST', path, { token: userToken(stranger), query: { user_id: stranger }, body: { event: { type: 'typing.start' } } });
      await expectError(call(`/api/channels/messaging/${t.id}/event/`), 403, 17);
      await expectError(call(`/api/channels/messaging/${uniqueId('nope')}/event/`), 404, 16);
      await expectError(call(`/api/channels/nosuchtype/${t.id}/event/`), 404, 16);
    } finally {
      await t.close();
    }
  });
});

describe('presence', () => {
  it('presence:true on queryChannels subscribes to the members\' user.presence.changed', async () => {
    const alice = uniqueId('alice');
    const [bob] = await createUsers(1, 'bob');
    const ca = await connectUser(alice);
    try {
      const id = uniqueId('ch');
      await ca.channel('messaging', id, { members: [alice, bob] }).create();
      const [ch] = await ca.queryChannels({ cid: { $in: [`messaging:${id}`] } }, {}, { presence: true, watch: true });
      assert.equal(ch.state.members[bob].user.online, false);
      const events = recordEvents(ca);
      const cb = await connectUser(bob);
      const on = await events.waitFor((e) => e.type === 'user.presence.changed' && e.user.id === bob);
      assert.equal(on.user.online, true);
      assert.match(on.user.last_active, TIME_RE);
      const mark = events.mark();
      await cb.disconnectUser();
      const off = await events.waitFor((e) => e.type === 'user.presence.changed' && e.user.id === bob, { since: mark, timeout: 15000 });
      assert.equal(off.user.online, false);
    } finally {
      await ca.disconnectUser();
    }
  });
});
