// Threads as getstream.io lists them: the SDK's queryThreads, getThread and partialUpdateThread,
// its Thread and ThreadManager state (what the kit's ThreadList shows), unread threads on the
// connection's own user, on notification.thread_message_new, thread reads and unreads, GET /unread
// and mark all read. Who sees a thread: its participants (the parent's author and its repliers)
// in the list, any reader of the channel by id, nobody once the channel is out of reach.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  TIME_RE, api, connectUser, createUsers, expectError, recordEvents, serverClient, uniqueId, userToken, uuid,
  watchingPair,
} from './lib/streambed.mjs';

const server = serverClient();

// Alice, Bob and Carol in one channel, all three watching; Alice wrote the parent and Bob replied
// twice. Carol takes no part in the thread.
async function threadRoom() {
  const [carol] = await createUsers(1, 'carol');
  const r = await watchingPair({ extraMembers: [carol] });
  const cc = await connectUser(carol);
  const chC = cc.channel('messaging', r.id);
  await chC.watch();
  const parent = (await r.chA.sendMessage({ text: 'parent' })).message;
  const replies = [];
  for (const text of ['r1', 'r2']) replies.push((await r.chB.sendMessage({ text, parent_id: parent.id })).message);
  return {
    ...r, carol, cc, chC, parent, replies,
    close: () => Promise.all([r.close(), cc.disconnectUser()]),
  };
}

const state = (thread) => thread.state.getLatestValue();
const ownUnread = (client, thread) => state(thread).read[client.userID]?.unreadMessageCount ?? 0;

describe('queryThreads and getThread', () => {
  let r;
  before(async () => { r = await threadRoom(); });
  after(() => r.close());

  it('lists the thread for its participants, with its parent, newest replies, participants and read state', async () => {
    const { threads, next } = await r.ca.queryThreads();
    assert.equal(next, undefined, 'one page');
    assert.equal(threads.length, 1);
    const [t] = threads;
    assert.equal(t.id, r.parent.id);
    const s = state(t);
    assert.equal(s.channel.cid, r.cid);
    assert.equal(s.parentMessage.text, 'parent');
    assert.equal(s.replyCount, 2);
    assert.deepEqual(s.replies.map((m) => m.text), ['r1', 'r2'], 'ascending');
    assert.deepEqual(s.participants.map((p) => p.user_id), [r.alice, r.bob], 'the parent\'s author first, then the replier');
    assert.equal(s.participants[1].user.id, r.bob);
    assert.equal(s.title, '');
    assert.equal(ownUnread(r.ca, t), 2, 'Bob\'s two replies');
    assert.equal(state((await r.cb.queryThreads()).threads[0]).read[r.bob].unreadMessageCount, 0, 'a replier has read up to its reply');

    // The wire object, as the SDK received it.
    const raw = await api('POST', '/api/threads/', { token: userToken(r.alice), body: { reply_limit: 1, participant_limit: 1 } });
    assert.equal(raw.status, 200, raw.text);
    const [wire] = raw.json.threads;
    assert.equal(wire.parent_message_id, r.parent.id);
    assert.equal(wire.channel_cid, r.cid);
    assert.equal(wire.channel.cid, r.cid);
    assert.ok(Array.isArray(wire.channel.own_capabilities));
    assert.equal(wire.created_by_user_id, r.alice);
    assert.equal(wire.created_by.id, r.alice);
    assert.equal(wire.reply_count, 2);
    assert.equal(wire.participant_count, 2);
    assert.equal(wire.active_participant_count, 2);
    assert.deepEqual(wire.latest_replies.map((m) => m.text), ['r2'], 'reply_limit');
    assert.equal(wire.thread_participants.length, 1, 'participant_limit');
    assert.match(wire.created_at, TIME_RE);
    assert.equal(wire.created_at, r.replies[0].created_at, 'a thread starts with its first reply');
    assert.equal(wire.last_message_at, r.replies[1].created_at);
    const own = wire.read.find((x) => x.user.id === r.alice);
    assert.equal(own.unread_messages, 2, 'the caller\'s read state, even beyond participant_limit');
    assert.deepEqual(wire.channel.members.map((m) => m.user_id).sort(), [r.alice, r.bob, r.carol].sort());
    const few = await api('POST', '/api/threads/', { token: userToken(r.alice), body: { member_limit: 1 } });
    assert.equal(few.json.threads[0].channel.members.length, 1, 'member_limit');

    // A client that has not loaded the channel gets its members from the thread (the kit titles a
    // thread of an unnamed channel by them).
    const fresh = await connectUser(r.alice);
    try {
      const [ft] = (await fresh.queryThreads()).threads;
      assert.deepEqual(Object.keys(ft.channel.state.members).sort(), [r.alice, r.bob, r.carol].sort());
    } finally {
      await fresh.disconnectUser();
    }
  });

  it('carries the caller\'s draft of the thread, from which the SDK\'s thread composer starts', async () => {
    await r.chA.createDraft({ text: 'half a reply', parent_id: r.parent.id });
    const [t] = (await r.ca.queryThreads()).threads;
    assert.equal(t.messageComposer.textComposer.text, 'half a reply');
    const raw = await api('GET', `/api/threads/${r.parent.id}/`, { token: userToken(r.alice) });
    assert.equal(raw.json.thread.draft.message.text, 'half a reply');
    assert.equal(raw.json.thread.draft.parent_id, r.parent.id);
    assert.equal(raw.json.thread.draft.channel_cid, r.cid);
    const bobs = await api('GET', `/api/threads/${r.parent.id}/`, { token: userToken(r.bob) });
    assert.equal(bobs.json.thread.draft, undefined, 'a draft is its writer\'s alone');
    await r.chA.deleteDraft({ parent_id: r.parent.id });
    assert.equal((await r.ca.queryThreads()).threads[0].messageComposer.textComposer.text, '');
  });

  it('a member who took no part gets no thread in its list, but reads the thread by id; an outsider gets 403', async () => {
    assert.equal((await r.cc.queryThreads()).threads.length, 0);
    const t = await r.cc.getThread(r.parent.id);
    assert.equal(t.id, r.parent.id);
    assert.equal(state(t).replyCount, 2);
    assert.equal(state(t).read[r.carol], undefined, 'no read state of its own');
    assert.deepEqual(Object.keys(state(t).read).sort(), [r.alice, r.bob].sort(), 'the participants\' read states');
    const [outsider] = await createUsers(1, 'out');
    await expectError(api('GET', `/api/threads/${r.parent.id}/`, { token: userToken(outsider) }), 403, 17);
  });

  it('a message without replies, a reply and an unknown id have no thread (404)', async () => {
    const lone = (await r.chA.sendMessage({ text: 'lone' })).message;
    await expectError(r.ca.getThread(lone.id), 404, 16);
    await expectError(r.ca.getThread(r.replies[0].id), 404, 16);
    await expectError(r.ca.getThread(uuid()), 404, 16);
  });

  it('watch: true makes the connection watch the threads\' channels', async () => {
    const dave = uniqueId('dave');
    const cd = await connectUser(dave);
    try {
      await server.channel('messaging', r.id).addMembers([dave]);
      const parent = (await server.channel('messaging', r.id).sendMessage({ text: 'dave asks', user_id: dave })).message;
      await r.chB.sendMessage({ text: 'answer', parent_id: parent.id });
      const events = recordEvents(cd);
      const { threads } = await cd.queryThreads({ watch: true });
      assert.deepEqual(threads.map((t) => t.id), [parent.id]);
      await r.chA.sendMessage({ text: 'now dave watches' });
      const ev = await events.waitFor((e) => e.type === 'message.new' && e.message.text === 'now dave watches');
      assert.equal(ev.cid, r.cid);
    } finally {
      await cd.disconnectUser();
    }
  });

  it('bad input: 400 in getstream.io\'s envelope', async () => {
    const token = userToken(r.alice);
    await expectError(api('POST', '/api/threads/', { token, body: { limit: 0 } }), 400, 4, /limit/);
    await expectError(api('POST', '/api/threads/', { token, body: { limit: 101 } }), 400, 4, /limit/);
    await expectError(api('POST', '/api/threads/', { token, body: { reply_limit: 11 } }), 400, 4, /reply_limit/);
    await expectError(api('POST', '/api/threads/', { token, body: { next: 'nonsense' } }), 400, 4, /next/);
    await expectError(api('POST', '/api/threads/', { token, body: { filter: { color: { $regex: 'x' } } } }), 400, 4);
    await expectError(api('POST', '/api/threads/', { token, body: { sort: [{ field: 'text', direction: 1 }] } }), 400, 4, /sort/);
    await expectError(api('POST', '/api/threads/', { token, body: { filter: 'x' } }), 400, 4, /filter/);
    await expectError(api('GET', `/api/threads/${r.parent.id}/`, { token, query: { reply_limit: '-1' } }), 400, 4);
    await expectError(server.queryThreads(), 400, 4, /user_id/);
  });
});

describe('unread threads', () => {
  it('counted on connect, carried by notification.thread_message_new, cleared by a thread read, set again by a thread unread', async () => {
    const r = await threadRoom();
    try {
      // A fresh connection of Alice's: its own user counts the thread with Bob's replies.
      const fresh = await connectUser(r.alice);
      assert.equal(fresh.user.unread_threads, 1);
      await fresh.disconnectUser();

      const alice = recordEvents(r.ca);
      const bob = recordEvents(r.cb);
      const carol = recordEvents(r.cc);
      const r3 = (await r.chB.sendMessage({ text: 'r3', parent_id: r.parent.id })).message;
      const n = await alice.waitFor('notification.thread_message_new');
      assert.equal(n.message.id, r3.id);
      assert.equal(n.message.parent_id, r.parent.id);
      assert.equal(n.cid, r.cid);
      assert.equal(n.unread_threads, 1);
      assert.equal(n.unread_thread_messages, 3);
      await bob.waitFor((e) => e.type === 'message.new' && e.message.id === r3.id);
      await carol.waitFor((e) => e.type === 'message.new' && e.message.id === r3.id);
      assert.equal(bob.of('notification.thread_message_new').length, 0, 'not to the replier');
      assert.equal(carol.of('notification.thread_message_new').length, 0, 'not to a member who takes no part');

      const unread = await r.ca.getUnreadCount();
      assert.equal(unread.total_unread_threads_count, 1);
      assert.deepEqual(unread.threads.map((t) => [t.parent_message_id, t.unread_count, t.last_read_message_id ?? null]),
        [[r.parent.id, 3, null]]);

      // The SDK's Thread marks itself read (what an open thread in the kit does).
      const aliceChannelReadSeenByBob = r.chB.state.read[r.alice].last_read.getTime();
      const [thread] = (await r.ca.queryThreads()).threads;
      assert.equal(ownUnread(r.ca, thread), 3);
      const mark = alice.mark();
      await thread.markAsRead();
      const read = await alice.waitFor('notification.mark_read', { since: mark });
      assert.equal(read.thread_id, r.parent.id);
      assert.equal(read.unread_threads, 0);
      assert.equal(read.last_read_message_id, r3.id);
      const seen = await bob.waitFor((e) => e.type === 'message.read' && e.thread?.parent_message_id === r.parent.id);
      assert.equal(seen.user.id, r.alice);
      assert.equal(r.chB.state.read[r.alice].last_read.getTime(), aliceChannelReadSeenByBob,
        'Bob\'s client keeps Alice\'s channel read state');
      assert.equal((await r.ca.getUnreadCount()).total_unread_threads_count, 0);
      const again = (await r.ca.getThread(r.parent.id)).state.getLatestValue().read[r.alice];
      assert.equal(again.unreadMessageCount, 0);
      assert.equal(again.lastReadMessageId, r3.id);

      // Unread again from Bob's newest reply; the channel keeps its own read state.
      const channelUnreadBefore = r.chA.countUnread();
      const markUnread = alice.mark();
      await r.chA.markUnread({ thread_id: r.parent.id });
      const un = await alice.waitFor('notification.mark_unread', { since: markUnread });
      assert.equal(un.thread_id, r.parent.id);
      assert.equal(un.cid, undefined, 'without cid: the SDK would take it for the channel\'s');
      assert.equal(un.first_unread_message_id, r3.id);
      assert.equal(un.last_read_message_id, r.replies[1].id);
      assert.equal(un.unread_messages, 1);
      assert.equal(un.unread_threads, 1);
      assert.equal(r.chA.countUnread(), channelUnreadBefore);
      const counts = await r.ca.getUnreadCount();
      assert.equal(counts.total_unread_threads_count, 1);
      assert.equal(counts.threads[0].unread_count, 1);

      // From a chosen reply; a message of another thread is refused.
      await r.chA.markUnread({ thread_id: r.parent.id, message_id: r.replies[0].id });
      assert.equal((await r.ca.getUnreadCount()).threads[0].unread_count, 3);
      await expectError(r.chA.markUnread({ thread_id: r.parent.id, message_id: r.parent.id }), 400, 4, /not a reply/);
      await expectError(r.chA.markUnread({ thread_id: uuid() }), 400, 4, /thread/);

      // Mark all read clears the threads too.
      await r.ca.markAllRead();
      assert.equal((await r.ca.getUnreadCount()).total_unread_threads_count, 0);
      assert.equal(ownUnread(r.ca, (await r.ca.queryThreads()).threads[0]), 0);
    } finally {
      await r.close();
    }
  });

  it('own, deleted, silent and muted users\' replies are not unread; a reply of one\'s own reads the thread', async () => {
    const r = await threadRoom();
    try {
      const unreadOf = async () => ownUnread(r.ca, (await r.ca.getThread(r.parent.id)));
      assert.equal(await unreadOf(), 2);
      await r.cb.deleteMessage(r.replies[0].id);
      assert.equal(await unreadOf(), 1, 'a deleted reply');
      await r.chB.sendMessage({ text: 'quiet', parent_id: r.parent.id, silent: true });
      assert.equal(await unreadOf(), 1, 'a silent reply');
      await r.ca.muteUser(r.carol);
      await r.chC.sendMessage({ text: 'muted', parent_id: r.parent.id });
      assert.equal(await unreadOf(), 1, 'a muted user\'s reply');
      await r.chA.sendMessage({ text: 'mine', parent_id: r.parent.id });
      assert.equal(await unreadOf(), 0, 'replying reads the thread');
      assert.equal((await r.ca.getUnreadCount()).total_unread_threads_count, 0);
    } finally {
      await r.close();
    }
  });

  it('the ThreadManager (the kit\'s thread list): unread count from the connection, threads on activation, new replies mark the order stale or the thread unseen', async () => {
    const r = await threadRoom();
    const fresh = await connectUser(r.alice);
    try {
      const manager = fresh.threads;
      manager.registerSubscriptions();
      assert.equal(manager.state.getLatestValue().unreadThreadCount, 1);
      manager.activate();
      await waitUntil(() => manager.state.getLatestValue().ready);
      assert.deepEqual(manager.state.getLatestValue().threads.map((t) => t.id), [r.parent.id]);
      // A new thread the list has not loaded yet, and a reply in the listed one.
      const other = (await r.chA.sendMessage({ text: 'second parent' })).message;
      await r.chB.sendMessage({ text: 'x', parent_id: other.id });
      await waitUntil(() => manager.state.getLatestValue().unseenThreadIds.includes(other.id));
      assert.equal(manager.state.getLatestValue().unreadThreadCount, 2);
      await r.chB.sendMessage({ text: 'y', parent_id: r.parent.id });
      await waitUntil(() => manager.state.getLatestValue().isThreadOrderStale);
      await manager.reload();
      assert.deepEqual(manager.state.getLatestValue().threads.map((t) => t.id), [r.parent.id, other.id], 'newest reply first');
      manager.unregisterSubscriptions();
    } finally {
      await fresh.disconnectUser();
      await r.close();
    }
  });
});

describe('at once', () => {
  it('replies, thread reads, mark all reads and renames of one thread at once: every one lands, and no transaction deadlocks', async () => {
    // A reply holds its channel's row while it moves its participants' rows; mark all read takes
    // the channels' rows before the threads' for that reason. Were the orders opposite,
    // PostgreSQL would break the cycles by failing one side, which the worker runs again (logged as
    // pg.retry, SQLSTATE 40P01).
    const r = await threadRoom();
    try {
      const people = await createUsers(12, 'tp');
      const srv = server.channel('messaging', r.id);
      await srv.addMembers(people);
      await Promise.all(people.map((u) => srv.sendMessage({ text: `joining ${u}`, parent_id: r.parent.id, user_id: u })));
      const retries = () => fs.readFileSync(path.join(process.env.STREAMBED_RUN_DIR, 'logs', 'api.log'), 'utf8')
        .split('\n').filter((l) => l.includes('"pg.retry"') && l.includes('40P01')).length;
      const before = retries();
      const calls = [];
      for (const [i, u] of people.entries()) {
        const token = userToken(u);
        calls.push(srv.sendMessage({ text: `more ${i}`, parent_id: r.parent.id, user_id: u }).then(() => 200));
        calls.push(api('POST', `/api/channels/messaging/${r.id}/read/`, { token, body: { thread_id: r.parent.id } }));
        calls.push(api('POST', '/api/channels/read/', { token, body: {} }));
        if (i % 4 === 0) calls.push(r.ca.partialUpdateThread(r.parent.id, { set: { title: `title ${i}` } }).then(() => 200));
      }
      for (const res of await Promise.all(calls)) assert.equal(res === 200 ? 200 : res.status, 200, res.text);
      assert.equal(state(await r.ca.getThread(r.parent.id)).replyCount, 2 + 2 * people.length);
      assert.equal(retries() - before, 0, 'deadlocks broken by PostgreSQL and rerun');
      // Read once more, after the last reply: nobody has an unread thread left.
      for (const u of people) {
        const res = await api('POST', '/api/channels/read/', { token: userToken(u), body: {} });
        assert.equal(res.status, 200, res.text);
        const unread = await api('GET', '/api/unread/', { token: userToken(u) });
        assert.equal(unread.json.total_unread_threads_count, 0, u);
      }
    } finally {
      await r.close();
    }
  });
});

describe('pages, filters and sorts', () => {
  it('next pages through every thread once, unread ones first; filters and sorts narrow and order', async () => {
    const r = await threadRoom();
    try {
      // Five threads of Alice's; she reads two of them.
      const parents = [r.parent];
      const lastReplies = [r.replies[1]];  // as sent: times with microseconds
      for (let i = 0; i < 4; i++) {
        const p = (await r.chA.sendMessage({ text: `p${i}` })).message;
        lastReplies.push((await r.chB.sendMessage({ text: `reply ${i}`, parent_id: p.id })).message);
        parents.push(p);
      }
      await r.chA.markRead({ thread_id: parents[1].id });
      await r.chA.markRead({ thread_id: parents[3].id });
      const byId = (ids) => ids.map((id) => parents.findIndex((p) => p.id === id));
      const seen = [];
      let next;
      for (let page = 0; page < 5; page++) {
        const res = await r.ca.queryThreads({ limit: 2, ...(next ? { next } : {}) });
        seen.push(...res.threads.map((t) => t.id));
        next = res.next;
        if (!next) break;
      }
      assert.equal(next, undefined, 'the last page has no next');
      const second = await api('POST', '/api/threads/', { token: userToken(r.alice), body: { limit: 2, next: 'threads:2' } });
      assert.equal(second.json.prev, 'threads:0');
      const back = await api('POST', '/api/threads/', { token: userToken(r.alice), body: { limit: 2, prev: second.json.prev } });
      assert.deepEqual(byId(back.json.threads.map((t) => t.parent_message_id)), [4, 2], 'prev pages back to the first page');
      assert.equal(back.json.prev, undefined, 'the first page has no prev');
      await expectError(api('POST', '/api/threads/', { token: userToken(r.alice), body: { next: 'threads:2', prev: 'threads:0' } }), 400, 4);
      // Unread first (newest reply first among them), then the read ones.
      assert.deepEqual(byId(seen), [4, 2, 0, 3, 1]);

      const filtered = await r.ca.queryThreads({ filter: { parent_message_id: { $in: [parents[1].id, parents[2].id] } } });
      assert.deepEqual(byId(filtered.threads.map((t) => t.id)).sort(), [1, 2]);
      assert.equal((await r.ca.queryThreads({ filter: { channel_cid: 'messaging:nothing-here' } })).threads.length, 0);
      assert.equal((await r.ca.queryThreads({ filter: { channel_cid: { $eq: r.cid } } })).threads.length, 5);
      const oldest = await r.ca.queryThreads({ sort: { created_at: 1 }, limit: 5 });
      assert.deepEqual(byId(oldest.threads.map((t) => t.id)), [0, 1, 2, 3, 4]);
      const since = await r.ca.queryThreads({ filter: { last_message_at: { $gt: lastReplies[2].created_at } } });
      assert.deepEqual(byId(since.threads.map((t) => t.id)).sort(), [3, 4]);
    } finally {
      await r.close();
    }
  });
});

describe('partialUpdateThread', () => {
  it('sets and unsets the title and custom data; the watchers\' threads follow thread.updated', async () => {
    const r = await threadRoom();
    try {
      const [bobsThread] = (await r.cb.queryThreads()).threads;
      bobsThread.registerSubscriptions();
      const events = recordEvents(r.cb);
      const res = await r.ca.partialUpdateThread(r.parent.id, { set: { title: 'Plans', priority: 2 } });
      assert.equal(res.thread.title, 'Plans');
      assert.equal(res.thread.priority, 2);
      assert.equal(res.thread.parent_message_id, r.parent.id);
      const ev = await events.waitFor('thread.updated');
      assert.equal(ev.cid, r.cid);
      assert.equal(ev.thread.parent_message_id, r.parent.id);
      assert.equal(ev.thread.title, 'Plans');
      assert.equal(ev.thread.priority, 2);
      assert.ok(Number.isInteger(ev.seq), 'logged in the channel\'s events like every channel event');
      await waitUntil(() => state(bobsThread).title === 'Plans');
      assert.equal(state(bobsThread).custom.priority, 2);
      const listed = (await r.cc.getThread(r.parent.id));
      assert.equal(state(listed).title, 'Plans');

      const unset = await r.ca.partialUpdateThread(r.parent.id, { unset: ['priority'] });
      assert.equal(unset.thread.priority, undefined);
      assert.equal(unset.thread.title, 'Plans');
      bobsThread.unregisterSubscriptions();
    } finally {
      await r.close();
    }
  });

  it('only the parent\'s author, moderators and admins; reserved fields, a long title and a missing thread are refused', async () => {
    const r = await threadRoom();
    try {
      await expectError(r.cb.partialUpdateThread(r.parent.id, { set: { title: 'mine now' } }), 403, 17);
      await server.channel('messaging', r.id).addModerators([r.bob]);
      assert.equal((await r.cb.partialUpdateThread(r.parent.id, { set: { title: 'moderated' } })).thread.title, 'moderated');
      assert.equal((await server.partialUpdateThread(r.parent.id, { set: { title: 'by the server' }, user_id: r.carol })).thread.title, 'by the server');
      const token = userToken(r.alice);
      const patch = (body) => api('PATCH', `/api/threads/${r.parent.id}/`, { token, body });
      await expectError(patch({ set: { latest_replies: [] } }), 400, 4, /latest_replies/);
      await expectError(patch({ unset: ['parent_message_id'] }), 400, 4);
      await expectError(patch({ set: { title: 'x'.repeat(256) } }), 400, 4, /title/);
      await expectError(patch({ set: { title: 7 } }), 400, 4, /title/);
      await expectError(patch({}), 400, 4, /set or unset/);
      await expectError(patch({ set: { big: 'x'.repeat(6000) } }), 400, 4, /5 KB/);
      await expectError(api('PATCH', `/api/threads/${uuid()}/`, { token, body: { set: { title: 'x' } } }), 404, 16);
    } finally {
      await r.close();
    }
  });
});

describe('what takes a thread out of reach', () => {
  it('leaving the channel, the parent\'s hard delete and the channel\'s truncation', async () => {
    const r = await threadRoom();
    try {
      const second = (await r.chA.sendMessage({ text: 'second' })).message;
      await r.chB.sendMessage({ text: 'answer', parent_id: second.id });
      assert.equal((await r.cb.queryThreads()).threads.length, 2);
      await server.channel('messaging', r.id).removeMembers([r.bob]);
      assert.equal((await r.cb.queryThreads()).threads.length, 0, 'no longer a member');
      assert.equal((await r.cb.getUnreadCount()).total_unread_threads_count, 0);

      await r.ca.deleteMessage(second.id, true);
      assert.deepEqual((await r.ca.queryThreads()).threads.map((t) => t.id), [r.parent.id]);
      await expectError(r.ca.getThread(second.id), 404, 16);

      await server.channel('messaging', r.id).truncate();
      assert.equal((await r.ca.queryThreads()).threads.length, 0, 'truncated away');
      assert.equal((await r.ca.getUnreadCount()).total_unread_threads_count, 0);
    } finally {
      await r.close();
    }
  });

  it('a participant who keeps read receipts to itself is not in the others\' read state', async () => {
    const r = await threadRoom();
    try {
      await server.partialUpdateUser({ id: r.bob, set: { privacy_settings: { read_receipts: { enabled: false } } } });
      const t = await r.cc.getThread(r.parent.id);
      assert.equal(state(t).read[r.bob], undefined);
      assert.ok(state(t).read[r.alice], 'Alice keeps hers on');
      assert.ok(state(await r.cb.getThread(r.parent.id)).read[r.bob], 'Bob sees his own');
    } finally {
      await r.close();
    }
  });
});

// Polls a condition every 50 ms for at most 5 s.
async function waitUntil(condition, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${condition}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
