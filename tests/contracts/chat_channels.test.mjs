// Issue 3, channels (STREAM-PROTOCOL.md §3.2, §3.3, §3.7, §4.1): get-or-create, queryChannels
// filters, sort and paging, distinct channels, updates, delete, truncate, hide/show, members,
// moderators, the member's own pin and archive, and queryMembers — driven through stream-chat.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  TIME_RE, api, connectUser, connectUsers, createUsers, expectError, recordEvents, serverClient, uniqueId, userToken,
} from './lib/streambed.mjs';

const MEMBER_CAPS = ['send-message', 'send-reply', 'send-reaction', 'read-events', 'typing-events', 'send-typing-events',
  'connect-events', 'send-links', 'quote-message', 'update-own-message', 'delete-own-message', 'flag-message',
  'mute-channel', 'pin-message', 'leave-channel', 'send-custom-events', 'upload-file', 'search-messages'];
const MODERATOR_EXTRAS = ['update-any-message', 'delete-any-message', 'ban-channel-members', 'update-channel',
  'update-channel-members', 'delete-channel', 'freeze-channel', 'set-channel-cooldown', 'skip-slow-mode'];

function assertUser(u, id) {
  assert.equal(u.id, id);
  assert.equal(typeof u.role, 'string');
  assert.equal(typeof u.online, 'boolean');
  assert.match(u.created_at, TIME_RE);
  assert.match(u.updated_at, TIME_RE);
  assert.equal(typeof u.banned, 'boolean');
}

function assertMember(m, id, role, channelRole) {
  assert.equal(m.user_id, id);
  assertUser(m.user, id);
  assert.equal(m.role, role);
  assert.equal(m.channel_role, channelRole);
  assert.match(m.created_at, TIME_RE);
  assert.match(m.updated_at, TIME_RE);
  assert.equal(m.banned, false);
  assert.equal(m.shadow_banned, false);
  assert.equal(m.notifications_muted, false);
  assert.equal(m.status, 'member');
  assert.equal(m.pinned_at, null);
  assert.equal(m.archived_at, null);
  assert.equal(m.is_moderator, channelRole !== 'channel_member');
  assert.equal(m.invited, false);
}

function assertChannelResponse(c, cid) {
  const [type, id] = cid.split(':');
  assert.equal(c.cid, cid);
  assert.equal(c.id, id);
  assert.equal(c.type, type);
  assert.equal(typeof c.member_count, 'number');
  assert.match(c.created_at, TIME_RE);
  assert.match(c.updated_at, TIME_RE);
  assert.equal(c.frozen, false);
  assert.equal(c.disabled, false);
  assert.equal(c.cooldown, 0);
  assert.ok('last_message_at' in c);
  assert.ok('truncated_at' in c);
  const cfg = c.config;
  assert.equal(cfg.name, type);
  for (const k of ['connect_events', 'reactions', 'replies', 'quotes', 'mutes', 'custom_events']) assert.equal(cfg[k], true, k);
  for (const k of ['delivery_events', 'polls', 'shared_locations', 'user_message_reminders']) assert.equal(cfg[k], false, k);
  // Link previews (link_previews.test.mjs): on where getstream.io has them on, off for livestreams.
  assert.equal(cfg.url_enrichment, type !== 'livestream', 'url_enrichment');
  assert.deepEqual(cfg.commands, []);
  assert.equal(cfg.max_message_length, 5000);
  assert.match(cfg.created_at, TIME_RE);
}

// A channel of `type` created by `client` with these members; returns the SDK channel and the query response.
async function makeChannel(client, members, { type = 'messaging', id = uniqueId('ch'), data = {} } = {}) {
  const channel = client.channel(type, id, { members, ...data });
  const state = await channel.watch();
  return { channel, state, cid: `${type}:${id}` };
}

describe('get-or-create and the channel state', () => {
  it('POST /channels/{type}/{id}/query creates the channel with its members and returns the whole state', async () => {
    const [bob] = await createUsers(1, 'bob');
    const alice = uniqueId('alice');
    const client = await connectUser(alice);
    try {
      const { state, cid } = await makeChannel(client, [alice, bob], { data: { name: 'Lunch', color: 'blue' } });
      assertChannelResponse(state.channel, cid);
      assert.equal(state.channel.name, 'Lunch');
      assert.equal(state.channel.color, 'blue', 'custom fields are flattened');
      assert.equal(state.channel.custom, undefined);
      assert.equal(state.channel.member_count, 2);
      assert.equal(state.channel.config.typing_events, true);
      assert.equal(state.channel.config.read_events, true);
      assert.equal(state.channel.config.replies, true);
      assertUser(state.channel.created_by, alice);
      assert.equal(state.channel.hidden, false);
      assert.deepEqual([...state.channel.own_capabilities].sort(), [...MEMBER_CAPS, ...MODERATOR_EXTRAS].sort(),
        'the creator is the owner');
      assert.deepEqual(state.messages, []);
      assert.deepEqual(state.pinned_messages, []);
      assert.deepEqual(state.pending_messages, []);
      assert.equal(state.members.length, 2);
      const byId = Object.fromEntries(state.members.map((m) => [m.user_id, m]));
      assertMember(byId[alice], alice, 'owner', 'owner');
      assertMember(byId[bob], bob, 'member', 'channel_member');
      assertMember(state.membership, alice, 'owner', 'owner');
      assert.equal(state.read.length, 2, 'a read row for every member');
      for (const r of state.read) {
        assert.ok([alice, bob].includes(r.user.id));
        assertUser(r.user, r.user.id);
        assert.match(r.last_read, TIME_RE);
        assert.ok(new Date(r.last_read).getTime() > Date.now() - 60000, 'never an epoch last_read');
        assert.equal(r.unread_messages, 0);
      }
      assert.equal(state.watcher_count, 1);
      assert.deepEqual(state.watchers.map((w) => w.id), [alice]);
      assert.equal(state.hidden, false);
      assert.match(state.duration, /^\d+(\.\d+)?ms$/);
    } finally {
      await client.disconnectUser();
    }
  });

  it('an existing channel ignores the data of a later get-or-create', async () => {
    const alice = uniqueId('alice');
    const client = await connectUser(alice);
    try {
      const id = uniqueId('ch');
      await client.channel('messaging', id, { name: 'First' }).watch();
      const other = await connectUser(alice);
      try {
        const again = await other.channel('messaging', id, { name: 'Second', extra: 1 }).watch();
        assert.equal(again.channel.name, 'First');
        assert.equal(again.channel.extra, undefined);
      } finally {
        await other.disconnectUser();
      }
    } finally {
      await client.disconnectUser();
    }
  });

  it('state:false still answers messages and members as arrays', async () => {
    const alice = uniqueId('alice');
    const res = await api('POST', `/api/channels/messaging/${uniqueId('ch')}/query/`, {
      token: userToken(alice), query: { user_id: alice }, body: { state: false, data: {} },
    });
    assert.equal(res.status, 200, res.text);
    assert.ok(Array.isArray(res.json.messages));
    assert.ok(Array.isArray(res.json.members));
    assert.equal(res.json.channel.member_count, 1);
  });

  it('a server token creates a channel for created_by_id, who owns it', async () => {
    const [owner, other] = await createUsers(2, 'srv');
    const id = uniqueId('ch');
    const channel = serverClient().channel('messaging', id, { members: [owner, other], created_by_id: owner });
    const created = await channel.create();
    assert.equal(created.channel.created_by.id, owner);
    assert.equal(created.channel.member_count, 2);
    assert.deepEqual(created.members, [], 'create() asks for state:false: members is still an array');
    const state = await channel.query({ state: true });
    const roles = Object.fromEntries(state.members.map((m) => [m.user_id, m.channel_role]));
    assert.deepEqual(roles, { [owner]: 'owner', [other]: 'channel_member' });
  });

  it('members that do not exist are refused, and nothing is created', async () => {
    const alice = uniqueId('alice');
    const client = await connectUser(alice);
    try {
      const id = uniqueId('ch');
      await expectError(client.channel('messaging', id, { members: [alice, uniqueId('ghost')] }).watch(), 400, 4, /don't exist/);
      const found = await client.queryChannels({ cid: { $in: [`messaging:${id}`] } });
      assert.equal(found.length, 0);
    } finally {
      await client.disconnectUser();
    }
  });

  it('user.watching.start and user.watching.stop reach the other watchers with watcher_count', async () => {
    const [a, b] = [uniqueId('wa'), uniqueId('wb')];
    const [ca, cb] = await connectUsers([a, b]);
    try {
      const { channel: chA, cid } = await makeChannel(ca, [a, b]);
      const events = recordEvents(ca);
      const chB = cb.channel('messaging', chA.id);
      const stateB = await chB.watch();
      assert.equal(stateB.watcher_count, 2);
      assert.deepEqual(stateB.watchers.map((w) => w.id).sort(), [a, b].sort());
      const start = await events.waitFor((e) => e.type === 'user.watching.start' && e.user?.id === b);
      assert.equal(start.cid, cid);
      assert.equal(start.watcher_count, 2);
      await chB.stopWatching();
      const stop = await events.waitFor((e) => e.type === 'user.watching.stop' && e.user?.id === b);
      assert.equal(stop.cid, cid);
      assert.equal(stop.watcher_count, 1);
      assert.equal(stop.channel_id, chA.id);
      assert.equal(stop.channel_type, 'messaging');
      // No longer watching, b gets notification.message_new instead of message.new.
      const bEvents = recordEvents(cb);
      const sent = (await chA.sendMessage({ text: 'after stop' })).message;
      const note = await bEvents.waitFor((e) => e.type === 'notification.message_new' && e.message.id === sent.id);
      assert.equal(note.cid, cid);
      assert.equal(bEvents.events.filter((e) => e.type === 'message.new').length, 0, 'the socket was unsubscribed');
    } finally {
      await ca.disconnectUser();
      await cb.disconnectUser();
    }
  });
});

describe('queryChannels filters', () => {
  // Three channels of one user, told apart by type, members and a custom field.
  async function fixture() {
    const [bob, carol] = await createUsers(2, 'qf');
    const alice = uniqueId('alice');
    const client = await connectUser(alice);
    const tag = uniqueId('tag');
    const a = await makeChannel(client, [alice, bob], { data: { tag, color: 'red', rank: 1 } });
    const b = await makeChannel(client, [alice, bob, carol], { data: { tag, color: 'green', rank: 2 } });
    const c = await makeChannel(client, [alice], { type: 'team', data: { tag, color: 'red', rank: 3 } });
    return { client, alice, bob, carol, tag, a, b, c };
  }
  const cids = (channels) => channels.map((c) => c.cid).sort();

  it('type $eq and $in, id $eq and $in, cid $in', async () => {
    const f = await fixture();
    try {
      assert.deepEqual(cids(await f.client.queryChannels({ tag: f.tag, type: 'messaging' })), [f.a.cid, f.b.cid].sort());
      assert.deepEqual(cids(await f.client.queryChannels({ tag: f.tag, type: { $in: ['team'] } })), [f.c.cid]);
      assert.deepEqual(cids(await f.client.queryChannels({ id: f.a.channel.id })), [f.a.cid]);
      assert.deepEqual(cids(await f.client.queryChannels({ id: { $in: [f.a.channel.id, f.c.channel.id] } })), [f.a.cid, f.c.cid].sort());
      assert.deepEqual(cids(await f.client.queryChannels({ cid: { $in: [f.b.cid, f.c.cid] } })), [f.b.cid, f.c.cid].sort());
      assert.deepEqual(cids(await f.client.queryChannels({ cid: { $in: [] } })), []);
    } finally {
      await f.client.disconnectUser();
    }
  });

  it('members $in is "contains any of", $eq the exact set', async () => {
    const f = await fixture();
    try {
      assert.deepEqual(cids(await f.client.queryChannels({ tag: f.tag, members: { $in: [f.carol] } })), [f.b.cid]);
      assert.deepEqual(cids(await f.client.queryChannels({ tag: f.tag, members: { $in: [f.bob, f.carol] } })), [f.a.cid, f.b.cid].sort());
      assert.deepEqual(cids(await f.client.queryChannels({ tag: f.tag, members: { $eq: [f.bob, f.alice] } })), [f.a.cid]);
      assert.deepEqual(cids(await f.client.queryChannels({ tag: f.tag, members: { $eq: [f.alice] } })), [f.c.cid]);
    } finally {
      await f.client.disconnectUser();
    }
  });

  it('custom fields with $eq, $in and comparisons; $and / $or', async () => {
    const f = await fixture();
    try {
      assert.deepEqual(cids(await f.client.queryChannels({ tag: f.tag, color: 'red' })), [f.a.cid, f.c.cid].sort());
      assert.deepEqual(cids(await f.client.queryChannels({ tag: f.tag, color: { $in: ['green', 'blue'] } })), [f.b.cid]);
      assert.deepEqual(cids(await f.client.queryChannels({ tag: f.tag, rank: { $gte: 2 } })), [f.b.cid, f.c.cid].sort());
      assert.deepEqual(cids(await f.client.queryChannels({ $and: [{ tag: f.tag }, { $or: [{ color: 'green' }, { type: 'team' }] }] })),
        [f.b.cid, f.c.cid].sort());
      assert.deepEqual(cids(await f.client.queryChannels({ $or: [{ cid: { $in: [f.a.cid] } }, { $and: [{ tag: f.tag }, { rank: 3 }] }] })),
        [f.a.cid, f.c.cid].sort());
    } finally {
      await f.client.disconnectUser();
    }
  });

  it('last_message_at and created_at comparisons', async () => {
    const f = await fixture();
    try {
      const before = new Date().toISOString();
      await f.b.channel.sendMessage({ text: 'hello' });
      assert.deepEqual(cids(await f.client.queryChannels({ tag: f.tag, last_message_at: { $gt: before } })), [f.b.cid]);
      assert.deepEqual(cids(await f.client.queryChannels({ tag: f.tag, created_at: { $lte: before } })),
        [f.a.cid, f.b.cid, f.c.cid].sort());
      assert.deepEqual(cids(await f.client.queryChannels({ tag: f.tag, created_at: { $gt: before } })), []);
    } finally {
      await f.client.disconnectUser();
    }
  });

  it('only channels the caller may read: other users\' messaging channels never show', async () => {
    const f = await fixture();
    const stranger = await connectUser(uniqueId('stranger'));
    try {
      assert.deepEqual(cids(await stranger.queryChannels({ tag: f.tag })), []);
      assert.deepEqual(cids(await stranger.queryChannels({ cid: { $in: [f.a.cid, f.b.cid] } })), []);
    } finally {
      await f.client.disconnectUser();
      await stranger.disconnectUser();
    }
  });

  it('joined: livestreams are readable by everyone, joined:false finds the ones you are not in', async () => {
    const [owner] = await createUsers(1, 'ls');
    const tag = uniqueId('tag');
    const id = uniqueId('live');
    await serverClient().channel('livestream', id, { created_by_id: owner, members: [owner], tag }).create();
    const viewer = await connectUser(uniqueId('viewer'));
    try {
      assert.deepEqual(cids(await viewer.queryChannels({ tag, joined: false })), [`livestream:${id}`]);
      assert.deepEqual(cids(await viewer.queryChannels({ tag, joined: true })), []);
      const ownerClient = await connectUser(owner);
      try {
        assert.deepEqual(cids(await ownerClient.queryChannels({ tag, joined: true })), [`livestream:${id}`]);
      } finally {
        await ownerClient.disconnectUser();
      }
    } finally {
      await viewer.disconnectUser();
    }
  });

  it('malformed filters and sorts are 400 (code 4)', async () => {
    const client = await connectUser(uniqueId('bad'));
    try {
      await expectError(client.queryChannels({ members: { $regex: 'x' } }), 400, 4);
      await expectError(client.queryChannels({ $xor: [{ type: 'messaging' }] }), 400, 4);
      await expectError(client.queryChannels({ type: { $in: 'messaging' } }), 400, 4);
      await expectError(client.queryChannels({ last_message_at: { $gt: 'yesterday' } }), 400, 4);
      await expectError(client.queryChannels({ 'bad name!': 1 }), 400, 4);
      await expectError(client.queryChannels({}, [{ no_such_field: 1 }]), 400, 4);
      await expectError(client.queryChannels({}, [{ created_at: 2 }]), 400, 4);
      await expectError(client.queryChannels({}, {}, { limit: 31 }), 400, 4);
    } finally {
      await client.disconnectUser();
    }
  });
});

describe('queryChannels sort and paging', () => {
  it('the default sort is last_updated descending: max(last_message_at, created_at)', async () => {
    const alice = uniqueId('alice');
    const client = await connectUser(alice);
    try {
      const tag = uniqueId('tag');
      const a = await makeChannel(client, [alice], { data: { tag } });
      const b = await makeChannel(client, [alice], { data: { tag } });
      const c = await makeChannel(client, [alice], { data: { tag } });
      assert.deepEqual((await client.queryChannels({ tag })).map((x) => x.cid), [c.cid, b.cid, a.cid]);
      await a.channel.sendMessage({ text: 'bump' });
      assert.deepEqual((await client.queryChannels({ tag })).map((x) => x.cid), [a.cid, c.cid, b.cid]);
      assert.deepEqual((await client.queryChannels({ tag }, [])).map((x) => x.cid), [a.cid, c.cid, b.cid]);
      assert.deepEqual((await client.queryChannels({ tag }, [{ last_updated: -1 }])).map((x) => x.cid), [a.cid, c.cid, b.cid]);
      // last_message_at: channels without messages sort last in either direction.
      assert.deepEqual((await client.queryChannels({ tag }, [{ last_message_at: -1 }])).map((x) => x.cid)[0], a.cid);
      assert.deepEqual((await client.queryChannels({ tag }, { created_at: 1 })).map((x) => x.cid), [a.cid, b.cid, c.cid]);
      assert.deepEqual((await client.queryChannels({ tag }, { created_at: -1 })).map((x) => x.cid), [c.cid, b.cid, a.cid]);
    } finally {
      await client.disconnectUser();
    }
  });

  it('member_count sort', async () => {
    const [b1, b2] = await createUsers(2, 'mc');
    const alice = uniqueId('alice');
    const client = await connectUser(alice);
    try {
      const tag = uniqueId('tag');
      const one = await makeChannel(client, [alice], { data: { tag } });
      const three = await makeChannel(client, [alice, b1, b2], { data: { tag } });
      const two = await makeChannel(client, [alice, b1], { data: { tag } });
      assert.deepEqual((await client.queryChannels({ tag }, { member_count: -1 })).map((x) => x.cid), [three.cid, two.cid, one.cid]);
      assert.deepEqual((await client.queryChannels({ tag }, { member_count: 1 })).map((x) => x.cid), [one.cid, two.cid, three.cid]);
    } finally {
      await client.disconnectUser();
    }
  });

  it('limit defaults to 10; limit/offset pages neither skip nor repeat', async () => {
    const alice = uniqueId('alice');
    const client = await connectUser(alice);
    try {
      const tag = uniqueId('tag');
      const made = [];
      for (let i = 0; i < 12; i++) made.push((await makeChannel(client, [alice], { data: { tag } })).cid);
      const first = await client.queryChannels({ tag }, {}, { watch: false });
      assert.equal(first.length, 10, 'default limit 10');
      const seen = [];
      for (let offset = 0; ; offset += 5) {
        const page = await client.queryChannels({ tag }, { created_at: 1 }, { limit: 5, offset, watch: false });
        seen.push(...page.map((c) => c.cid));
        if (page.length < 5) break;
      }
      assert.deepEqual(seen, made, 'every channel once, in order');
    } finally {
      await client.disconnectUser();
    }
  });

  it('each channel carries the latest 25 messages by default (message_limit), ascending, and member_limit members', async () => {
    const [bob, carol] = await createUsers(2, 'ml');
    const alice = uniqueId('alice');
    const client = await connectUser(alice);
    try {
      const { channel, cid } = await makeChannel(client, [alice, bob, carol]);
      const sent = [];
      for (let i = 0; i < 30; i++) sent.push((await channel.sendMessage({ text: `m${i}` })).message.id);
      const res = await api('POST', '/api/channels/', {
        token: userToken(alice), query: { user_id: alice },
        body: { filter_conditions: { cid: { $in: [cid] } }, sort: [], state: true, watch: false, presence: false },
      });
      assert.equal(res.status, 200, res.text);
      const [state] = res.json.channels;
      assert.deepEqual(state.messages.map((m) => m.id), sent.slice(5));
      assert.equal(state.members.length, 3);
      assert.equal(state.read.length, 3);
      const limited = await api('POST', '/api/channels/', {
        token: userToken(alice), query: { user_id: alice },
        body: { filter_conditions: { cid: { $in: [cid] } }, state: true, message_limit: 7, member_limit: 2 },
      });
      assert.deepEqual(limited.json.channels[0].messages.map((m) => m.id), sent.slice(23));
      assert.equal(limited.json.channels[0].members.length, 2);
    } finally {
      await client.disconnectUser();
    }
  });
});

describe('distinct channels', () => {
  it('POST /channels/{type}/query makes one channel per member set, with a server id and every member listed', async () => {
    const [bob, carol] = await createUsers(2, 'dm');
    const alice = uniqueId('alice');
    const [ca, cb] = await connectUsers([alice, bob]);
    try {
      const first = ca.channel('messaging', { members: [alice, bob] });
      const state = await first.watch();
      assert.match(state.channel.id, /^![\w-]+$/);
      assert.match(state.channel.id, /^!members-/);
      assert.equal(first.cid, state.channel.cid);
      assert.deepEqual(state.members.map((m) => m.user_id).sort(), [alice, bob].sort());
      assert.equal(state.channel.member_count, 2);
      const again = await cb.channel('messaging', { members: [bob, alice] }).watch();
      assert.equal(again.channel.cid, state.channel.cid, 'the same set in another order is the same channel');
      const three = await ca.channel('messaging', { members: [alice, bob, carol] }).watch();
      assert.notEqual(three.channel.cid, state.channel.cid);
      // The creator is added even when it does not list itself.
      const implicit = await ca.channel('messaging', { members: [carol] }).watch();
      assert.deepEqual(implicit.members.map((m) => m.user_id).sort(), [alice, carol].sort());
    } finally {
      await ca.disconnectUser();
      await cb.disconnectUser();
    }
  });

  it('parallel get-or-creates of one channel (by id or by members) make exactly one', async () => {
    const [bob] = await createUsers(1, 'race');
    const alice = uniqueId('alice');
    const [ca, cb] = await connectUsers([alice, bob]);
    try {
      const distinct = await Promise.all(Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? cb : ca).channel('messaging', { members: [alice, bob] }).query({ state: true })));
      assert.equal(new Set(distinct.map((d) => d.channel.cid)).size, 1);
      for (const d of distinct) assert.equal(d.channel.member_count, 2);
      const id = uniqueId('ch');
      const byId = await Promise.all(Array.from({ length: 8 }, () =>
        api('POST', `/api/channels/messaging/${id}/query/`, { token: userToken(alice), query: { user_id: alice }, body: { state: true, data: { members: [alice, bob] } } })));
      for (const r of byId) assert.equal(r.status, 200, r.text);
      const state = await ca.channel('messaging', id).query({});
      assert.equal(state.channel.member_count, 2);
      assert.deepEqual(state.members.map((m) => m.user_id).sort(), [alice, bob].sort());
    } finally {
      await ca.disconnectUser();
      await cb.disconnectUser();
    }
  });

  it('a distinct query without members is 400', async () => {
    const alice = uniqueId('alice');
    const res = await api('POST', '/api/channels/messaging/query/', {
      token: userToken(alice), query: { user_id: alice }, body: { data: {}, state: true },
    });
    await expectError(Promise.resolve(res), 400, 4);
  });
});

describe('channel updates', () => {
  it('update replaces the data and sends the complete channel in channel.updated', async () => {
    const [bob] = await createUsers(1, 'up');
    const alice = uniqueId('alice');
    const [ca, cb] = await connectUsers([alice, bob]);
    try {
      const { channel, cid } = await makeChannel(ca, [alice, bob], { data: { name: 'Old', color: 'red', keep: 1 } });
      await cb.channel('messaging', channel.id).watch();
      const events = recordEvents(cb);
      const res = await channel.update({ name: 'New', color: 'blue' });
      assert.equal(res.channel.name, 'New');
      assert.equal(res.channel.color, 'blue');
      assert.equal(res.channel.keep, undefined, 'a full update replaces the custom data');
      assert.equal(res.members.length, 2);
      const ev = await events.waitFor('channel.updated');
      assert.equal(ev.cid, cid);
      assertChannelResponse(ev.channel, cid);
      assert.equal(ev.channel.name, 'New');
      assert.equal(ev.channel.member_count, 2);
      assert.equal(ev.channel.color, 'blue');
      assert.equal(ev.channel.own_capabilities, undefined, 'omitted so the client keeps its own');
      assert.equal(ev.channel.hidden, undefined);
      assert.equal(ev.user.id, alice);
      assert.equal(cb.activeChannels[cid].data.name, 'New');
    } finally {
      await ca.disconnectUser();
      await cb.disconnectUser();
    }
  });

  it('partial update sets and unsets fields and keeps the rest', async () => {
    const alice = uniqueId('alice');
    const client = await connectUser(alice);
    try {
      const { channel, cid } = await makeChannel(client, [alice], { data: { name: 'N', a: 1, b: 2 } });
      const events = recordEvents(client);
      const res = await channel.updatePartial({ set: { c: 3, name: 'M' }, unset: ['a'] });
      assert.equal(res.channel.name, 'M');
      assert.equal(res.channel.a, undefined);
      assert.equal(res.channel.b, 2);
      assert.equal(res.channel.c, 3);
      assert.ok(Array.isArray(res.members));
      const ev = await events.waitFor('channel.updated');
      assertChannelResponse(ev.channel, cid);
      assert.equal(ev.channel.b, 2);
      assert.equal(ev.channel.member_count, 1);
    } finally {
      await client.disconnectUser();
    }
  });

  it('a plain member cannot update the channel (403 code 17), and nothing changes', async () => {
    const [bob] = await createUsers(1, 'up');
    const alice = uniqueId('alice');
    const [ca, cb] = await connectUsers([alice, bob]);
    try {
      const { channel } = await makeChannel(ca, [alice, bob], { data: { name: 'Keep' } });
      const asBob = cb.channel('messaging', channel.id);
      await asBob.watch();
      await expectError(asBob.update({ name: 'Hijack' }), 403, 17);
      await expectError(asBob.updatePartial({ set: { name: 'Hijack' } }), 403, 17);
      await expectError(asBob.delete(), 403, 17);
      await expectError(asBob.truncate(), 403, 17);
      assert.equal((await channel.watch()).channel.name, 'Keep');
    } finally {
      await ca.disconnectUser();
      await cb.disconnectUser();
    }
  });

  it('delete emits channel.deleted to watchers and notification.channel_deleted to members; the channel is gone', async () => {
    const [bob, carol] = await createUsers(2, 'del');
    const alice = uniqueId('alice');
    const [ca, cb, cc] = await connectUsers([alice, bob, carol]);
    try {
      const { channel, cid } = await makeChannel(ca, [alice, bob, carol]);
      const member = recordEvents(cc);
      const msg = await channel.sendMessage({ text: 'soon gone' });
      await cb.channel('messaging', channel.id).watch();
      const events = recordEvents(cb);
      const res = await channel.delete();
      assert.equal(res.channel.cid, cid);
      assert.match(res.channel.deleted_at, TIME_RE);
      const ev = await events.waitFor((e) => e.type === 'channel.deleted' && e.cid === cid);
      assert.equal(ev.channel.cid, cid);
      const note = await member.waitFor((e) => e.type === 'notification.channel_deleted' && e.cid === cid);
      assert.equal(note.channel.cid, cid);
      assert.deepEqual(await ca.queryChannels({ cid: { $in: [cid] } }), []);
      await expectError(ca.getMessage(msg.message.id), 404, 16);
    } finally {
      await Promise.all([ca, cb, cc].map((c) => c.disconnectUser()));
    }
  });

  it('truncate hides earlier messages, emits channel.truncated with truncated_at, and later messages show', async () => {
    const alice = uniqueId('alice');
    const client = await connectUser(alice);
    try {
      const { channel, cid } = await makeChannel(client, [alice]);
      await channel.sendMessage({ text: 'old 1' });
      await channel.sendMessage({ text: 'old 2' });
      const events = recordEvents(client);
      const res = await channel.truncate();
      assert.match(res.channel.truncated_at, TIME_RE);
      const ev = await events.waitFor('channel.truncated');
      assert.equal(ev.cid, cid);
      assert.equal(ev.channel.truncated_at, res.channel.truncated_at);
      const after = await channel.sendMessage({ text: 'new' });
      const state = await channel.query({ messages: { limit: 10 } });
      assert.deepEqual(state.messages.map((m) => m.id), [after.message.id]);
      assert.equal(state.channel.truncated_at, res.channel.truncated_at);
    } finally {
      await client.disconnectUser();
    }
  });

  it('hard truncate deletes the earlier messages', async () => {
    const alice = uniqueId('alice');
    const client = await connectUser(alice);
    try {
      const { channel } = await makeChannel(client, [alice]);
      const old = await channel.sendMessage({ text: 'old' });
      await channel.truncate({ hard_delete: true });
      await expectError(client.getMessage(old.message.id), 404, 16);
    } finally {
      await client.disconnectUser();
    }
  });
});

describe('hide and show', () => {
  it('hide removes the channel from the list until shown or until a new message arrives', async () => {
    const [bob] = await createUsers(1, 'hide');
    const alice = uniqueId('alice');
    const [ca, cb] = await connectUsers([alice, bob]);
    try {
      const { channel, cid } = await makeChannel(ca, [alice, bob]);
      const events = recordEvents(ca);
      await channel.hide();
      const hidden = await events.waitFor('channel.hidden');
      assert.equal(hidden.cid, cid);
      assert.equal(hidden.clear_history, false);
      assert.deepEqual(await ca.queryChannels({ cid: { $in: [cid] } }), []);
      const withHidden = await ca.queryChannels({ cid: { $in: [cid] }, hidden: true });
      assert.deepEqual(withHidden.map((c) => c.cid), [cid]);
      assert.equal(withHidden[0].data.hidden, true);
      await channel.show();
      const visible = await events.waitFor('channel.visible');
      assert.equal(visible.cid, cid);
      assert.deepEqual((await ca.queryChannels({ cid: { $in: [cid] } })).map((c) => c.cid), [cid]);
      await channel.hide();
      await cb.channel('messaging', channel.id).sendMessage({ text: 'wake up' });
      assert.deepEqual((await ca.queryChannels({ cid: { $in: [cid] } })).map((c) => c.cid), [cid], 'a new message shows it again');
    } finally {
      await ca.disconnectUser();
      await cb.disconnectUser();
    }
  });

  it('hide with clear_history drops the earlier messages for that member only', async () => {
    const [bob] = await createUsers(1, 'hide');
    const alice = uniqueId('alice');
    const [ca, cb] = await connectUsers([alice, bob]);
    try {
      const { channel } = await makeChannel(ca, [alice, bob]);
      await channel.sendMessage({ text: 'before' });
      await channel.hide(null, true);
      const later = await cb.channel('messaging', channel.id).sendMessage({ text: 'after' });
      const mine = await channel.query({ messages: { limit: 10 } });
      assert.deepEqual(mine.messages.map((m) => m.text), ['after']);
      assert.equal(mine.messages[0].id, later.message.id);
      const bobs = await cb.channel('messaging', channel.id).query({ messages: { limit: 10 } });
      assert.deepEqual(bobs.messages.map((m) => m.text), ['before', 'after']);
    } finally {
      await ca.disconnectUser();
      await cb.disconnectUser();
    }
  });
});

describe('members and moderators', () => {
  it('addMembers: member.added to watchers, notification.added_to_channel to the added user, member_count grows', async () => {
    const [bob, carol] = await createUsers(2, 'add');
    const alice = uniqueId('alice');
    const [ca, cc] = await connectUsers([alice, carol]);
    try {
      const { channel, cid } = await makeChannel(ca, [alice, bob]);
      const watcher = recordEvents(ca);
      const added = recordEvents(cc);
      const res = await channel.addMembers([carol]);
      assert.equal(res.channel.member_count, 3);
      assert.deepEqual(res.members.map((m) => m.user_id).sort(), [alice, bob, carol].sort());
      const ev = await watcher.waitFor('member.added');
      assert.equal(ev.cid, cid);
      assertMember(ev.member, carol, 'member', 'channel_member');
      const note = await added.waitFor('notification.added_to_channel');
      assert.equal(note.cid, cid);
      assertChannelResponse(note.channel, cid);
      assert.equal(note.channel.member_count, 3);
      assert.deepEqual([...note.channel.own_capabilities].sort(), [...MEMBER_CAPS].sort());
      assert.equal(note.member.user_id, carol);
      const upd = await watcher.waitFor('channel.updated');
      assert.equal(upd.channel.member_count, 3);
      assert.deepEqual((await cc.queryChannels({ cid: { $in: [cid] } })).map((c) => c.cid), [cid]);
    } finally {
      await ca.disconnectUser();
      await cc.disconnectUser();
    }
  });

  // Each change recounts the members after it has locked the channel's row (store/channels.cpp):
  // a count taken while another change held the row would leave that change's members out.
  it('member_count stays exact when members are added and removed by many requests at once', async () => {
    const owner = uniqueId('owner');
    const [joiners, leavers] = [await createUsers(16, 'join'), await createUsers(8, 'quit')];
    const server = serverClient();
    await server.upsertUser({ id: owner });
    const id = uniqueId('crowd');
    await server.channel('messaging', id, { created_by_id: owner, members: [owner, ...leavers] }).create();
    const channel = server.channel('messaging', id);
    await Promise.all([
      ...joiners.map((u) => channel.addMembers([u])),
      ...leavers.map((u) => channel.removeMembers([u])),
    ]);
    const { channel: state, members } = await server.channel('messaging', id).query({ state: true });
    assert.equal(members.length, 1 + joiners.length);
    assert.equal(state.member_count, 1 + joiners.length);
  });

  it('removeMembers: member.removed keyed on the removed user, notification.removed_from_channel with cid', async () => {
    const [bob] = await createUsers(1, 'rm');
    const alice = uniqueId('alice');
    const [ca, cb] = await connectUsers([alice, bob]);
    try {
      const { channel, cid } = await makeChannel(ca, [alice, bob]);
      const watcher = recordEvents(ca);
      const removed = recordEvents(cb);
      const res = await channel.removeMembers([bob]);
      assert.equal(res.channel.member_count, 1);
      assert.deepEqual(res.members.map((m) => m.user_id), [alice]);
      const ev = await watcher.waitFor('member.removed');
      assert.equal(ev.user.id, bob);
      assert.equal(ev.cid, cid);
      const note = await removed.waitFor('notification.removed_from_channel');
      assert.equal(note.cid, cid);
      assert.equal(note.channel.cid, cid);
      assert.deepEqual(await cb.queryChannels({ cid: { $in: [cid] } }), []);
      await expectError(cb.channel('messaging', channel.id).query({}), 403, 17);
    } finally {
      await ca.disconnectUser();
      await cb.disconnectUser();
    }
  });

  it('a member leaves by removing itself (leave-channel); removing others needs update-channel-members', async () => {
    const [bob, carol] = await createUsers(2, 'leave');
    const alice = uniqueId('alice');
    const [ca, cb] = await connectUsers([alice, bob]);
    try {
      const { channel } = await makeChannel(ca, [alice, bob, carol]);
      const asBob = cb.channel('messaging', channel.id);
      await asBob.watch();
      await expectError(asBob.removeMembers([carol]), 403, 17);
      await expectError(asBob.addMembers([uniqueId('x')]), 403, 17);
      const res = await asBob.removeMembers([bob]);
      assert.deepEqual(res.members.map((m) => m.user_id).sort(), [alice, carol].sort());
    } finally {
      await ca.disconnectUser();
      await cb.disconnectUser();
    }
  });

  it('addModerators / demoteModerators change the role and emit member.updated', async () => {
    const [bob] = await createUsers(1, 'mod');
    const alice = uniqueId('alice');
    const client = await connectUser(alice);
    try {
      const { channel, cid } = await makeChannel(client, [alice, bob]);
      const events = recordEvents(client);
      const res = await channel.addModerators([bob]);
      const bobRow = res.members.find((m) => m.user_id === bob);
      assert.equal(bobRow.channel_role, 'channel_moderator');
      assert.equal(bobRow.role, 'moderator');
      assert.equal(bobRow.is_moderator, true);
      const ev = await events.waitFor('member.updated');
      assert.equal(ev.cid, cid);
      assert.equal(ev.member.user_id, bob);
      assert.equal(ev.member.channel_role, 'channel_moderator');
      const bobClient = await connectUser(bob);
      try {
        const st = await bobClient.channel('messaging', channel.id).watch();
        for (const cap of MODERATOR_EXTRAS) assert.ok(st.channel.own_capabilities.includes(cap), cap);
      } finally {
        await bobClient.disconnectUser();
      }
      const demoted = await channel.demoteModerators([bob]);
      assert.equal(demoted.members.find((m) => m.user_id === bob).channel_role, 'channel_member');
    } finally {
      await client.disconnectUser();
    }
  });

  it('the member\'s own pin and archive: member.updated to the user, and the pinned / archived filters', async () => {
    const alice = uniqueId('alice');
    const client = await connectUser(alice);
    try {
      const tag = uniqueId('tag');
      const a = await makeChannel(client, [alice], { data: { tag } });
      const b = await makeChannel(client, [alice], { data: { tag } });
      const events = recordEvents(client);
      const pinned = await a.channel.pin();
      assert.match(pinned.pinned_at, TIME_RE);
      assert.equal(pinned.user.id, alice);
      const ev = await events.waitFor((e) => e.type === 'member.updated' && e.cid === a.cid);
      assert.equal(ev.member.pinned_at, pinned.pinned_at);
      assert.deepEqual((await client.queryChannels({ tag, pinned: true })).map((c) => c.cid), [a.cid]);
      assert.deepEqual((await client.queryChannels({ tag, pinned: false })).map((c) => c.cid), [b.cid]);
      assert.deepEqual((await client.queryChannels({ tag }, [{ pinned_at: -1 }, { created_at: -1 }])).map((c) => c.cid)[0], a.cid);
      const archived = await b.channel.archive();
      assert.match(archived.archived_at, TIME_RE);
      const ev2 = await events.waitFor((e) => e.type === 'member.updated' && e.cid === b.cid);
      assert.equal(ev2.member.archived_at, archived.archived_at);
      assert.deepEqual((await client.queryChannels({ tag, archived: true })).map((c) => c.cid), [b.cid]);
      assert.deepEqual((await client.queryChannels({ tag, archived: false })).map((c) => c.cid), [a.cid]);
      await a.channel.unpin();
      await b.channel.unarchive();
      assert.deepEqual(await client.queryChannels({ tag, pinned: true }), []);
      assert.deepEqual(await client.queryChannels({ tag, archived: true }), []);
      const state = await a.channel.query({});
      assert.equal(state.membership.pinned_at, null);
    } finally {
      await client.disconnectUser();
    }
  });

  it('invites: an invited member is pending until it accepts; a rejection removes it', async () => {
    const [bob, carol] = await createUsers(2, 'inv');
    const alice = uniqueId('alice');
    const [ca, cb, cc] = await connectUsers([alice, bob, carol]);
    try {
      const { channel, cid } = await makeChannel(ca, [alice]);
      const res = await channel.inviteMembers([bob, carol]);
      const rows = Object.fromEntries(res.members.map((m) => [m.user_id, m]));
      assert.equal(rows[bob].invited, true);
      assert.equal(rows[bob].status, 'pending');
      const asBob = cb.channel('messaging', channel.id);
      await asBob.watch();
      const accepted = await asBob.acceptInvite();
      const bobRow = accepted.members.find((m) => m.user_id === bob);
      assert.equal(bobRow.status, 'member');
      assert.match(bobRow.invite_accepted_at, TIME_RE);
      const asCarol = cc.channel('messaging', channel.id);
      await asCarol.watch();
      await asCarol.rejectInvite();
      const state = await channel.query({});
      assert.deepEqual(state.members.map((m) => m.user_id).sort(), [alice, bob].sort());
      await expectError(asBob.acceptInvite(), 400, 4, /no pending invite/);
      assert.deepEqual((await cc.queryChannels({ cid: { $in: [cid] } })).map((c) => c.cid), []);
    } finally {
      await Promise.all([ca, cb, cc].map((c) => c.disconnectUser()));
    }
  });

  it('hide_history: a member added with it does not see the earlier messages', async () => {
    const [bob, carol] = await createUsers(2, 'hh');
    const alice = uniqueId('alice');
    const client = await connectUser(alice);
    try {
      const { channel } = await makeChannel(client, [alice]);
      await channel.sendMessage({ text: 'before' });
      await channel.addMembers([bob], undefined, { hide_history: true });
      await channel.addMembers([carol]);
      const later = (await channel.sendMessage({ text: 'after' })).message;
      const bobClient = await connectUser(bob);
      const carolClient = await connectUser(carol);
      try {
        const bobs = await bobClient.channel('messaging', channel.id).query({ messages: { limit: 10 } });
        assert.deepEqual(bobs.messages.map((m) => m.id), [later.id]);
        const carols = await carolClient.channel('messaging', channel.id).query({ messages: { limit: 10 } });
        assert.deepEqual(carols.messages.map((m) => m.text), ['before', 'after']);
      } finally {
        await bobClient.disconnectUser();
        await carolClient.disconnectUser();
      }
    } finally {
      await client.disconnectUser();
    }
  });

  it('a channel query pages its members with members.limit / members.offset', async () => {
    const others = await createUsers(5, 'mp');
    const alice = uniqueId('alice');
    const client = await connectUser(alice);
    try {
      const { channel } = await makeChannel(client, [alice]);
      for (const u of others) await channel.addMembers([u]);
      const all = [alice, ...others];
      const page = await channel.query({ members: { limit: 2, offset: 2 } });
      assert.deepEqual(page.members.map((m) => m.user_id), all.slice(2, 4));
      assert.equal(page.channel.member_count, 6);
      assert.equal(page.membership.user_id, alice, 'membership even when the caller is outside the page');
      assert.ok(page.read.some((r) => r.user.id === alice), 'and the caller\'s read row');
    } finally {
      await client.disconnectUser();
    }
  });

  it('one user cannot pin or archive for another (403 code 17)', async () => {
    const [bob] = await createUsers(1, 'pin');
    const alice = uniqueId('alice');
    const client = await connectUser(alice);
    try {
      const { channel } = await makeChannel(client, [alice, bob]);
      await expectError(channel.partialUpdateMember(bob, { set: { pinned: true } }), 403, 17);
    } finally {
      await client.disconnectUser();
    }
  });
});

describe('queryMembers', () => {
  it('$autocomplete on name, sort by user_id, limit and offset', async () => {
    const alice = uniqueId('alice');
    const ids = [];
    const names = ['Bobby Tables', 'Bob Marley', 'Robert Bobson', 'Carol'];
    const srv = serverClient();
    for (const name of names) {
      const id = uniqueId('qm');
      ids.push(id);
      await srv.upsertUser({ id, name });
    }
    const client = await connectUser(alice);
    try {
      const { channel } = await makeChannel(client, [alice, ...ids]);
      const bob = await channel.queryMembers({ name: { $autocomplete: 'bob' } }, [{ user_id: 1 }]);
      assert.deepEqual(bob.members.map((m) => m.user.name).sort(), ['Bob Marley', 'Bobby Tables', 'Robert Bobson'].sort());
      assert.deepEqual(bob.members.map((m) => m.user_id), [...bob.members.map((m) => m.user_id)].sort());
      for (const m of bob.members) assert.ok(m.user && m.channel_role);
      const page = await channel.queryMembers({}, [{ user_id: 1 }], { limit: 2, offset: 1 });
      const all = [alice, ...ids].sort();
      assert.deepEqual(page.members.map((m) => m.user_id), all.slice(1, 3));
      const byId = await channel.queryMembers({ id: { $in: [ids[3]] } });
      assert.deepEqual(byId.members.map((m) => m.user.name), ['Carol']);
      const none = await channel.queryMembers({ name: { $autocomplete: '%' } });
      assert.deepEqual(none.members, [], 'LIKE metacharacters are literal');
    } finally {
      await client.disconnectUser();
    }
  });

  it('a stranger cannot list the members of a messaging channel', async () => {
    const alice = uniqueId('alice');
    const client = await connectUser(alice);
    const stranger = await connectUser(uniqueId('stranger'));
    try {
      const { channel } = await makeChannel(client, [alice]);
      await expectError(stranger.channel('messaging', channel.id).queryMembers({}), 403, 17);
    } finally {
      await client.disconnectUser();
      await stranger.disconnectUser();
    }
  });
});

describe('updateMemberPartial (PATCH /channels/{type}/{id}/member?user_id=)', () => {
  it('pins and archives through the SDK\'s current method, answering the member', async () => {
    const [owner] = await createUsers(1, 'ump');
    const [client] = await connectUsers([owner]);
    try {
      const channel = client.channel('messaging', uniqueId('ump'), { members: [owner] });
      await channel.watch();
      const res = await channel.updateMemberPartial({ set: { pinned: true, archived: true } });
      assert.equal(res.channel_member.user_id, owner);
      assert.ok(res.channel_member.pinned_at);
      assert.ok(res.channel_member.archived_at);
      const unpinned = await channel.updateMemberPartial({ unset: ['pinned'] });
      assert.equal(unpinned.channel_member.pinned_at, null);
      assert.ok(unpinned.channel_member.archived_at);
    } finally {
      await client.disconnectUser();
    }
  });
});
