// Issue 3, pagination exactly as the client counts it (STREAM-PROTOCOL.md §6): ascending pages,
// full pages while older messages exist, default sizes 25 (queryChannels) and 100 (channel query),
// every cursor kind, the React list's id_lt walk, and thread replies.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { api, connectUser, createUsers, expectError, serverClient, uniqueId, userToken, uuid } from './lib/streambed.mjs';

// A channel owned by a fresh user holding `count` messages; ids are chosen so that their string
// order is the reverse of their time order (cursors must never compare ids).
async function filledChannel(count, { type = 'messaging' } = {}) {
  const [owner] = await createUsers(1, 'pg');
  const id = uniqueId('ch');
  const srv = serverClient().channel(type, id, { created_by_id: owner, members: [owner] });
  await srv.create();
  const ids = [];
  for (let i = 0; i < count; i++) {
    const mid = `${String(99999 - i).padStart(5, '0')}-${uuid()}`;
    await srv.sendMessage({ id: mid, text: `m${i}`, user_id: owner });
    ids.push(mid);
  }
  return { owner, id, cid: `${type}:${id}`, ids };
}

async function query(owner, channelId, body) {
  const res = await api('POST', `/api/channels/messaging/${channelId}/query/`, { token: userToken(owner), query: { user_id: owner }, body: { state: true, ...body } });
  assert.equal(res.status, 200, res.text);
  return res.json;
}

function assertAscending(messages) {
  for (let i = 1; i < messages.length; i++) {
    assert.ok(new Date(messages[i].created_at) > new Date(messages[i - 1].created_at), 'pages are ascending');
  }
}

describe('default page sizes', () => {
  it('a channel query without messages.limit returns the newest 100, ascending; the SDK then knows older ones exist', async () => {
    const f = await filledChannel(130);
    const client = await connectUser(f.owner);
    try {
      const channel = client.channel('messaging', f.id);
      const state = await channel.watch();
      assert.deepEqual(state.messages.map((m) => m.id), f.ids.slice(30));
      assertAscending(state.messages);
      assert.equal(channel.state.messagePagination.hasPrev, true);
      assert.equal(channel.state.messagePagination.hasNext, false);
    } finally {
      await client.disconnectUser();
    }
  });

  it('queryChannels without message_limit returns the newest 25 of each channel; hasPrev follows', async () => {
    const f = await filledChannel(40);
    const client = await connectUser(f.owner);
    try {
      const [channel] = await client.queryChannels({ cid: { $in: [f.cid] } });
      assert.deepEqual(channel.state.messages.map((m) => m.id), f.ids.slice(15));
      assert.equal(channel.state.messagePagination.hasPrev, true);
    } finally {
      await client.disconnectUser();
    }
  });

  it('a short channel answers a short page, and the SDK knows there is nothing older', async () => {
    const f = await filledChannel(12);
    const client = await connectUser(f.owner);
    try {
      const channel = client.channel('messaging', f.id);
      const state = await channel.watch();
      assert.deepEqual(state.messages.map((m) => m.id), f.ids);
      assert.equal(channel.state.messagePagination.hasPrev, false);
    } finally {
      await client.disconnectUser();
    }
  });
});

describe('the React message list walk', () => {
  it('pages of {"messages":{"id_lt":<oldest>,"limit":25}} reach the first of 150 messages with no gap or repeat', async () => {
    const f = await filledChannel(150);
    const client = await connectUser(f.owner);
    try {
      const [channel] = await client.queryChannels({ cid: { $in: [f.cid] } }, [{ last_message_at: -1 }], { limit: 30, message_limit: 25, watch: true, state: true });
      let collected = channel.state.messages.map((m) => m.id);
      assert.equal(collected.length, 25);
      let pages = 0;
      while (channel.state.messagePagination.hasPrev) {
        const oldest = channel.state.messages[0].id;
        const res = await channel.query({ messages: { id_lt: oldest, limit: 25 }, watchers: { limit: 25 } }, 'current');
        assertAscending(res.messages);
        if (res.messages.length) {
          assert.ok(new Date(res.messages.at(-1).created_at) < new Date(channel.state.messages.find((m) => m.id === collected[0]).created_at));
        }
        collected = [...res.messages.map((m) => m.id), ...collected];
        pages += 1;
        assert.ok(pages <= 7, 'the walk ends');
        if (collected.length < 150) assert.equal(res.messages.length, 25, 'full pages while older messages exist');
      }
      assert.deepEqual(collected, f.ids, 'every message once, in order');
      assert.deepEqual(channel.state.messages.map((m) => m.id), f.ids, 'the SDK state holds them all');
    } finally {
      await client.disconnectUser();
    }
  });
});

describe('cursors', () => {
  it('id_lt, id_lte, id_gt, id_gte select the right neighbours, ascending', async () => {
    const f = await filledChannel(60);
    const at = f.ids[30];
    const page = async (messages) => (await query(f.owner, f.id, { messages })).messages.map((m) => m.id);
    assert.deepEqual(await page({ id_lt: at, limit: 10 }), f.ids.slice(20, 30));
    assert.deepEqual(await page({ id_lte: at, limit: 10 }), f.ids.slice(21, 31));
    assert.deepEqual(await page({ id_gt: at, limit: 10 }), f.ids.slice(31, 41));
    assert.deepEqual(await page({ id_gte: at, limit: 10 }), f.ids.slice(30, 40));
    assert.deepEqual(await page({ id_lt: f.ids[3], limit: 10 }), f.ids.slice(0, 3));
    assert.deepEqual(await page({ id_gt: f.ids[57], limit: 10 }), f.ids.slice(58));
    assert.deepEqual(await page({ id_lt: f.ids[0], limit: 10 }), []);
  });

  it('created_at_before / _or_equal / after / _or_equal use the same rules on timestamps', async () => {
    const f = await filledChannel(40);
    const all = (await query(f.owner, f.id, { messages: { limit: 100 } })).messages;
    const t = all[20].created_at;
    const page = async (messages) => (await query(f.owner, f.id, { messages })).messages.map((m) => m.id);
    assert.deepEqual(await page({ created_at_before: t, limit: 5 }), f.ids.slice(15, 20));
    assert.deepEqual(await page({ created_at_before_or_equal: t, limit: 5 }), f.ids.slice(16, 21));
    assert.deepEqual(await page({ created_at_after: t, limit: 5 }), f.ids.slice(21, 26));
    assert.deepEqual(await page({ created_at_after_or_equal: t, limit: 5 }), f.ids.slice(20, 25));
    // The JavaScript (millisecond) form of the time works too.
    assert.deepEqual(await page({ created_at_after: new Date(t).toISOString(), limit: 5 }), f.ids.slice(21, 26));
  });

  it('id_around returns a full page with the target in the middle, and fills from the other side near either end', async () => {
    const f = await filledChannel(100);
    const page = async (messages) => (await query(f.owner, f.id, { messages })).messages.map((m) => m.id);
    const middle = await page({ id_around: f.ids[50], limit: 25 });
    assert.equal(middle.length, 25);
    assert.ok(middle.includes(f.ids[50]));
    const start = f.ids.indexOf(middle[0]);
    assert.deepEqual(middle, f.ids.slice(start, start + 25), 'contiguous');
    const pos = middle.indexOf(f.ids[50]);
    assert.ok(pos >= 11 && pos <= 13, `target near the middle, at ${pos}`);
    assert.deepEqual(await page({ id_around: f.ids[2], limit: 25 }), f.ids.slice(0, 25), 'near the start: the rest comes from after');
    assert.deepEqual(await page({ id_around: f.ids[98], limit: 25 }), f.ids.slice(75), 'near the end: the rest comes from before');
    const all = (await query(f.owner, f.id, { messages: { limit: 100 } })).messages;
    const around = await page({ created_at_around: all[60].created_at, limit: 10 });
    assert.equal(around.length, 10);
    assert.ok(around.includes(f.ids[60]));
  });

  it('the SDK jumps to an unloaded message (id_around) and knows which sides have more', async () => {
    const f = await filledChannel(130);
    const client = await connectUser(f.owner);
    try {
      const channel = client.channel('messaging', f.id);
      await channel.watch();  // the newest 100: f.ids[30..129]
      assert.equal(channel.state.findMessage(f.ids[2]), undefined);
      await channel.state.loadMessageIntoState(f.ids[2]);
      const set = channel.state.messageSets.find((s) => s.messages.some((m) => m.id === f.ids[2]));
      assert.deepEqual(set.messages.map((m) => m.id), f.ids.slice(0, 25), 'a full page from the start');
      assert.equal(set.pagination.hasPrev, false, 'nothing before the start');
      assert.equal(set.pagination.hasNext, true, 'newer messages to load');
      await channel.state.loadMessageIntoState(f.ids[60]);
      const mid = channel.state.messageSets.find((s) => s.messages.some((m) => m.id === f.ids[60]));
      assert.equal(mid.pagination.hasPrev, true);
    } finally {
      await client.disconnectUser();
    }
  });

  it('a cursor message of another channel, or a malformed time, is 400 (code 4)', async () => {
    const f = await filledChannel(3);
    const g = await filledChannel(3);
    const res = await api('POST', `/api/channels/messaging/${f.id}/query/`, {
      token: userToken(f.owner), query: { user_id: f.owner }, body: { state: true, messages: { id_lt: g.ids[1], limit: 5 } },
    });
    await expectError(Promise.resolve(res), 400, 4);
    for (const messages of [{ created_at_before: 'last tuesday' }, { limit: 301 }, { limit: -1 }, { limit: 'ten' }]) {
      const bad = await api('POST', `/api/channels/messaging/${f.id}/query/`, {
        token: userToken(f.owner), query: { user_id: f.owner }, body: { state: true, messages },
      });
      await expectError(Promise.resolve(bad), 400, 4);
    }
  });

  it('soft-deleted messages stay in the page as type "deleted"; hard-deleted ones leave no hole', async () => {
    const f = await filledChannel(10);
    const srv = serverClient();
    await srv.deleteMessage(f.ids[4]);
    await srv.deleteMessage(f.ids[5], true);
    const page = (await query(f.owner, f.id, { messages: { id_lt: f.ids[8], limit: 5 } })).messages;
    assert.deepEqual(page.map((m) => m.id), [f.ids[2], f.ids[3], f.ids[4], f.ids[6], f.ids[7]]);
    assert.equal(page[2].type, 'deleted');
  });
});

describe('thread replies', () => {
  async function thread(count) {
    const [owner] = await createUsers(1, 'th');
    const id = uniqueId('ch');
    const srv = serverClient().channel('messaging', id, { created_by_id: owner, members: [owner] });
    await srv.create();
    const parent = (await srv.sendMessage({ text: 'parent', user_id: owner })).message.id;
    const replies = [];
    for (let i = 0; i < count; i++) {
      const rid = `${String(99999 - i).padStart(5, '0')}-${uuid()}`;
      await srv.sendMessage({ id: rid, text: `r${i}`, parent_id: parent, user_id: owner });
      replies.push(rid);
    }
    return { owner, id, parent, replies };
  }

  it('the first page (no cursor) is the newest 25 replies, ascending; id_lt walks back to the first reply', async () => {
    const t = await thread(60);
    const client = await connectUser(t.owner);
    try {
      const channel = client.channel('messaging', t.id);
      await channel.watch();
      const first = await channel.getReplies(t.parent, { limit: 25 });
      assertAscending(first.messages);
      assert.deepEqual(first.messages.map((m) => m.id), t.replies.slice(35));
      let collected = first.messages.map((m) => m.id);
      for (;;) {
        const res = await channel.getReplies(t.parent, { id_lt: collected[0], limit: 25 });
        assertAscending(res.messages);
        collected = [...res.messages.map((m) => m.id), ...collected];
        if (res.messages.length < 25) break;
      }
      assert.deepEqual(collected, t.replies);
      const later = await channel.getReplies(t.parent, { id_gt: t.replies[10], limit: 5 });
      assert.deepEqual(later.messages.map((m) => m.id), t.replies.slice(11, 16));
      const around = await channel.getReplies(t.parent, { id_around: t.replies[30], limit: 9 });
      assert.equal(around.messages.length, 9);
      assert.ok(around.messages.some((m) => m.id === t.replies[30]));
      // The Thread class asks with sort created_at -1: still the newest page, ascending.
      const sorted = await channel.getReplies(t.parent, { limit: 10 }, [{ created_at: -1 }]);
      assert.deepEqual(sorted.messages.map((m) => m.id), t.replies.slice(50));
    } finally {
      await client.disconnectUser();
    }
  });

  it('a reply cursor outside the thread is 400; an unknown parent is 404', async () => {
    const t = await thread(3);
    const res = await api('GET', `/api/messages/${t.parent}/replies/`, {
      token: userToken(t.owner), query: { user_id: t.owner, id_lt: t.parent, limit: '5' },
    });
    await expectError(Promise.resolve(res), 400, 4);
    const missing = await api('GET', `/api/messages/${uuid()}/replies/`, { token: userToken(t.owner), query: { user_id: t.owner } });
    await expectError(Promise.resolve(missing), 404, 16);
  });
});
