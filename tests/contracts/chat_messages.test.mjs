// Issue 3, messages (STREAM-PROTOCOL.md §3.5, §4.2, §5): send with the client's id, duplicates,
// get, edit with read-only keys echoed back, pin and unpin, soft and hard delete, threads, quotes,
// mentions, length limits and strictly increasing created_at — through stream-chat.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  TIME_RE, api, connectUser, createUsers, expectError, recordEvents, serverClient, uniqueId, userToken, uuid, watchingPair,
} from './lib/streambed.mjs';

const room = watchingPair;

function assertMessageShape(m, { id, cid, userId, text }) {
  assert.equal(m.id, id);
  assert.equal(m.text, text);
  assert.equal(m.type, 'regular');
  assert.equal(m.cid, cid);
  assert.equal(m.user.id, userId);
  assert.match(m.user.created_at, TIME_RE);
  assert.deepEqual(m.attachments, []);
  assert.deepEqual(m.mentioned_users, []);
  assert.equal(m.parent_id, null);
  assert.equal(m.show_in_channel, false);
  assert.equal(m.quoted_message_id, null);
  assert.equal(m.reply_count, 0);
  assert.equal(m.deleted_reply_count, 0);
  assert.deepEqual(m.thread_participants, []);
  assert.deepEqual(m.latest_reactions, []);
  assert.deepEqual(m.own_reactions, []);
  assert.deepEqual(m.reaction_groups, {});
  assert.deepEqual(m.reaction_counts, {});
  assert.deepEqual(m.reaction_scores, {});
  assert.equal(m.silent, false);
  assert.equal(m.shadowed, false);
  assert.equal(m.pinned, false);
  assert.equal(m.pinned_at, null);
  assert.equal(m.pinned_by, null);
  assert.equal(m.pin_expires, null);
  assert.deepEqual(m.restricted_visibility, []);
  assert.match(m.created_at, TIME_RE);
  assert.equal(m.updated_at, m.created_at);
  assert.equal(m.deleted_at, null);
  assert.equal(m.message_text_updated_at, null);
}

describe('sending', () => {
  it('a message keeps the client id; the REST reply and message.new (to every watcher, sender included) carry the full message', async () => {
    const r = await room();
    try {
      const evA = recordEvents(r.ca);
      const evB = recordEvents(r.cb);
      const id = uuid();
      const res = await r.chA.sendMessage({ id, text: 'hello <b>world</b> & co', color: 'teal' });
      assertMessageShape(res.message, { id, cid: r.cid, userId: r.alice, text: 'hello <b>world</b> & co' });
      assert.equal(res.message.html, '<p>hello &lt;b&gt;world&lt;/b&gt; &amp; co</p>\n');
      assert.equal(res.message.color, 'teal', 'custom fields are flattened');
      assert.match(res.duration, /ms$/);
      for (const ev of [await evA.waitFor('message.new'), await evB.waitFor('message.new')]) {
        assert.equal(ev.cid, r.cid);
        assert.equal(ev.channel_id, r.chA.id);
        assert.equal(ev.channel_type, 'messaging');
        assert.equal(ev.user.id, r.alice);
        assert.equal(ev.message.id, id);
        assert.equal(ev.message.color, 'teal');
        assert.equal(new Date(ev.message.created_at).getTime(), new Date(res.message.created_at).getTime());
        assert.equal(typeof ev.watcher_count, 'number');
      }
      assert.equal(r.chB.state.messages.at(-1).id, id);
    } finally {
      await r.close();
    }
  });

  it('without an id the server makes a UUID', async () => {
    const r = await room();
    try {
      const res = await r.chA.sendMessage({ text: 'anonymous id' });
      assert.match(res.message.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    } finally {
      await r.close();
    }
  });

  it('a duplicate id is 400 code 4 "already exists", leaves the first message untouched and emits nothing', async () => {
    const r = await room();
    try {
      const events = recordEvents(r.cb);
      const id = uuid();
      const first = await r.chA.sendMessage({ id, text: 'original' });
      const err = await expectError(r.chA.sendMessage({ id, text: 'retry' }), 400, 4, /already exists/);
      assert.match(err.response.data.message, /already exists/);
      // Another user cannot take the id either.
      await expectError(r.chB.sendMessage({ id, text: 'theirs' }), 400, 4, /already exists/);
      const after = await r.chA.sendMessage({ text: 'marker' });
      const marker = await events.waitFor((e) => e.type === 'message.new' && e.message.id === after.message.id);
      const news = events.events.filter((e) => e.type === 'message.new' && e.message.id === id);
      assert.equal(news.length, 1);
      // A refused send writes nothing at all: not even the channel's next event seq.
      assert.equal(marker.seq, news[0].seq + 1);
      const got = await r.ca.getMessage(id);
      assert.equal(got.message.text, 'original');
      assert.equal(got.message.user.id, r.alice);
      assert.equal(got.message.created_at, first.message.created_at);
    } finally {
      await r.close();
    }
  });

  it('mentions are ids on input and full users on output; unknown ids are dropped', async () => {
    const r = await room();
    try {
      const events = recordEvents(r.cb);
      const res = await r.chA.sendMessage({ text: `hi @${r.bob}`, mentioned_users: [r.bob, uniqueId('ghost')] });
      assert.equal(res.message.mentioned_users.length, 1);
      assert.equal(res.message.mentioned_users[0].id, r.bob);
      assert.match(res.message.mentioned_users[0].created_at, TIME_RE);
      const ev = await events.waitFor('message.new');
      assert.equal(ev.message.mentioned_users[0].id, r.bob);
      assert.equal(r.chB.countUnreadMentions(), 1);
    } finally {
      await r.close();
    }
  });

  it('a quote embeds quoted_message (one level deep) in the reply, the event and later queries', async () => {
    const r = await room();
    try {
      const base = await r.chA.sendMessage({ text: 'base' });
      const q1 = await r.chB.sendMessage({ text: 'quoting', quoted_message_id: base.message.id });
      assert.equal(q1.message.quoted_message_id, base.message.id);
      assert.equal(q1.message.quoted_message.id, base.message.id);
      assert.equal(q1.message.quoted_message.text, 'base');
      assert.equal(q1.message.quoted_message.user.id, r.alice);
      assert.equal(q1.message.quoted_message.created_at, base.message.created_at);
      const events = recordEvents(r.ca);
      const q2 = await r.chA.sendMessage({ text: 'quote of a quote', quoted_message_id: q1.message.id });
      assert.equal(q2.message.quoted_message.id, q1.message.id);
      assert.equal(q2.message.quoted_message.quoted_message, undefined, 'no nested quote');
      const ev = await events.waitFor((e) => e.type === 'message.new' && e.message.id === q2.message.id);
      assert.equal(ev.message.quoted_message.id, q1.message.id);
      const state = await r.chA.query({ messages: { limit: 10 } });
      assert.equal(state.messages.find((m) => m.id === q2.message.id).quoted_message.text, 'quoting');
      await expectError(r.chA.sendMessage({ text: 'bad', quoted_message_id: uuid() }), 400, 4);
    } finally {
      await r.close();
    }
  });

  it('text over 5000 characters is 400 code 20; exactly 5000 (multi-byte too) is accepted', async () => {
    const r = await room();
    try {
      await expectError(r.chA.sendMessage({ text: 'x'.repeat(5001) }), 400, 20);
      await expectError(r.chA.sendMessage({ text: 'é'.repeat(5001) }), 400, 20);
      const ok = await r.chA.sendMessage({ text: 'é'.repeat(5000) });
      assert.equal(ok.message.text.length, 5000);
      const state = await r.chA.query({ messages: { limit: 10 } });
      assert.equal(state.messages.length, 1, 'refused messages are not stored');
    } finally {
      await r.close();
    }
  });

  it('created_at is strictly increasing per channel at millisecond granularity, even for parallel sends', async () => {
    const r = await room();
    try {
      const sends = await Promise.all(Array.from({ length: 30 }, (_, i) =>
        (i % 2 ? r.chA : r.chB).sendMessage({ id: uuid(), text: `p${i}` })));
      const ms = sends.map((s) => new Date(s.message.created_at).getTime());
      assert.equal(new Set(ms).size, ms.length, 'no two messages share a millisecond');
      const state = await r.chA.query({ messages: { limit: 100 } });
      const page = state.messages.map((m) => new Date(m.created_at).getTime());
      assert.equal(page.length, 30);
      for (let i = 1; i < page.length; i++) assert.ok(page[i] > page[i - 1], 'ascending and strictly increasing');
      for (const m of state.messages) assert.match(m.created_at, TIME_RE);
    } finally {
      await r.close();
    }
  });

  it('a plain user cannot send a system message; a server token can, for a named user', async () => {
    const r = await room();
    try {
      await expectError(r.chA.sendMessage({ text: 'sys', type: 'system' }), 403, 17);
      await expectError(r.chA.sendMessage({ text: 'err', type: 'error' }), 400, 4);
      const srv = serverClient().channel('messaging', r.chA.id);
      const res = await srv.sendMessage({ text: 'announcement', type: 'system', user_id: r.alice });
      assert.equal(res.message.type, 'system');
      assert.equal(res.message.user.id, r.alice);
    } finally {
      await r.close();
    }
  });
});

describe('reading messages', () => {
  it('GET /messages/{id} returns the message; unknown ids are 404; messages of unreadable channels are 403', async () => {
    const r = await room();
    const stranger = await connectUser(uniqueId('stranger'));
    try {
      const sent = await r.chA.sendMessage({ text: 'find me' });
      const got = await r.cb.getMessage(sent.message.id);
      assert.deepEqual(got.message.id, sent.message.id);
      assert.equal(got.message.created_at, sent.message.created_at);
      assert.equal(got.message.user.id, r.alice);
      await expectError(r.cb.getMessage(uuid()), 404, 16);
      await expectError(stranger.getMessage(sent.message.id), 403, 17);
    } finally {
      await r.close();
      await stranger.disconnectUser();
    }
  });

  it('GET /channels/{type}/{id}/messages?ids= returns the listed messages', async () => {
    const r = await room();
    try {
      const a = await r.chA.sendMessage({ text: 'a' });
      const b = await r.chA.sendMessage({ text: 'b' });
      await r.chA.sendMessage({ text: 'c' });
      const res = await r.chB.getMessagesById([b.message.id, a.message.id, uuid()]);
      assert.deepEqual(res.messages.map((m) => m.text), ['a', 'b']);
    } finally {
      await r.close();
    }
  });
});

describe('editing', () => {
  it('the SDK edit (whole local message) changes the text, sets message_text_updated_at, bumps updated_at, keeps created_at', async () => {
    const r = await room();
    try {
      const events = recordEvents(r.cb);
      const own = recordEvents(r.ca);
      const sent = await r.chA.sendMessage({ text: 'tpyo', color: 'red' });
      await events.waitFor('message.new');
      await own.waitFor('message.new');
      const local = r.chA.state.messages.find((m) => m.id === sent.message.id);
      const res = await r.ca.updateMessage({ ...local, text: 'typo', color: 'blue' });
      assert.equal(res.message.text, 'typo');
      assert.equal(res.message.html, '<p>typo</p>\n');
      assert.equal(res.message.color, 'blue');
      assert.equal(res.message.created_at, sent.message.created_at);
      assert.match(res.message.message_text_updated_at, TIME_RE);
      assert.ok(res.message.updated_at > sent.message.updated_at, 'updated_at moves forward');
      const ev = await events.waitFor('message.updated');
      assert.equal(ev.message.id, sent.message.id);
      assert.equal(ev.message.text, 'typo');
      assert.equal(new Date(ev.message.created_at).getTime(), new Date(sent.message.created_at).getTime(), 'the original created_at');
      assert.equal(ev.message.message_text_updated_at, res.message.message_text_updated_at);
      assert.equal(r.chB.state.messages.find((m) => m.id === sent.message.id).text, 'typo', 'the other client applies it');
    } finally {
      await r.close();
    }
  });

  it('read-only and unknown keys echoed back in a raw edit are ignored, not rejected', async () => {
    const r = await room();
    try {
      const sent = await r.chA.sendMessage({ text: 'v1' });
      const echoed = {
        ...sent.message, text: 'v2', status: 'received', cid: 'messaging:somewhere-else', type: 'deleted',
        user: { id: r.bob }, user_id: r.bob, reply_count: 99, deleted_reply_count: 7, shadowed: true, reaction_groups: { x: {} },
        reaction_scores: { x: 5 }, pinned_by: { id: r.bob }, created_at: '2000-01-01T00:00:00Z', updated_at: '2000-01-01T00:00:00Z',
        html: '<script>', i18n: { fr_text: 'x' }, __html: 'x', error: { status: 500 }, errorStatusCode: 500,
        mentioned_channel: false, mentioned_here: false, mentioned_roles: [], thread_participants: [{ id: r.bob }],
      };
      const res = await api('POST', `/api/messages/${sent.message.id}/`, {
        token: userToken(r.alice), query: { user_id: r.alice }, body: { message: echoed },
      });
      assert.equal(res.status, 200, res.text);
      const m = res.json.message;
      assert.equal(m.text, 'v2');
      assert.equal(m.html, '<p>v2</p>\n');
      assert.equal(m.cid, r.cid);
      assert.equal(m.type, 'regular');
      assert.equal(m.user.id, r.alice);
      assert.equal(m.reply_count, 0);
      assert.equal(m.deleted_reply_count, 0);
      assert.equal(m.shadowed, false);
      assert.deepEqual(m.reaction_groups, {});
      assert.equal(m.pinned_by, null);
      assert.equal(m.created_at, sent.message.created_at);
      assert.ok(m.updated_at > sent.message.updated_at);
      assert.deepEqual(m.thread_participants, []);
      assert.equal(m.status, undefined);
      assert.equal(m.errorStatusCode, undefined);
    } finally {
      await r.close();
    }
  });

  it('an edit that leaves the text alone does not set message_text_updated_at', async () => {
    const r = await room();
    try {
      const sent = await r.chA.sendMessage({ text: 'same' });
      const res = await r.ca.updateMessage({ id: sent.message.id, text: 'same', flag: 1 });
      assert.equal(res.message.message_text_updated_at, null);
      assert.equal(res.message.flag, 1);
      assert.ok(res.message.updated_at > sent.message.updated_at);
    } finally {
      await r.close();
    }
  });

  it('editing another user\'s message is 403 code 17; a moderator may; an over-long edit is code 20', async () => {
    const r = await room();
    try {
      const sent = await r.chA.sendMessage({ text: 'mine' });
      await expectError(r.cb.updateMessage({ id: sent.message.id, text: 'yours now' }), 403, 17);
      await expectError(r.cb.partialUpdateMessage(sent.message.id, { set: { text: 'yours now' } }), 403, 17);
      await expectError(r.ca.updateMessage({ id: sent.message.id, text: 'y'.repeat(5001) }), 400, 20);
      assert.equal((await r.ca.getMessage(sent.message.id)).message.text, 'mine');
      const mine = await r.chB.sendMessage({ text: 'bob wrote' });
      const res = await r.ca.updateMessage({ id: mine.message.id, text: 'owner edited' });
      assert.equal(res.message.text, 'owner edited');
      assert.equal(res.message.user.id, r.bob, 'the author stays');
      await expectError(r.ca.updateMessage({ id: uuid(), text: 'x' }), 404, 16);
    } finally {
      await r.close();
    }
  });
});

describe('pinning (partial update)', () => {
  it('getPinnedMessages: the pins in force, newest pin first, paged by message or time, or oldest first', async () => {
    const r = await room();
    try {
      const sent = [];
      const pinnedAt = [];
      for (let i = 0; i < 5; i++) {
        const m = (await r.chA.sendMessage({ text: `pin ${i}` })).message;
        sent.push(m);
        pinnedAt.push((await r.ca.pinMessage(m)).message.pinned_at);
      }
      // Left out: a pin taken back, a pin that expired, a deleted message.
      const unpinned = (await r.chA.sendMessage({ text: 'unpinned' })).message;
      await r.ca.pinMessage(unpinned);
      await r.ca.unpinMessage(unpinned);
      const expiring = (await r.chA.sendMessage({ text: 'expired' })).message;
      await r.ca.pinMessage(expiring, 1);
      const deleted = (await r.chA.sendMessage({ text: 'deleted' })).message;
      await r.ca.pinMessage(deleted);
      await r.ca.deleteMessage(deleted.id);
      await new Promise((resolve) => setTimeout(resolve, 1100));

      const texts = (res) => res.messages.map((m) => m.text);
      assert.deepEqual(texts(await r.chB.getPinnedMessages({})), ['pin 4', 'pin 3', 'pin 2', 'pin 1', 'pin 0']);
      const page1 = await r.chB.getPinnedMessages({ limit: 2 });
      assert.deepEqual(texts(page1), ['pin 4', 'pin 3']);
      assert.equal(page1.messages[0].pinned_by.id, r.alice);
      const page2 = await r.chB.getPinnedMessages({ limit: 2, id_lt: page1.messages[1].id });
      assert.deepEqual(texts(page2), ['pin 2', 'pin 1']);
      assert.deepEqual(texts(await r.chB.getPinnedMessages({ limit: 2, id_lte: page2.messages[1].id })), ['pin 1', 'pin 0']);
      assert.deepEqual(texts(await r.chB.getPinnedMessages({ pinned_at_before: pinnedAt[2] })), ['pin 1', 'pin 0']);
      assert.deepEqual(texts(await r.chB.getPinnedMessages({ pinned_at_before_or_equal: pinnedAt[2] })), ['pin 2', 'pin 1', 'pin 0']);
      assert.deepEqual(texts(await r.chB.getPinnedMessages({ pinned_at_after: pinnedAt[2] })), ['pin 4', 'pin 3']);
      assert.deepEqual(texts(await r.chB.getPinnedMessages({ pinned_at_after_or_equal: pinnedAt[2] })), ['pin 4', 'pin 3', 'pin 2']);
      assert.deepEqual(texts(await r.chB.getPinnedMessages({}, { pinned_at: 1 })), ['pin 0', 'pin 1', 'pin 2', 'pin 3', 'pin 4']);
      assert.deepEqual(texts(await r.chB.getPinnedMessages({ id_gt: sent[1].id, id_lt: sent[4].id }, { pinned_at: 1 })), ['pin 2', 'pin 3']);

      await expectError(r.chB.getPinnedMessages({ id_around: sent[2].id }), 400, 4, /id_around/);
      await expectError(r.chB.getPinnedMessages({}, { created_at: -1 }), 400, 4, /pinned_at/);
      await expectError(r.chB.getPinnedMessages({ id_lt: unpinned.id }), 400, 4, /pinned message/);
      await expectError(r.chB.getPinnedMessages({ id_lt: sent[1].id, pinned_at_before: pinnedAt[3] }), 400, 4);
      await expectError(r.chB.getPinnedMessages({ pinned_at_before: 'yesterday' }), 400, 4, /RFC 3339/);
      await expectError(r.chB.getPinnedMessages({ limit: 301 }), 400, 4, /limit/);
      const [outsider] = await createUsers(1, 'pinout');
      await expectError(api('GET', `/api/channels/messaging/${r.id}/pinned_messages/`, {
        token: userToken(outsider), query: { payload: JSON.stringify({}) },
      }), 403, 17);
    } finally {
      await r.close();
    }
  });

  it('pin and unpin through PUT /messages/{id}: pinned, pinned_at, pinned_by, message.updated, pinned_messages', async () => {
    const r = await room();
    try {
      const sent = await r.chA.sendMessage({ text: 'pin me' });
      const events = recordEvents(r.ca);
      const pinned = await r.cb.pinMessage(sent.message);
      assert.equal(pinned.message.pinned, true);
      assert.match(pinned.message.pinned_at, TIME_RE);
      assert.equal(pinned.message.pinned_by.id, r.bob);
      assert.equal(pinned.message.text, 'pin me');
      assert.equal(pinned.message.user.id, r.alice, 'pinning does not change the author');
      assert.equal(pinned.message.created_at, sent.message.created_at);
      assert.ok(pinned.message.updated_at > sent.message.updated_at);
      const ev = await events.waitFor('message.updated');
      assert.equal(ev.message.pinned, true);
      assert.equal(new Date(ev.message.created_at).getTime(), new Date(sent.message.created_at).getTime());
      const state = await r.chA.query({});
      assert.deepEqual(state.pinned_messages.map((m) => m.id), [sent.message.id]);
      const unpinned = await r.cb.unpinMessage(sent.message);
      assert.equal(unpinned.message.pinned, false);
      assert.equal(unpinned.message.pinned_at, null);
      assert.equal(unpinned.message.pinned_by, null);
      assert.deepEqual((await r.chA.query({})).pinned_messages, []);
    } finally {
      await r.close();
    }
  });

  it('partial update sets and unsets custom fields of one\'s own message', async () => {
    const r = await room();
    try {
      const sent = await r.chA.sendMessage({ text: 't', a: 1, b: 2 });
      const res = await r.ca.partialUpdateMessage(sent.message.id, { set: { c: 3, text: 'u' }, unset: ['a'] });
      assert.equal(res.message.a, undefined);
      assert.equal(res.message.b, 2);
      assert.equal(res.message.c, 3);
      assert.equal(res.message.text, 'u');
      assert.match(res.message.message_text_updated_at, TIME_RE);
    } finally {
      await r.close();
    }
  });
});

describe('deleting', () => {
  it('a soft delete keeps the message as type "deleted" with deleted_at and the original created_at', async () => {
    const r = await room();
    try {
      const sent = await r.chA.sendMessage({ text: 'regret', attachments: [{ type: 'file', asset_url: 'https://x.example/f' }] });
      const events = recordEvents(r.cb);
      const res = await r.ca.deleteMessage(sent.message.id);
      assert.equal(res.message.id, sent.message.id);
      assert.equal(res.message.type, 'deleted');
      assert.match(res.message.deleted_at, TIME_RE);
      assert.equal(res.message.created_at, sent.message.created_at);
      assert.ok(res.message.updated_at > sent.message.updated_at);
      const ev = await events.waitFor('message.deleted');
      assert.equal(ev.hard_delete, false);
      assert.equal(ev.cid, r.cid);
      assert.equal(ev.message.type, 'deleted');
      assert.equal(ev.message.parent_id, null);
      assert.equal(ev.message.pinned, false);
      assert.equal(new Date(ev.message.created_at).getTime(), new Date(sent.message.created_at).getTime());
      const state = await r.chB.query({ messages: { limit: 10 } });
      assert.deepEqual(state.messages.map((m) => [m.id, m.type]), [[sent.message.id, 'deleted']]);
      assert.equal(state.messages[0].created_at, sent.message.created_at);
      await expectError(r.ca.updateMessage({ id: sent.message.id, text: 'revive' }), 400, 4);
    } finally {
      await r.close();
    }
  });

  it('a hard delete removes the message for everyone (message.deleted with hard_delete:true)', async () => {
    const r = await room();
    try {
      const keep = await r.chA.sendMessage({ text: 'keep' });
      const sent = await r.chA.sendMessage({ text: 'gone' });
      const events = recordEvents(r.cb);
      const res = await r.ca.deleteMessage(sent.message.id, true);
      assert.equal(res.message.type, 'deleted');
      assert.equal(res.message.created_at, sent.message.created_at);
      const ev = await events.waitFor('message.deleted');
      assert.equal(ev.hard_delete, true);
      assert.equal(new Date(ev.message.created_at).getTime(), new Date(sent.message.created_at).getTime());
      const state = await r.chB.query({ messages: { limit: 10 } });
      assert.deepEqual(state.messages.map((m) => m.id), [keep.message.id]);
      await expectError(r.ca.getMessage(sent.message.id), 404, 16);
    } finally {
      await r.close();
    }
  });

  it('deleting another user\'s message is 403 code 17 for a member and allowed for the channel owner', async () => {
    const r = await room();
    try {
      const sent = await r.chA.sendMessage({ text: 'alice' });
      await expectError(r.cb.deleteMessage(sent.message.id), 403, 17);
      await expectError(r.cb.deleteMessage(sent.message.id, true), 403, 17);
      assert.equal((await r.ca.getMessage(sent.message.id)).message.type, 'regular');
      const bobs = await r.chB.sendMessage({ text: 'bob' });
      const res = await r.ca.deleteMessage(bobs.message.id);
      assert.equal(res.message.type, 'deleted');
      await expectError(r.ca.deleteMessage(uuid()), 404, 16);
    } finally {
      await r.close();
    }
  });
});

describe('threads', () => {
  it('replies: type "reply", reply_count and thread_participants on the parent, with message.updated for it', async () => {
    const r = await room();
    try {
      const parent = await r.chA.sendMessage({ text: 'parent' });
      const events = recordEvents(r.ca);
      const reply1 = await r.chB.sendMessage({ text: 'r1', parent_id: parent.message.id });
      assert.equal(reply1.message.type, 'reply');
      assert.equal(reply1.message.parent_id, parent.message.id);
      assert.equal(reply1.message.show_in_channel, false);
      const up1 = await events.waitFor((e) => e.type === 'message.updated' && e.message.id === parent.message.id);
      assert.equal(up1.message.reply_count, 1);
      assert.deepEqual(up1.message.thread_participants.map((u) => u.id), [r.bob]);
      assert.equal(new Date(up1.message.created_at).getTime(), new Date(parent.message.created_at).getTime());
      assert.ok(up1.message.updated_at > parent.message.updated_at);
      const newReply = await events.waitFor((e) => e.type === 'message.new' && e.message.id === reply1.message.id);
      assert.equal(newReply.message.parent_id, parent.message.id);

      const mark = events.mark();
      await r.chA.sendMessage({ text: 'r2', parent_id: parent.message.id });
      const up2 = await events.waitFor((e) => e.type === 'message.updated' && e.message.id === parent.message.id, { since: mark });
      assert.equal(up2.message.reply_count, 2);
      assert.deepEqual(up2.message.thread_participants.map((u) => u.id), [r.bob, r.alice]);
      assert.equal(r.chA.state.messages.find((m) => m.id === parent.message.id).reply_count, 2);

      const shown = await r.chB.sendMessage({ text: 'r3 also in channel', parent_id: parent.message.id, show_in_channel: true });
      const page = await r.chA.query({ messages: { limit: 10 } });
      assert.deepEqual(page.messages.map((m) => m.text), ['parent', 'r3 also in channel'], 'thread-only replies stay out of the channel page');
      assert.equal(page.messages[1].show_in_channel, true);
      assert.equal(page.messages[0].reply_count, 3);

      const replies = await r.chA.getReplies(parent.message.id, { limit: 10 });
      assert.deepEqual(replies.messages.map((m) => m.text), ['r1', 'r2', 'r3 also in channel']);
      assert.equal(replies.messages[2].id, shown.message.id);
    } finally {
      await r.close();
    }
  });

  it('deleting a reply updates the parent (message.updated) with the new counts', async () => {
    const r = await room();
    try {
      const parent = await r.chA.sendMessage({ text: 'parent' });
      const events = recordEvents(r.ca);
      const a = await r.chB.sendMessage({ text: 'a', parent_id: parent.message.id });
      const b = await r.chB.sendMessage({ text: 'b', parent_id: parent.message.id });
      await events.waitFor((e) => e.type === 'message.updated' && e.message.id === parent.message.id && e.message.reply_count === 2);
      const start = events.mark();
      await r.cb.deleteMessage(a.message.id, true);
      const up = await events.waitFor((e) => e.type === 'message.updated' && e.message.id === parent.message.id, { since: start });
      assert.equal(up.message.reply_count, 1);
      const mark = events.mark();
      await r.cb.deleteMessage(b.message.id);
      const up2 = await events.waitFor((e) => e.type === 'message.updated' && e.message.id === parent.message.id, { since: mark });
      assert.equal(up2.message.deleted_reply_count, 1);
      const del = events.of('message.deleted').find((e) => e.message.id === b.message.id);
      assert.equal(del.message.parent_id, parent.message.id);
    } finally {
      await r.close();
    }
  });

  it('deleting a deleted reply again changes nothing; a later hard delete leaves the counts consistent', async () => {
    const r = await room();
    try {
      const parent = (await r.chA.sendMessage({ text: 'parent' })).message;
      const reply = (await r.chB.sendMessage({ text: 'reply', parent_id: parent.id })).message;
      await r.chB.sendMessage({ text: 'kept', parent_id: parent.id });
      const events = recordEvents(r.ca);
      const first = await r.cb.deleteMessage(reply.id);
      // The first delete's event can still be on its way when the call returns: count from after it.
      await events.waitFor((e) => e.type === 'message.deleted' && e.message.id === reply.id);
      const since = events.mark();
      const marker = (await r.chA.sendMessage({ text: 'marker' })).message;
      const again = await r.cb.deleteMessage(reply.id);
      assert.equal(again.message.deleted_at, first.message.deleted_at, 'the original deleted_at');
      const after = (await r.chA.sendMessage({ text: 'marker 2' })).message;
      await events.waitFor((e) => e.type === 'message.new' && e.message.id === after.id, { since });
      const window = events.events.slice(since);
      assert.equal(window.filter((e) => e.type === 'message.deleted').length, 0, 'no second message.deleted');
      assert.ok(window.some((e) => e.message?.id === marker.id));
      let p = (await r.ca.getMessage(parent.id)).message;
      assert.equal(p.reply_count, 2);
      assert.equal(p.deleted_reply_count, 1, 'counted once');
      await r.cb.deleteMessage(reply.id, true);
      p = (await r.ca.getMessage(parent.id)).message;
      assert.equal(p.reply_count, 1);
      assert.equal(p.deleted_reply_count, 0, 'the hard-deleted reply is no longer counted as deleted');
      await expectError(r.ca.pinMessage({ id: first.message.id }), 404, 16);
    } finally {
      await r.close();
    }
  });

  it('a reply to a reply, or to a message of another channel, is 400', async () => {
    const r = await room();
    const other = await room();
    try {
      const parent = await r.chA.sendMessage({ text: 'parent' });
      const reply = await r.chA.sendMessage({ text: 'reply', parent_id: parent.message.id });
      await expectError(r.chA.sendMessage({ text: 'nested', parent_id: reply.message.id }), 400, 4);
      await expectError(other.chA.sendMessage({ text: 'elsewhere', parent_id: parent.message.id }), 400, 4);
      assert.equal((await r.ca.getMessage(parent.message.id)).message.reply_count, 1, 'nothing half-written');
    } finally {
      await r.close();
      await other.close();
    }
  });
});
