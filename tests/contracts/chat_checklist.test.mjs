// STREAM-PROTOCOL.md §9, item by item: the things that silently break the UI or log console
// errors. One test per item that a server can get wrong over REST or the WebSocket.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { StreamChat } from 'stream-chat';

import {
  API_KEY, BASE_URL, addTrailingSlash, api, connectQuery, connectUser, createUsers, openSocket, recordEvents,
  serverClient, uniqueId, userToken, watchingPair,
} from './lib/streambed.mjs';

const pair = () => watchingPair();

describe('STREAM-PROTOCOL.md §9 checklist', () => {
  it('1. the first health.check has connection_id, so queries go out with watch:true and live events arrive', async () => {
    const alice = uniqueId('alice');
    const client = await connectUser(alice);
    const sent = [];
    client.axiosInstance.interceptors.request.use((config) => {
      sent.push(config);
      return config;
    });
    try {
      assert.equal(client._hasConnectionID(), true);
      assert.match(client._getConnectionID(), /^\d+$/);
      const ch = client.channel('messaging', uniqueId('ch'), { members: [alice] });
      await ch.watch();
      await client.queryChannels({ cid: { $in: [ch.cid] } });
      const query = sent.find((c) => c.url.includes('/channels/') && c.url.includes('/query'));
      const list = sent.find((c) => /\/channels\/?(\?|$)/.test(c.url));
      for (const req of [query, list]) {
        assert.equal(req.params.connection_id, client._getConnectionID());
        assert.equal(JSON.parse(req.data).watch, true);
      }
      const events = recordEvents(client);
      await serverClient().channel('messaging', ch.id).sendMessage({ text: 'live', user_id: alice });
      await events.waitFor('message.new');
    } finally {
      await client.disconnectUser();
    }
  });

  it('2. `me` has mutes, channel_mutes and blocked_user_ids arrays; a message.new from another user is handled', async () => {
    const p = await pair();
    try {
      for (const c of [p.ca, p.cb]) {
        assert.ok(Array.isArray(c.user.mutes));
        assert.ok(Array.isArray(c.user.channel_mutes));
        assert.ok(Array.isArray(c.user.blocked_user_ids));
        assert.ok(Array.isArray(c.mutedUsers));
        assert.ok(Array.isArray(c.mutedChannels));
      }
      const events = recordEvents(p.cb);
      await p.chA.sendMessage({ text: 'no TypeError please' });
      await events.waitFor('message.new');
      assert.equal(p.chB.countUnread(), 1);
    } finally {
      await p.close();
    }
  });

  it('3. the client\'s ping (a JSON array frame) is answered with a health.check', async () => {
    const id = uniqueId('ping');
    const ws = await openSocket(connectQuery(id, userToken(id)));
    try {
      const first = await ws.waitFor((f) => f.type === 'health.check');
      ws.send(JSON.stringify([{ type: 'health.check', client_id: `${id}--abc` }]));
      const reply = await ws.waitFor((f) => f.type === 'health.check' && f !== first);
      assert.equal(reply.connection_id, first.connection_id);
      assert.equal(reply.cid, '*');
      assert.ok(reply.created_at);
    } finally {
      ws.close();
    }
  });

  it('4. ChannelResponse has cid, and typing_events / read_events / replies are on for messaging', async () => {
    const p = await pair();
    try {
      const state = await p.chA.query({});
      assert.equal(state.channel.cid, p.cid);
      assert.equal(state.channel.config.typing_events, true);
      assert.equal(state.channel.config.read_events, true);
      assert.equal(state.channel.config.replies, true);
      assert.equal(p.ca.configs[p.cid].typing_events, true, 'the client filed the config under cid');
      const [listed] = await p.ca.queryChannels({ cid: { $in: [p.cid] } });
      assert.equal(listed.data.cid, p.cid);
      assert.equal(listed.getConfig().read_events, true);
    } finally {
      await p.close();
    }
  });

  it('5. own_capabilities is present and complete for a member (read-events included)', async () => {
    const p = await pair();
    try {
      for (const caps of [(await p.chA.query({})).channel.own_capabilities, (await p.cb.queryChannels({ cid: { $in: [p.cid] } }))[0].data.own_capabilities]) {
        for (const cap of ['send-message', 'send-reaction', 'send-reply', 'update-own-message', 'delete-own-message', 'quote-message',
          'pin-message', 'read-events', 'typing-events', 'mute-channel', 'flag-message']) {
          assert.ok(caps.includes(cap), cap);
        }
      }
    } finally {
      await p.close();
    }
  });

  it('6. messages and members are always arrays: state:false, create, distinct channels, queryChannels', async () => {
    const alice = uniqueId('alice');
    const [bob] = await createUsers(1, 'bob');
    const t = userToken(alice);
    const q = { user_id: alice };
    const replies = [
      await api('POST', `/api/channels/messaging/${uniqueId('ch')}/query/`, { token: t, query: q, body: { state: false, data: { members: [alice] } } }),
      await api('POST', `/api/channels/messaging/${uniqueId('ch')}/query/`, { token: t, query: q, body: { watch: false, state: false, presence: false } }),
      await api('POST', '/api/channels/messaging/query/', { token: t, query: q, body: { state: true, data: { members: [alice, bob] } } }),
    ];
    for (const r of replies) {
      assert.equal(r.status, 200, r.text);
      assert.ok(Array.isArray(r.json.messages));
      assert.ok(Array.isArray(r.json.members));
      assert.ok(Array.isArray(r.json.read));
      assert.ok(Array.isArray(r.json.watchers));
      assert.ok(Array.isArray(r.json.pinned_messages));
    }
    const list = await api('POST', '/api/channels/', { token: t, query: q, body: { filter_conditions: { members: { $in: [alice] } }, state: false } });
    for (const c of list.json.channels) {
      assert.ok(Array.isArray(c.messages));
      assert.ok(Array.isArray(c.members));
    }
  });

  it('7. pages are ascending and full-sized: 25 for queryChannels, 100 for a channel query without a limit', async () => {
    const [owner] = await createUsers(1, 'pg');
    const id = uniqueId('ch');
    const srv = serverClient().channel('messaging', id, { created_by_id: owner, members: [owner] });
    await srv.create();
    for (let i = 0; i < 110; i++) await srv.sendMessage({ text: `m${i}`, user_id: owner });
    const t = userToken(owner);
    const q = { user_id: owner };
    const one = await api('POST', `/api/channels/messaging/${id}/query/`, { token: t, query: q, body: { state: true } });
    assert.equal(one.json.messages.length, 100);
    const list = await api('POST', '/api/channels/', { token: t, query: q, body: { filter_conditions: { cid: { $in: [`messaging:${id}`] } } } });
    assert.equal(list.json.channels[0].messages.length, 25);
    for (const page of [one.json.messages, list.json.channels[0].messages]) {
      for (let i = 1; i < page.length; i++) assert.ok(page[i].created_at > page[i - 1].created_at);
      assert.equal(page.at(-1).text, 'm109');
    }
  });

  it('8. message objects in reaction and delete responses and events keep the original created_at', async () => {
    const p = await pair();
    try {
      const msg = (await p.chA.sendMessage({ text: 'hello' })).message;
      const events = recordEvents(p.cb);
      const created = new Date(msg.created_at).getTime();
      const r1 = await p.chB.sendReaction(msg.id, { type: 'like' });
      const r2 = await p.chB.deleteReaction(msg.id, 'like');
      const r3 = await p.ca.deleteMessage(msg.id);
      for (const m of [r1.message, r2.message, r3.message]) assert.equal(m.created_at, msg.created_at);
      for (const type of ['reaction.new', 'reaction.deleted', 'message.deleted']) {
        const ev = await events.waitFor(type);
        assert.equal(new Date(ev.message.created_at).getTime(), created, type);
      }
      assert.equal(p.chB.state.messages.at(-1).type, 'deleted', 'the update was applied in place');
      assert.equal(p.chB.state.messages.length, 1);
    } finally {
      await p.close();
    }
  });

  it('9. an edit bumps updated_at, sets message_text_updated_at and emits message.updated', async () => {
    const p = await pair();
    try {
      const msg = (await p.chA.sendMessage({ text: 'first' })).message;
      const events = recordEvents(p.cb);
      await p.ca.updateMessage({ id: msg.id, text: 'second' });
      const ev = await events.waitFor('message.updated');
      assert.ok(ev.message.updated_at > msg.updated_at);
      assert.ok(ev.message.message_text_updated_at);
      assert.equal(p.chB.state.messages.find((m) => m.id === msg.id).text, 'second');
    } finally {
      await p.close();
    }
  });

  it('10. a reply emits message.updated for the parent with the new reply_count', async () => {
    const p = await pair();
    try {
      const parent = (await p.chA.sendMessage({ text: 'parent' })).message;
      const events = recordEvents(p.ca);
      await p.chB.sendMessage({ text: 'reply', parent_id: parent.id });
      const ev = await events.waitFor((e) => e.type === 'message.updated' && e.message.id === parent.id);
      assert.equal(ev.message.reply_count, 1);
      assert.equal(p.chA.state.messages.find((m) => m.id === parent.id).reply_count, 1);
    } finally {
      await p.close();
    }
  });

  it('11. notification.mark_read has cid and an accurate unread_channels, so other badges survive', async () => {
    const alice = uniqueId('alice');
    const [bob] = await createUsers(1, 'bob');
    const ca = await connectUser(alice);
    try {
      const [x, y] = [uniqueId('x'), uniqueId('y')];
      for (const id of [x, y]) await serverClient().channel('messaging', id, { created_by_id: bob, members: [alice, bob] }).create();
      for (const id of [x, y]) await serverClient().channel('messaging', id).sendMessage({ text: 'unread', user_id: bob });
      const channels = await ca.queryChannels({ cid: { $in: [`messaging:${x}`, `messaging:${y}`] } });
      const byId = Object.fromEntries(channels.map((c) => [c.id, c]));
      assert.equal(byId[y].countUnread(), 1);
      const events = recordEvents(ca);
      await byId[x].markRead();
      const ev = await events.waitFor('notification.mark_read');
      assert.equal(ev.cid, `messaging:${x}`);
      assert.equal(ev.unread_channels, 1);
      assert.equal(byId[y].countUnread(), 1, 'the other channel keeps its badge');
    } finally {
      await ca.disconnectUser();
    }
  });

  it('12. channel.updated carries the complete channel: name, image, member_count, config, custom data', async () => {
    const p = await pair();
    try {
      await p.chA.update({ name: 'Named', image: 'https://img.example/x.png', topic: 'z' });
      const events = recordEvents(p.cb);
      await p.chA.updatePartial({ set: { topic: 'y' } });
      const ev = await events.waitFor((e) => e.type === 'channel.updated' && e.channel.topic === 'y');
      assert.equal(ev.channel.name, 'Named');
      assert.equal(ev.channel.image, 'https://img.example/x.png');
      assert.equal(ev.channel.member_count, 2);
      assert.equal(ev.channel.cid, p.cid);
      assert.equal(ev.channel.config.read_events, true);
      assert.equal(ev.channel.topic, 'y');
      assert.equal(p.chB.data.name, 'Named');
      assert.equal(p.chB.data.member_count, 2);
      assert.ok(Array.isArray(p.chB.data.own_capabilities), 'the client kept its own_capabilities');
    } finally {
      await p.close();
    }
  });

  it('13. read rows exist for every member and carry user', async () => {
    const p = await pair();
    try {
      const state = await p.chA.query({});
      assert.deepEqual(state.read.map((r) => r.user.id).sort(), [p.alice, p.bob].sort());
      assert.ok(p.chA.state.read[p.bob].last_read instanceof Date);
    } finally {
      await p.close();
    }
  });

  it('14. watchers, watcher_count and user.watching.* events; member_count present', async () => {
    const p = await pair();
    try {
      const state = await p.chA.query({ watchers: { limit: 10 } });
      assert.equal(state.watcher_count, 2);
      assert.deepEqual(state.watchers.map((w) => w.id).sort(), [p.alice, p.bob].sort());
      assert.equal(state.channel.member_count, 2);
      const events = recordEvents(p.ca);
      await p.cb.disconnectUser();
      const stop = await events.waitFor((e) => e.type === 'user.watching.stop' && e.user.id === p.bob, { timeout: 10000 });
      assert.equal(stop.watcher_count, 1);
      assert.equal(stop.cid, p.cid);
    } finally {
      await p.close();
    }
  });

  it('15. the SDK\'s default 3 s timeout suffices, CORS preflights pass, and WS frames are single JSON objects', async () => {
    const alice = uniqueId('alice');
    const client = addTrailingSlash(new StreamChat(API_KEY, { baseURL: `${BASE_URL}/api`, allowServerSideConnect: true }));
    assert.equal(client.options.timeout, 3000);
    await client.connectUser({ id: alice }, userToken(alice));
    try {
      const ch = client.channel('messaging', uniqueId('ch'), { members: [alice] });
      await ch.watch();
      for (let i = 0; i < 5; i++) await ch.sendMessage({ text: `t${i}` });
      await client.queryChannels({ members: { $in: [alice] } }, {}, { limit: 30 });
    } finally {
      await client.disconnectUser();
    }
    const pre = await fetch(`${BASE_URL}/api/channels/messaging/x/query/`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,stream-auth-type,x-stream-client,x-client-request-id,content-type' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    const ws = await openSocket(connectQuery(alice, userToken(alice)));
    try {
      await ws.waitFor((f) => f.type === 'health.check');
      const id = uniqueId('ch');
      const [bob] = await createUsers(1, 'bob');
      const srv = serverClient().channel('messaging', id, { created_by_id: alice, members: [alice, bob] });
      await srv.create();
      await srv.sendMessage({ text: 'frame', user_id: bob });
      await ws.waitFor((f) => f.type === 'notification.message_new');
      for (const f of ws.frames) {
        assert.ok(!f.binary, 'text frames only');
        assert.ok(f && typeof f === 'object' && !Array.isArray(f), 'one object per frame');
      }
    } finally {
      ws.close();
    }
  });

  it('16. edits with unknown or read-only keys, and client-supplied message ids, are accepted', async () => {
    const p = await pair();
    try {
      const id = crypto.randomUUID();
      const msg = (await p.chA.sendMessage({ id, text: 'mine' })).message;
      assert.equal(msg.id, id);
      const res = await p.ca.updateMessage({ ...msg, text: 'edited', status: 'received', something_new: { a: 1 } });
      assert.equal(res.message.text, 'edited');
    } finally {
      await p.close();
    }
  });

  it('17. no advertised feature lacks its endpoint: delivery_events, polls and commands are off; uploads and search are on', async () => {
    const p = await pair();
    try {
      for (const type of ['messaging', 'team', 'livestream']) {
        const state = await serverClient().channel(type, uniqueId('c'), { created_by_id: p.alice }).create();
        const cfg = state.channel.config;
        assert.equal(cfg.delivery_events, false, type);
        assert.equal(cfg.polls, false, type);
        assert.equal(cfg.shared_locations, false, type);
        assert.equal(cfg.user_message_reminders, false, type);
        // Link previews are served (tests/contracts/link_previews.test.mjs), but not for livestreams.
        assert.equal(cfg.url_enrichment, type !== 'livestream', type);
        assert.deepEqual(cfg.commands, [], type);
        // Uploads and search are served (tests/contracts/uploads.test.mjs, search.test.mjs).
        assert.equal(cfg.uploads, true, type);
      }
      const caps = (await p.chA.query({})).channel.own_capabilities;
      for (const cap of ['send-poll', 'cast-poll-vote']) assert.ok(!caps.includes(cap), cap);
      for (const cap of ['upload-file', 'search-messages']) assert.ok(caps.includes(cap), cap);
      // GET /app gives every list the client reads, and a real size limit for each kind of upload.
      const app = await p.ca.getAppSettings();
      assert.equal(typeof app.app.name, 'string');
      for (const key of ['file_upload_config', 'image_upload_config']) {
        for (const list of ['allowed_file_extensions', 'blocked_file_extensions', 'allowed_mime_types', 'blocked_mime_types']) {
          assert.ok(Array.isArray(app.app[key][list]), `${key}.${list}`);
        }
        assert.ok(app.app[key].size_limit > 0, `${key}.size_limit`);
      }
    } finally {
      await p.close();
    }
  });

  it('18. typing POST /event succeeds (keystroke and stopTyping resolve)', async () => {
    const p = await pair();
    try {
      const warnings = [];
      const origWarn = console.warn;
      console.warn = (...args) => warnings.push(args.join(' '));
      try {
        await p.chA.keystroke();
        await p.chA.stopTyping();
      } finally {
        console.warn = origWarn;
      }
      assert.deepEqual(warnings, []);
      assert.equal(p.chA.isTyping, false);
    } finally {
      await p.close();
    }
  });

  it('19. the stack is not on port 3030, and the SDK derives the WebSocket URL that the gateway serves', async () => {
    assert.notEqual(new URL(BASE_URL).port, '3030');
    const alice = uniqueId('alice');
    const client = await connectUser(alice);
    try {
      assert.equal(client.wsBaseURL, `${BASE_URL.replace('http', 'ws')}/api`);
      assert.equal(client.wsConnection.isHealthy, true);
    } finally {
      await client.disconnectUser();
    }
  });
});

describe('STREAM-PROTOCOL.md §8: reconnect and state recovery', () => {
  it('after an abnormal close the client reconnects with a new connection id, recovers the missed messages, and is live again', async () => {
    const p = await pair();
    try {
      const oldId = p.ca._getConnectionID();
      const events = recordEvents(p.ca);
      p.ca.wsConnection.ws.terminate();  // no close frame: an abnormal close (1006)
      const missed = [];
      for (let i = 0; i < 3; i++) missed.push((await p.chB.sendMessage({ text: `while away ${i}` })).message.id);
      await events.waitFor('connection.recovered', { timeout: 20000 });
      assert.notEqual(p.ca._getConnectionID(), oldId, 'a new connection id');
      const local = p.chA.state.messages.map((m) => m.id);
      for (const id of missed) assert.ok(local.includes(id), 'the recovery query returned the messages sent during the outage');
      const mark = events.mark();
      const after = (await p.chB.sendMessage({ text: 'back again' })).message;
      await events.waitFor((e) => e.type === 'message.new' && e.message.id === after.id, { since: mark });
      const state = await p.chB.query({ watchers: { limit: 10 } });
      assert.equal(state.watcher_count, 2, 'alice watches again through the new connection, counted once');
    } finally {
      await p.close();
    }
  });
});
