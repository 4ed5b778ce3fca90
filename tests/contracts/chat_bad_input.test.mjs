// Issue 3, bad input: every field is validated. Unknown channel types, bad ids, malformed
// filters and sorts, unknown operators, bad JSON, wrong types, huge lists, text that is not
// UTF-8, refused actions, and SQL-looking strings stored and returned verbatim. Each gets the
// right status and code, never a 500, and nothing is half-written.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  API_KEY, BASE_URL, api, connectUser, createUsers, expectError, recordEvents, serverClient, signToken, uniqueId, userToken, uuid,
} from './lib/streambed.mjs';

// A channel with an owner and a member, both created, and one message.
async function fixture() {
  const [owner, member] = await createUsers(2, 'bi');
  const id = uniqueId('ch');
  const srv = serverClient().channel('messaging', id, { created_by_id: owner, members: [owner, member] });
  await srv.create();
  const msg = (await srv.sendMessage({ text: 'original', user_id: owner })).message;
  const as = (user) => ({ token: userToken(user), query: { user_id: user } });
  return { owner, member, id, cid: `messaging:${id}`, srv, msg, as };
}

// A raw body (not JSON-encoded by the helper) to a Stream route.
async function rawBody(method, path, user, body) {
  const res = await fetch(`${BASE_URL}${path}?api_key=${API_KEY}&user_id=${user}`, {
    method, headers: { authorization: userToken(user), 'stream-auth-type': 'jwt', 'content-type': 'application/json' }, body,
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { json = null; }
  return { status: res.status, json, text };
}

const SQLISH = [
  "'; DROP TABLE messages; --",
  '" OR "1"="1',
  "Robert'); DROP TABLE students;--",
  "\\'; SELECT pg_sleep(5); --",
  '$1::text $$ LANGUAGE sql $$',
  '%_\\ LIKE',
  ') OR 1=1 /* */ --',
  '<script>alert(1)</script>',
  '{"$gt": ""}',
  'ü😀\n\ttab',
];

describe('malformed requests', () => {
  it('bad JSON, a non-object body and wrong types are 400 code 4', async () => {
    const f = await fixture();
    const ch = `/api/channels/messaging/${f.id}`;
    for (const [method, path, body] of [
      ['POST', '/api/channels/', '{"filter_conditions":'],
      ['POST', '/api/channels/', '[]'],
      ['POST', '/api/channels/', '"text"'],
      ['POST', `${ch}/message/`, '{"message": {"text": "x"}} trailing'],
      ['POST', `${ch}/query/`, '{"data": {"name": "x",}}'],
    ]) {
      await expectError(rawBody(method, path, f.owner, body), 400, 4);
    }
    const cases = [
      ['POST', '/api/channels/', { limit: '10' }],
      ['POST', '/api/channels/', { limit: 2.5 }],
      ['POST', '/api/channels/', { offset: -1 }],
      ['POST', '/api/channels/', { watch: 'yes' }],
      ['POST', '/api/channels/', { filter_conditions: [] }],
      ['POST', '/api/channels/', { sort: { field: 'created_at' } }],
      ['POST', '/api/channels/', { sort: [{ field: 'created_at', direction: 'asc' }] }],
      ['POST', `${ch}/query/`, { data: 'x' }],
      ['POST', `${ch}/query/`, { messages: { limit: 'all' } }],
      ['POST', `${ch}/query/`, { messages: { id_lt: 5 } }],
      ['POST', `${ch}/message/`, { message: 'hi' }],
      ['POST', `${ch}/message/`, { message: { text: 5 } }],
      ['POST', `${ch}/message/`, { message: { text: 'a', attachments: {} } }],
      ['POST', `${ch}/message/`, { message: { text: 'a', attachments: ['x'] } }],
      ['POST', `${ch}/message/`, { message: { text: 'a', mentioned_users: 'bob' } }],
      ['POST', `${ch}/message/`, { message: { text: 'a', parent_id: 5 } }],
      ['POST', `${ch}/message/`, { message: { text: 'a', silent: 'yes' } }],
      ['POST', `${ch}/message/`, { message: { text: 'a', type: 'reply' } }],
      ['POST', `${ch}/message/`, { message: {} }],
      ['POST', `${ch}/message/`, {}],
      ['POST', `/api/messages/${f.msg.id}/`, { message: { quoted_message_id: 5 } }],
      ['PUT', `/api/messages/${f.msg.id}/`, { set: 5 }],
      ['PUT', `/api/messages/${f.msg.id}/`, { unset: 'text' }],
      ['PUT', `/api/messages/${f.msg.id}/`, { set: { pin_expires: 'tomorrow' } }],
      ['POST', `/api/messages/${f.msg.id}/reaction/`, { reaction: { type: 5 } }],
      ['POST', `/api/messages/${f.msg.id}/reaction/`, { reaction: { type: 'like', score: '2' } }],
      ['POST', `/api/messages/${f.msg.id}/reaction/`, { reaction: { type: 'like' }, enforce_unique: 'true' }],
      ['PATCH', `${ch}/`, { set: { frozen: 'no' } }],
      ['PATCH', `${ch}/`, { unset: 'name' }],
      ['POST', `${ch}/truncate/`, { truncated_at: 'yesterday' }],
      ['POST', `${ch}/unread/`, { message_timestamp: 'noon' }],
      ['POST', `${ch}/read/`, { message_id: 5 }],
      ['PATCH', `${ch}/member/${f.owner}/`, { set: { pinned: 'yes' } }],
      ['POST', '/api/moderation/mute/', { target_id: 5 }],
      ['POST', '/api/moderation/mute/', { target_id: f.member, timeout: 'x' }],
      ['POST', '/api/moderation/mute/channel/', { channel_cid: f.cid, expiration: 1e16 }],
      ['POST', '/api/moderation/ban/', { target_user_id: f.member, type: 'messaging', id: f.id, timeout: -5 }],
      ['POST', '/api/moderation/flag/', { target_message_id: f.msg.id, reason: 'r'.repeat(501) }],
      ['POST', '/api/users/block/', { blocked_user_id: 5 }],
      ['POST', '/api/sync/', { channel_cids: 'x' }],
      ['POST', '/api/drafts/query/', { filter: { channel_cid: 5 } }],
    ];
    for (const [method, path, body] of cases) {
      await expectError(api(method, path, { ...f.as(f.owner), body }), 400, 4).catch((e) => {
        throw new Error(`${method} ${path} ${JSON.stringify(body).slice(0, 80)}: ${e.message}`);
      });
    }
    assert.equal((await f.srv.query({ state: true })).messages.length, 1, 'nothing was written');
  });

  it('unknown channel types are 404 (code 16); malformed types and ids are 400', async () => {
    const f = await fixture();
    const o = f.as(f.owner);
    await expectError(api('POST', '/api/channels/nosuchtype/x/query/', { ...o, body: {} }), 404, 16);
    await expectError(api('POST', '/api/channels/nosuchtype/query/', { ...o, body: { data: { members: [f.owner, f.member] } } }), 404, 16);
    await expectError(api('POST', '/api/channels/nosuchtype/x/message/', { ...o, body: { message: { text: 'x' } } }), 404, 16);
    for (const path of [
      '/api/channels/mess!aging/x/query/',
      '/api/channels/messaging/a:b/query/',
      `/api/channels/messaging/${'x'.repeat(65)}/query/`,
      '/api/channels/messaging/a%20b/query/',
      "/api/channels/messaging/a'b/query/",
      '/api/channels/messaging/a%C3%BC/query/',
    ]) {
      await expectError(api('POST', path, { ...o, body: {} }), 400, 4);
    }
    await expectError(api('POST', `/api/channels/messaging/${f.id}/message/`, { ...o, body: { message: { id: 'x'.repeat(256), text: 'a' } } }), 400, 4);
    await expectError(api('POST', `/api/channels/messaging/${f.id}/message/`, { ...o, body: { message: { id: '', text: 'a' } } }), 400, 4);
    await expectError(api('POST', `/api/channels/messaging/${uniqueId('c')}/query/`, { ...o, body: { data: { members: ['bad id!'] } } }), 400, 4);
    await expectError(api('POST', `/api/channels/messaging/${uniqueId('c')}/query/`, { ...o, body: { data: { members: [{ user_id: f.member, channel_role: 'king' }] } } }), 400, 4);
    await expectError(api('POST', '/api/channels/', { token: userToken("a'b"), query: { user_id: "a'b" }, body: {} }), 400, 4);
    await expectError(api('GET', `/api/messages/${uuid()}/`, o), 404, 16);
    await expectError(api('GET', '/api/members/', { ...o, query: { ...o.query, payload: { type: 'nosuchtype', id: f.id } } }), 404, 16);
    await expectError(api('GET', '/api/members/', { ...o, query: { ...o.query, payload: { id: f.id } } }), 400, 4);
  });

  it('malformed filters and sorts, and unknown operators, are 400 on every query route', async () => {
    const f = await fixture();
    const o = f.as(f.owner);
    const badFilters = [
      { type: { $regex: 'm.*' } },
      { $xor: [{ type: 'messaging' }] },
      { $or: [] },
      { $or: [1] },
      { $and: 'x' },
      { members: 'alice' },
      { members: { $in: [1, 2] } },
      { members: { $gt: ['a'] } },
      { joined: { $in: [true] } },
      { hidden: 'yes' },
      { created_at: { $gt: '2024-02-31T00:00:00Z' } },
      { created_at: { $gt: 'last week' } },
      { created_at: { $gt: '2024-01-01 00:00:00' } },
      { member_count: { $gt: '1' } },
      { member_count: 1.5 },
      { name: {} },
      { name: { $eq: 'a', x: 1 } },
      { '': 1 },
      { 'bad key!': 1 },
      { color: { $autocomplete: 'x' } },
      { color: { $in: 'x' } },
      { color: { $gt: { a: 1 } } },
      JSON.parse('{"$and":['.repeat(12) + '{"type":"messaging"}' + ']}'.repeat(12)),
    ];
    for (const filter_conditions of badFilters) {
      await expectError(api('POST', '/api/channels/', { ...o, body: { filter_conditions } }), 400, 4).catch((e) => {
        throw new Error(`${JSON.stringify(filter_conditions).slice(0, 80)}: ${e.message}`);
      });
    }
    for (const sort of [[{ field: 'password', direction: 1 }], [{ field: 'created_at', direction: 0 }], [{ direction: 1 }], [1],
      Array.from({ length: 6 }, () => ({ field: 'created_at', direction: 1 }))]) {
      await expectError(api('POST', '/api/channels/', { ...o, body: { sort } }), 400, 4);
    }
    const users = (payload) => api('GET', '/api/users/', { ...o, query: { ...o.query, payload } });
    await expectError(users({ filter_conditions: { id: { $regex: '.*' } } }), 400, 4);
    await expectError(users({ filter_conditions: { id: { $in: 'x' } } }), 400, 4);
    await expectError(users({ filter_conditions: { teams: { $eq: 'x' } } }), 400, 4);
    await expectError(users({ sort: [{ field: 'password', direction: 1 }] }), 400, 4);
    await expectError(api('GET', '/api/users/', { ...o, query: { ...o.query, payload: '{not json' } }), 400, 4);
    const members = (extra) => api('GET', '/api/members/', { ...o, query: { ...o.query, payload: { type: 'messaging', id: f.id, ...extra } } });
    await expectError(members({ filter_conditions: { banned: { $in: [true] } } }), 400, 4);
    await expectError(members({ filter_conditions: { name: { $near: 'x' } } }), 400, 4);
    await expectError(members({ sort: [{ field: 'secret', direction: 1 }] }), 400, 4);
    await expectError(api('POST', `/api/messages/${f.msg.id}/reactions/`, { ...o, body: { filter: { type: { $in: ['a'] } } } }), 400, 4);
  });

  it('huge lists are refused with 400 before any work is done', async () => {
    const f = await fixture();
    const o = f.as(f.owner);
    const many = (n, make) => Array.from({ length: n }, (_, i) => make(i));
    await expectError(api('POST', '/api/channels/', { ...o, body: { filter_conditions: { cid: { $in: many(1001, (i) => `messaging:x${i}`) } } } }), 400, 4);
    await expectError(api('POST', '/api/channels/', { ...o, body: { filter_conditions: { members: { $in: many(1001, (i) => `u${i}`) } } } }), 400, 4);
    await expectError(api('POST', '/api/channels/', { ...o, body: { filter_conditions: { $and: many(101, () => ({ type: 'messaging' })) } } }), 400, 4);
    await expectError(api('POST', `/api/channels/messaging/${f.id}/`, { ...o, body: { add_members: many(101, (i) => `u${i}`) } }), 400, 4);
    await expectError(api('POST', `/api/channels/messaging/${uniqueId('c')}/query/`, { ...o, body: { data: { members: many(101, (i) => `u${i}`) } } }), 400, 4);
    await expectError(api('POST', `/api/channels/messaging/${f.id}/message/`, { ...o, body: { message: { text: 'a', mentioned_users: many(101, (i) => `u${i}`) } } }), 400, 4);
    await expectError(api('POST', `/api/channels/messaging/${f.id}/message/`, { ...o, body: { message: { text: 'a', attachments: many(31, () => ({ type: 'file' })) } } }), 400, 4);
    await expectError(api('POST', `/api/channels/messaging/${f.id}/message/`, { ...o, body: { message: { text: 'a', blob: 'x'.repeat(6000) } } }), 400, 4);
    await expectError(api('GET', `/api/channels/messaging/${f.id}/messages/`, { ...o, query: { ...o.query, ids: many(101, (i) => `m${i}`).join(',') } }), 400, 4);
    await expectError(api('POST', '/api/moderation/mute/', { ...o, body: { target_ids: many(101, () => f.member) } }), 400, 4);
    await expectError(api('POST', '/api/users/', { token: signToken({ server: true }), body: { users: Object.fromEntries(many(101, (i) => [`u${i}x`, { id: `u${i}x` }])) } }), 400, 4);
    assert.equal((await f.srv.query({ state: true })).channel.member_count, 2);
  });

  it('text that is not UTF-8, or holds a NUL, is refused (400) — never truncated, never a 500', async () => {
    const f = await fixture();
    const path = `/api/channels/messaging/${f.id}/message/`;
    const bytes = (...parts) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
    await expectError(rawBody('POST', path, f.owner, bytes('{"message":{"text":"a', [0xff, 0xfe], '"}}')), 400, 4);
    await expectError(rawBody('POST', path, f.owner, bytes('{"message":{"text":"a","c":"', [0xc3], '"}}')), 400, 4);
    await expectError(rawBody('POST', path, f.owner, bytes('{"message":{"text":"', [0xc0, 0xaf], '"}}')), 400, 4);
    await expectError(rawBody('POST', path, f.owner, '{"message":{"text":"a\\ud800b"}}'), 400, 4);
    // A lone low surrogate: RapidJSON decodes it to bytes that are not UTF-8 (fuzz/corpus/json/lone_surrogate).
    await expectError(rawBody('POST', path, f.owner, '{"message":{"text":"a\\ude00b"}}'), 400, 4);
    await expectError(rawBody('POST', path, f.owner, '{"message":{"text":"x","\\udfff":1}}'), 400, 4);
    for (const body of [
      { message: { text: 'a\u0000b' } },
      { message: { id: 'a\u0000b', text: 'x' } },
      { message: { text: 'x', note: 'a\u0000' } },
      { message: { text: 'x', ['k\u0000']: 1 } },
    ]) {
      await expectError(api('POST', path, { ...f.as(f.owner), body }), 400, 4);
    }
    await expectError(api('POST', '/api/channels/', { ...f.as(f.owner), body: { filter_conditions: { name: 'a\u0000' } } }), 400, 4);
    await expectError(api('PATCH', '/api/users/', { ...f.as(f.owner), body: { users: [{ id: f.owner, set: { name: 'a\u0000b' } }] } }), 400, 4);
    for (const q of ['ids=%ff', 'ids=%c3', 'ids=%ed%a0%80']) {
      const res = await fetch(`${BASE_URL}/api/channels/messaging/${f.id}/messages/?${q}&api_key=${API_KEY}&user_id=${f.owner}`, { headers: { authorization: userToken(f.owner), 'stream-auth-type': 'jwt' } });
      assert.equal(res.status, 400, q);
      assert.equal((await res.json()).code, 4);
    }
    for (const p of [`/api/messages/%ff/`, `/api/messages/${f.msg.id}/reaction/%c3/`, `/rooms/messaging:%ff/config/`]) {
      const res = await fetch(`${BASE_URL}${p}?api_key=${API_KEY}`, { method: p.includes('reaction') ? 'DELETE' : 'GET', headers: { authorization: userToken(f.owner), 'stream-auth-type': 'jwt' } });
      assert.equal(res.status, 400, p);
    }
    const state = await f.srv.query({ state: true });
    assert.deepEqual(state.messages.map((m) => m.text), ['original']);
  });
});

describe('refused actions', () => {
  it('editing or deleting another user\'s message, posting while banned or not a member, reading a private channel: 403 code 17', async () => {
    const f = await fixture();
    const stranger = uniqueId('stranger');
    const ch = `/api/channels/messaging/${f.id}`;
    await expectError(api('POST', `/api/messages/${f.msg.id}/`, { ...f.as(f.member), body: { message: { text: 'mine now' } } }), 403, 17);
    await expectError(api('DELETE', `/api/messages/${f.msg.id}/`, f.as(f.member)), 403, 17);
    await expectError(api('DELETE', `/api/messages/${f.msg.id}/`, { ...f.as(f.member), query: { user_id: f.member, hard: 'true' } }), 403, 17);
    await expectError(api('POST', `${ch}/message/`, { ...f.as(stranger), body: { message: { text: 'let me in' } } }), 403, 17);
    await expectError(api('POST', `${ch}/query/`, { ...f.as(stranger), body: { state: true } }), 403, 17);
    await f.srv.banUser(f.member, { banned_by_id: f.owner });
    await expectError(api('POST', `${ch}/message/`, { ...f.as(f.member), body: { message: { text: 'banned' } } }), 403, 17);
    await expectError(api('POST', `${ch}/query/`, { ...f.as(f.member), body: { state: true } }), 403, 17);
    const state = await f.srv.query({ state: true });
    assert.deepEqual(state.messages.map((m) => [m.text, m.type]), [['original', 'regular']]);
  });
});

describe('SQL-looking strings', () => {
  it('are stored and returned verbatim in channel, message, user, reaction, event, draft and flag fields', async () => {
    const [owner] = await createUsers(1, 'sq');
    const client = await connectUser(owner);
    try {
      for (const [i, s] of SQLISH.entries()) {
        const id = uniqueId('sql');
        const ch = client.channel('messaging', id, { members: [owner], name: s, image: s, topic: s, [`k${i}`]: [s, { s }] });
        const state = await ch.watch();
        assert.equal(state.channel.name, s);
        assert.equal(state.channel.image, s);
        assert.equal(state.channel.topic, s);
        assert.deepEqual(state.channel[`k${i}`], [s, { s }]);
        const found = await client.queryChannels({ topic: s, members: { $in: [owner] } });
        assert.deepEqual(found.map((c) => c.cid), [ch.cid], 'a filter on the string finds exactly that channel');
        assert.deepEqual(await client.queryChannels({ name: { $autocomplete: s }, id: { $ne: id }, members: { $in: [owner] } }), []);
        const msg = (await ch.sendMessage({ text: s, note: s, attachments: [{ type: 'file', title: s }] })).message;
        assert.equal(msg.text, s);
        assert.equal(msg.note, s);
        assert.equal(msg.attachments[0].title, s);
        const back = (await client.getMessage(msg.id)).message;
        assert.equal(back.text, s);
        assert.equal(back.attachments[0].title, s);
        const events = recordEvents(client);
        const r = await ch.sendReaction(msg.id, { type: 'like', label: s });
        assert.equal(r.reaction.label, s);
        await ch.sendEvent({ type: 'sqlish', payload: s });
        assert.equal((await events.waitFor('sqlish')).payload, s);
        const draft = await ch.createDraft({ id: uuid(), text: s });
        assert.equal(draft.draft.message.text, s);
        assert.equal((await ch.getDraft()).draft.message.text, s);
        const flag = await client.flagMessage(msg.id, { reason: s });
        assert.equal(flag.flag.reason, s);
        const user = await client.partialUpdateUser({ id: owner, set: { name: s, bio: s } });
        assert.equal(user.users[owner].name, s);
        assert.equal(user.users[owner].bio, s);
        const byName = await client.queryUsers({ id: owner, name: s });
        assert.deepEqual(byName.users.map((u) => u.id), [owner]);
        assert.deepEqual((await client.queryUsers({ name: { $autocomplete: s }, id: { $ne: owner } })).users.filter((u) => u.name !== s), []);
        const members = await ch.queryMembers({ name: { $autocomplete: s } });
        assert.deepEqual(members.members.map((m) => m.user_id), [owner]);
      }
    } finally {
      await client.disconnectUser();
    }
  });
});

describe('nothing is half-written', () => {
  it('a channel update with valid data and an unknown member changes nothing', async () => {
    const f = await fixture();
    await f.srv.update({ name: 'Before' });
    await expectError(api('POST', `/api/channels/messaging/${f.id}/`, { ...f.as(f.owner), body: { data: { name: 'After' }, add_members: [uniqueId('ghost')] } }), 400, 4);
    await expectError(api('PATCH', `/api/channels/messaging/${f.id}/`, { ...f.as(f.owner), body: { set: { name: 'After', cooldown: 1000 } } }), 400, 4);
    const state = await f.srv.query({ state: true });
    assert.equal(state.channel.name, 'Before');
    assert.equal(state.channel.member_count, 2);
    assert.equal(state.channel.cooldown, 0);
  });

  it('a message edit whose second field is bad leaves the text alone; a send with a bad quote stores nothing', async () => {
    const f = await fixture();
    await expectError(api('PUT', `/api/messages/${f.msg.id}/`, { ...f.as(f.owner), body: { set: { text: 'changed', pin_expires: 'never' } } }), 400, 4);
    await expectError(api('POST', `/api/messages/${f.msg.id}/`, { ...f.as(f.owner), body: { message: { text: 'changed', quoted_message_id: uuid() } } }), 400, 4);
    const id = uuid();
    await expectError(api('POST', `/api/channels/messaging/${f.id}/message/`, { ...f.as(f.owner), body: { message: { id, text: 'quote', quoted_message_id: uuid() } } }), 400, 4);
    assert.equal((await serverClient().getMessage(f.msg.id)).message.text, 'original');
    await expectError(serverClient().getMessage(id), 404, 16);
    const gone = (await f.srv.sendMessage({ text: 'to delete', user_id: f.owner })).message;
    await serverClient().deleteMessage(gone.id);
    await expectError(api('PUT', `/api/messages/${gone.id}/`, { ...f.as(f.owner), body: { set: { pinned: true } } }), 400, 4);
    assert.equal((await serverClient().getMessage(gone.id)).message.pinned, false);
  });

  it('a batch of users with one bad entry upserts none of them', async () => {
    const good = uniqueId('good');
    const srvToken = signToken({ server: true });
    await expectError(api('POST', '/api/users/', { token: srvToken, body: { users: { [good]: { id: good, name: 'Good' }, 'bad id!': { id: 'bad id!' } } } }), 400, 4);
    await expectError(api('POST', '/api/users/', { token: srvToken, body: { users: { [good]: { id: good, name: 'Good' }, [uniqueId('r')]: { role: 'emperor' } } } }), 400, 4);
    assert.deepEqual((await serverClient().queryUsers({ id: good })).users, []);
    const existing = uniqueId('existing');
    await serverClient().upsertUser({ id: existing, name: 'Old' });
    await expectError(api('PATCH', '/api/users/', { token: srvToken, body: { users: [{ id: existing, set: { name: 'New' } }, { id: uniqueId('ghost'), set: { name: 'x' } }] } }), 404, 16);
    assert.equal((await serverClient().queryUsers({ id: existing })).users[0].name, 'Old');
  });

  it('muting several users or channels where one is unknown mutes none of them', async () => {
    const f = await fixture();
    const [other] = await createUsers(1, 'mt');
    await expectError(api('POST', '/api/moderation/mute/', { ...f.as(f.owner), body: { target_ids: [other, uniqueId('ghost')] } }), 404, 16);
    await expectError(api('POST', '/api/moderation/mute/channel/', { ...f.as(f.owner), body: { channel_cids: [f.cid, `messaging:${uniqueId('none')}`] } }), 404, 16);
    const client = await connectUser(f.owner);
    try {
      assert.deepEqual(client.user.mutes, []);
      assert.deepEqual(client.user.channel_mutes, []);
    } finally {
      await client.disconnectUser();
    }
  });
});

describe('never a 500', () => {
  it('odd but valid inputs (extreme times, LIKE and quote characters, long lists, odd message ids) are served', async () => {
    const f = await fixture();
    const o = f.as(f.owner);
    const ch = `/api/channels/messaging/${f.id}`;
    const oddId = `ü€😀/?#${uuid()}`;
    const requests = [
      ['POST', '/api/channels/', { filter_conditions: { created_at: { $gt: '0000-01-01T00:00:00Z' } } }, 200],
      ['POST', '/api/channels/', { filter_conditions: { last_message_at: { $lte: '9999-12-31T23:59:59.999999Z' } } }, 200],
      ['POST', '/api/channels/', { filter_conditions: { cid: { $in: ["messaging:%'--"] } } }, 200],
      ['POST', '/api/channels/', { filter_conditions: { type: { $in: Array(900).fill('x') } } }, 200],
      ['POST', `${ch}/truncate/`, { truncated_at: '0001-01-01T00:00:00Z' }, 200],
      ['POST', `${ch}/query/`, { messages: { created_at_before: '0000-01-01T00:00:00Z' } }, 200],
      ['PUT', `/api/messages/${f.msg.id}/`, { set: { pinned: true, pin_expires: '9999-12-31T23:59:59Z' } }, 200],
      ['POST', `${ch}/unread/`, { message_timestamp: '1970-01-01T00:00:00Z' }, 200],
      ['POST', '/api/moderation/mute/', { target_id: f.member, timeout: 525600 * 10 }, 200],
      ['POST', `${ch}/message/`, { message: { id: oddId, text: 'odd id' } }, 200],
      ['GET', `/api/messages/${encodeURIComponent(oddId)}/`, undefined, 200],
    ];
    for (const [method, path, body, status] of requests) {
      const res = await api(method, path, { ...o, body });
      assert.equal(res.status, status, `${method} ${path} ${JSON.stringify(body)}: ${res.text.slice(0, 200)}`);
    }
  });
});
