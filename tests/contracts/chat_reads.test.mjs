// Issue 3, read state (STREAM-PROTOCOL.md §3.4, §4.4, §5): markRead with message.read and
// notification.mark_read (with cid and an accurate unread_channels), markUnread, markAllRead,
// read rows for every member, unread counts and their exclusions, and the SDK's countUnread().

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  TIME_RE, api, connectUser, connectUsers, createUsers, expectError, recordEvents, serverClient, uniqueId, userToken, uuid,
} from './lib/streambed.mjs';

// Alice and Bob (both connected); `channels` messaging channels with both as members.
async function pair(channels = 1) {
  const alice = uniqueId('alice');
  const bob = uniqueId('bob');
  const [ca, cb] = await connectUsers([alice, bob]);
  const rooms = [];
  for (let i = 0; i < channels; i++) {
    const id = uniqueId('ch');
    const chA = ca.channel('messaging', id, { members: [alice, bob] });
    await chA.watch();
    const chB = cb.channel('messaging', id);
    await chB.watch();
    rooms.push({ id, cid: `messaging:${id}`, chA, chB });
  }
  return { alice, bob, ca, cb, rooms, close: () => Promise.all([ca.disconnectUser(), cb.disconnectUser()]) };
}

async function unreadOf(userId, cid) {
  const res = await api('POST', '/api/channels/', {
    token: userToken(userId), query: { user_id: userId },
    body: { filter_conditions: { cid: { $in: [cid] } }, state: true, watch: false },
  });
  assert.equal(res.status, 200, res.text);
  const read = res.json.channels[0].read.find((r) => r.user.id === userId);
  return read.unread_messages;
}

describe('markRead', () => {
  it('message.read (created_at = read time, last_read_message_id) to watchers; notification.mark_read with cid to the user', async () => {
    const p = await pair(2);
    try {
      const [a, b] = p.rooms;
      await a.chB.sendMessage({ text: 'a1' });
      const last = (await a.chB.sendMessage({ text: 'a2' })).message;
      await b.chB.sendMessage({ text: 'b1' });
      assert.equal(await unreadOf(p.alice, a.cid), 2);
      const bobEvents = recordEvents(p.cb);
      const aliceEvents = recordEvents(p.ca);
      const before = Date.now();
      const res = await a.chA.markRead();
      assert.equal(res.event.type, 'message.read');
      assert.equal(res.event.cid, a.cid);
      assert.equal(res.event.user.id, p.alice);
      assert.equal(res.event.last_read_message_id, last.id);
      const read = await bobEvents.waitFor((e) => e.type === 'message.read' && e.user.id === p.alice);
      assert.equal(read.cid, a.cid);
      assert.equal(read.last_read_message_id, last.id);
      assert.match(read.created_at, TIME_RE);
      assert.ok(new Date(read.created_at).getTime() >= before - 1000, 'created_at is the read time');
      assert.equal(read.thread, undefined);
      const note = await aliceEvents.waitFor('notification.mark_read');
      assert.equal(note.cid, a.cid, 'a single-channel read names its channel');
      assert.equal(note.last_read_message_id, last.id);
      assert.equal(note.unread_channels, 1, 'the other channel is still unread');
      assert.equal(note.total_unread_count, 1);
      assert.equal(await unreadOf(p.alice, a.cid), 0);
      assert.equal(p.cb.activeChannels[a.cid].state.read[p.alice].last_read_message_id, last.id);
      assert.equal(p.ca.activeChannels[b.cid].countUnread(), 1, 'the other badge survives');
      const rows = (await b.chA.query({})).read;
      assert.equal(rows.find((r) => r.user.id === p.alice).unread_messages, 1);
    } finally {
      await p.close();
    }
  });

  it('reading right after a burst of parallel messages leaves nothing unread', async () => {
    const p = await pair(1);
    try {
      const [a] = p.rooms;
      await Promise.all(Array.from({ length: 40 }, (_, i) => a.chB.sendMessage({ text: `burst ${i}` })));
      const res = await a.chA.markRead();
      assert.equal(await unreadOf(p.alice, a.cid), 0);
      const page = await a.chA.query({ messages: { limit: 1 } });
      assert.equal(res.event.last_read_message_id, page.messages[0].id);
      assert.ok(new Date(res.event.created_at) >= new Date(page.messages[0].created_at), 'last_read is not before the last message');
    } finally {
      await p.close();
    }
  });

  it('a thread read carries `thread` and leaves the channel read state alone', async () => {
    const p = await pair(1);
    try {
      const [a] = p.rooms;
      const parent = (await a.chB.sendMessage({ text: 'parent' })).message;
      await a.chB.sendMessage({ text: 'reply', parent_id: parent.id });
      const bobEvents = recordEvents(p.cb);
      const own = recordEvents(p.ca);
      const lastReadSeenByBob = p.cb.activeChannels[a.cid].state.read[p.alice].last_read.getTime();
      const res = await a.chA.markRead({ thread_id: parent.id });
      assert.equal(res.event.type, 'message.read');
      assert.equal(res.event.thread.parent_message_id, parent.id);
      const read = await bobEvents.waitFor((e) => e.type === 'message.read' && e.user.id === p.alice);
      assert.equal(read.thread.parent_message_id, parent.id, 'watchers learn of the thread read, marked as such');
      assert.equal(read.cid, a.cid);
      const note = await own.waitFor('notification.mark_read');
      assert.equal(note.cid, a.cid);
      assert.equal(note.thread_id, parent.id);
      assert.equal(await unreadOf(p.alice, a.cid), 1);
      assert.equal(p.cb.activeChannels[a.cid].state.read[p.alice].last_read.getTime(), lastReadSeenByBob, 'the client keeps the channel read state');
    } finally {
      await p.close();
    }
  });

  it('sending marks the channel read for the sender', async () => {
    const p = await pair(1);
    try {
      const [a] = p.rooms;
      await a.chB.sendMessage({ text: 'from bob' });
      const mine = (await a.chA.sendMessage({ text: 'from alice' })).message;
      const state = await a.chA.query({});
      const row = state.read.find((r) => r.user.id === p.alice);
      assert.equal(row.unread_messages, 0);
      assert.equal(row.last_read_message_id, mine.id);
    } finally {
      await p.close();
    }
  });

  it('a non-member cannot mark a livestream read; read-events is withheld where read_events is off', async () => {
    const [owner] = await createUsers(1, 'ls');
    const id = uniqueId('live');
    await serverClient().channel('livestream', id, { created_by_id: owner, members: [owner] }).create();
    const viewer = uniqueId('viewer');
    const client = await connectUser(viewer);
    try {
      const state = await client.channel('livestream', id).watch();
      assert.equal(state.channel.config.read_events, false);
      assert.ok(!state.channel.own_capabilities.includes('read-events'));
      const res = await api('POST', `/api/channels/livestream/${id}/read/`, { token: userToken(viewer), query: { user_id: viewer }, body: {} });
      await expectError(Promise.resolve(res), 403, 17);
    } finally {
      await client.disconnectUser();
    }
  });
});

describe('unread counts', () => {
  it('count others\' messages after last_read; not own, thread-only, silent, deleted, or from muted users', async () => {
    const [carol] = await createUsers(1, 'carol');
    const p = await pair(1);
    try {
      const [a] = p.rooms;
      await a.chA.addMembers([carol]);
      const srvCh = serverClient().channel('messaging', a.id);
      const base = (await a.chB.sendMessage({ text: 'counted 1' })).message;
      await a.chB.sendMessage({ text: 'thread only', parent_id: base.id });
      await a.chB.sendMessage({ text: 'shown reply counts', parent_id: base.id, show_in_channel: true });
      await a.chB.sendMessage({ text: 'silent', silent: true });
      const gone = (await a.chB.sendMessage({ text: 'deleted' })).message;
      await p.cb.deleteMessage(gone.id);
      await a.chA.sendMessage({ text: 'own' });
      // alice's own message marked everything read: count from here.
      assert.equal(await unreadOf(p.alice, a.cid), 0);
      await a.chB.sendMessage({ text: 'counted A' });
      await a.chB.sendMessage({ text: 'thread only 2', parent_id: base.id });
      await a.chB.sendMessage({ text: 'counted B', parent_id: base.id, show_in_channel: true });
      await a.chB.sendMessage({ text: 'silent 2', silent: true });
      await srvCh.sendMessage({ text: 'carol, muted later', user_id: carol });
      assert.equal(await unreadOf(p.alice, a.cid), 3);
      await p.ca.muteUser(carol);
      assert.equal(await unreadOf(p.alice, a.cid), 2, 'a muted user\'s messages do not count');
      const bobs = await unreadOf(p.bob, a.cid);
      assert.equal(bobs, 1, 'bob: alice\'s "own" message and carol\'s (silent and own excluded)');
    } finally {
      await p.close();
    }
  });

  // The store counts every listed member from one window of the channel's newest 455 countable
  // messages (fcgi-app/unread.h); a member whose muted users fill that window before its last read
  // is counted one by one in SQL. Both paths, and getstream.io's cap of 255, against one channel.
  it('a busy channel: counts past the newest 455 messages, and stops at 255', async () => {
    const [carol, dave] = await createUsers(2, 'busy');
    const p = await pair(1);
    try {
      const [a] = p.rooms;
      await a.chA.addMembers([carol, dave]);
      await p.ca.muteUser(carol);
      const srvCh = serverClient().channel('messaging', a.id);
      const sendAll = async (user, n) => {
        for (let i = 0; i < n; i += 25) {
          await Promise.all(Array.from({ length: Math.min(25, n - i) }, (_, k) =>
            srvCh.sendMessage({ text: `${user} ${i + k}`, user_id: user })));
        }
      };
      await sendAll(carol, 500);
      await sendAll(p.bob, 150);
      assert.equal(await unreadOf(p.alice, a.cid), 150, 'alice muted carol: only bob\'s 150 count');
      assert.equal(await unreadOf(dave, a.cid), 255, 'dave read nothing: the count stops at 255');
      assert.equal(await unreadOf(p.bob, a.cid), 0, 'bob\'s own messages marked the channel read');
      const rows = (await a.chB.query({})).read;
      assert.equal(rows.find((r) => r.user.id === p.alice).unread_messages, 150, 'the same in another member\'s view');
      assert.equal(rows.find((r) => r.user.id === dave).unread_messages, 255);
    } finally {
      await p.close();
    }
  });

  it('the SDK\'s countUnread() and the channel list unread badge come from the read rows', async () => {
    const p = await pair(1);
    try {
      const [a] = p.rooms;
      for (let i = 0; i < 4; i++) await a.chB.sendMessage({ text: `u${i}` });
      const fresh = await connectUser(p.alice);
      try {
        const [ch] = await fresh.queryChannels({ cid: { $in: [a.cid] } });
        assert.equal(ch.countUnread(), 4);
        assert.equal(ch.state.read[p.alice].unread_messages, 4);
        assert.equal(fresh.user.total_unread_count, 4, 'me carries the totals on connect');
        assert.equal(fresh.user.unread_channels, 1);
        const events = recordEvents(fresh);
        await a.chB.sendMessage({ text: 'live one' });
        await events.waitFor('message.new');
        assert.equal(ch.countUnread(), 5, 'a new message from someone else counts');
        await ch.markRead();
        await events.waitFor('notification.mark_read');
        assert.equal(ch.countUnread(), 0);
      } finally {
        await fresh.disconnectUser();
      }
    } finally {
      await p.close();
    }
  });

  it('a member who never read the channel has a read row with the join time, never the epoch', async () => {
    const [carol] = await createUsers(1, 'carol');
    const p = await pair(1);
    try {
      const [a] = p.rooms;
      await a.chA.sendMessage({ text: 'before carol' });
      const joined = Date.now();
      await a.chA.addMembers([carol]);
      const state = await a.chA.query({});
      const rows = Object.fromEntries(state.read.map((r) => [r.user.id, r]));
      assert.deepEqual(Object.keys(rows).sort(), [p.alice, p.bob, carol].sort(), 'a read row for every member');
      for (const r of state.read) {
        assert.match(r.last_read, TIME_RE);
        assert.ok(r.user.id && r.user.created_at);
      }
      assert.ok(Math.abs(new Date(rows[carol].last_read).getTime() - joined) < 5000);
      assert.equal(rows[carol].unread_messages, 0, 'new members start with everything read');
    } finally {
      await p.close();
    }
  });

  it('GET /unread sums the channels', async () => {
    const p = await pair(2);
    try {
      await p.rooms[0].chB.sendMessage({ text: 'x' });
      await p.rooms[0].chB.sendMessage({ text: 'y' });
      await p.rooms[1].chB.sendMessage({ text: 'z' });
      const res = await p.ca.getUnreadCount();
      assert.equal(res.total_unread_count, 3);
      const byCid = Object.fromEntries(res.channels.map((c) => [c.channel_id, c.unread_count]));
      assert.equal(byCid[p.rooms[0].cid], 2);
      assert.equal(byCid[p.rooms[1].cid], 1);
      assert.deepEqual(res.channel_type.find((t) => t.channel_type === 'messaging'), { channel_type: 'messaging', channel_count: 2, unread_count: 3 });
    } finally {
      await p.close();
    }
  });
});

describe('markUnread and markAllRead', () => {
  it('markUnread from a message: notification.mark_unread with the first unread, the last read and the counts', async () => {
    const p = await pair(2);
    try {
      const [a, other] = p.rooms;
      const msgs = [];
      for (let i = 0; i < 5; i++) msgs.push((await a.chB.sendMessage({ text: `m${i}` })).message);
      await a.chA.markRead();
      const events = recordEvents(p.ca);
      await a.chA.markUnread({ message_id: msgs[2].id });
      const ev = await events.waitFor('notification.mark_unread');
      assert.equal(ev.cid, a.cid);
      assert.equal(ev.first_unread_message_id, msgs[2].id);
      assert.equal(ev.last_read_message_id, msgs[1].id);
      assert.match(ev.last_read_at, TIME_RE);
      assert.ok(new Date(ev.last_read_at) < new Date(msgs[2].created_at));
      assert.equal(ev.unread_messages, 3);
      assert.equal(ev.total_unread_count, 3);
      assert.equal(ev.unread_channels, 1);
      assert.equal(await unreadOf(p.alice, a.cid), 3);
      // From a time: the first message at or after it is the first unread.
      const elsewhere = (await other.chB.sendMessage({ text: 'in another channel' })).message;
      await a.chA.markUnread({ message_timestamp: msgs[3].created_at });
      const byTime = await events.waitFor((e) => e.type === 'notification.mark_unread' && e.unread_messages === 2);
      assert.equal(byTime.first_unread_message_id, undefined);
      assert.equal(byTime.last_read_message_id, msgs[2].id);
      assert.equal(byTime.total_unread_count, 3, 'two here and the other channel\'s one');
      assert.equal(byTime.unread_channels, 2);
      await expectError(a.chA.markUnread({ message_id: elsewhere.id }), 400, 4);
      await expectError(a.chA.markUnread({ message_id: uuid() }), 400, 4);
      await expectError(a.chA.markUnread({}), 400, 4);
    } finally {
      await p.close();
    }
  });

  it('markAllRead reads every channel: message.read per channel and one notification.mark_read without cid', async () => {
    const p = await pair(3);
    try {
      for (const r of p.rooms) await r.chB.sendMessage({ text: 'unread' });
      const own = recordEvents(p.ca);
      const bobs = recordEvents(p.cb);
      await p.ca.markAllRead();
      const note = await own.waitFor('notification.mark_read');
      assert.equal(note.cid, undefined, 'mark-all-read omits cid');
      assert.equal(note.unread_channels, 0);
      assert.equal(note.total_unread_count, 0);
      for (const r of p.rooms) {
        await bobs.waitFor((e) => e.type === 'message.read' && e.cid === r.cid && e.user.id === p.alice);
        assert.equal(await unreadOf(p.alice, r.cid), 0);
        assert.equal(p.ca.activeChannels[r.cid].countUnread(), 0);
      }
    } finally {
      await p.close();
    }
  });
});

describe('notification.message_new', () => {
  it('a member who does not watch the channel gets notification.message_new with the full channel and message', async () => {
    const alice = uniqueId('alice');
    const bob = uniqueId('bob');
    const [ca, cb] = await connectUsers([alice, bob]);
    try {
      const id = uniqueId('ch');
      const ch = ca.channel('messaging', id, { members: [alice, bob] });
      await ch.watch();
      const events = recordEvents(cb);
      const sent = (await ch.sendMessage({ text: 'knock knock' })).message;
      const ev = await events.waitFor('notification.message_new');
      assert.equal(ev.cid, `messaging:${id}`);
      assert.equal(ev.channel.cid, `messaging:${id}`);
      assert.equal(ev.channel.config.read_events, true);
      assert.ok(ev.channel.own_capabilities.includes('send-message'));
      assert.equal(ev.channel.member_count, 2);
      assert.equal(ev.message.id, sent.id);
      assert.equal(ev.message.created_at, sent.created_at);
      assert.equal(events.of('message.new').length, 0, 'no message.new without a watch');
    } finally {
      await ca.disconnectUser();
      await cb.disconnectUser();
    }
  });

  it('a member who watches gets message.new and no notification; one who stopped watching gets it again', async () => {
    const alice = uniqueId('alice');
    const bob = uniqueId('bob');
    const [ca, cb] = await connectUsers([alice, bob]);
    try {
      const id = uniqueId('ch');
      await ca.channel('messaging', id, { members: [alice, bob] }).watch();
      const mine = cb.channel('messaging', id);
      await mine.watch();
      const events = recordEvents(cb);
      const ch = ca.channel('messaging', id);
      const first = (await ch.sendMessage({ text: 'one' })).message;
      const second = (await ch.sendMessage({ text: 'two' })).message;
      // Both are published before each send answers, and one Redis connection carries them to
      // the gateway in order: a notification for the first would have arrived before this.
      await events.waitFor((e) => e.type === 'message.new' && e.message.id === second.id);
      assert.ok(events.of('message.new').some((e) => e.message.id === first.id));
      assert.equal(events.of('notification.message_new').length, 0, 'a watcher gets no notification');
      await mine.stopWatching();
      const third = (await ch.sendMessage({ text: 'three' })).message;
      await events.waitFor((e) => e.type === 'notification.message_new' && e.message.id === third.id);
    } finally {
      await ca.disconnectUser();
      await cb.disconnectUser();
    }
  });
});
