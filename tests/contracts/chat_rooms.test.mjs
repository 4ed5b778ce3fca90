// Issue 3, the room surfaces (API.md §2, §5, §6, §7, §8) backed by the same store as the Stream
// surface: connection ids, drafts, room config, the message history with keyset cursors, and the
// member roster. Each route is served under /rooms/ and /api/rooms/.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  BASE_URL, TIME_RE, api, connectUser, createUsers, expectError, openSocket, recordEvents, redis, serverClient, signToken, uniqueId,
  userToken,
} from './lib/streambed.mjs';

// The room surface takes only the token (no api_key).
async function room(method, path, { token, body, query = {} } = {}) {
  const url = new URL(`${BASE_URL}${path}`);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, String(v));
  const headers = { 'content-type': 'application/json' };
  if (token) Object.assign(headers, { authorization: token, 'stream-auth-type': 'jwt' });
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), redirect: 'manual' });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { json = null; }
  return { status: res.status, json, text };
}

async function channelWith(memberCount, { type = 'messaging' } = {}) {
  const users = await createUsers(memberCount, 'rm');
  const [owner, ...rest] = users;
  const id = uniqueId('room');
  const srv = serverClient().channel(type, id, { created_by_id: owner, members: [owner] });
  await srv.create();
  // Members join one call at a time so their created_at order is known.
  for (let i = 0; i < rest.length; i += 10) await srv.addMembers(rest.slice(i, i + 10));
  return { owner, users, id, cid: `${type}:${id}`, srv };
}

describe('GET /rooms/<cid>/members/', () => {
  it('?limit=20&offset=20 returns exactly 20 of 45, ordered by (created_at, user_id); pages cover everyone once', async () => {
    const c = await channelWith(45);
    const token = userToken(c.owner);
    const page = await room('GET', `/rooms/${c.cid}/members/`, { token, query: { limit: 20, offset: 20 } });
    assert.equal(page.status, 200, page.text);
    assert.equal(page.json.members.length, 20);
    assert.equal(page.json.total, 45);
    assert.equal(page.json.limit, 20);
    assert.equal(page.json.offset, 20);
    const seen = [];
    for (const offset of [0, 20, 40]) {
      const res = await room('GET', `/api/rooms/${c.cid}/members/`, { token, query: { limit: 20, offset } });
      assert.equal(res.status, 200);
      seen.push(...res.json.members);
    }
    assert.equal(seen.length, 45);
    assert.deepEqual(new Set(seen.map((m) => m.user_id)), new Set(c.users));
    for (let i = 1; i < seen.length; i++) {
      const [a, b] = [seen[i - 1], seen[i]];
      assert.ok(a.created_at < b.created_at || (a.created_at === b.created_at && a.user_id < b.user_id), 'ordered by (created_at, user_id)');
    }
    const m = seen.find((x) => x.user_id === c.owner);
    assert.equal(m.user.id, c.owner);
    assert.equal(m.role, 'owner');
    assert.equal(m.channel_role, 'owner');
    assert.equal(m.banned, false);
    assert.match(m.created_at, TIME_RE);
    assert.match(m.updated_at, TIME_RE);
    const dflt = await room('GET', `/rooms/${c.cid}/members/`, { token });
    assert.equal(dflt.json.members.length, 20, 'default limit 20');
    assert.equal(dflt.json.offset, 0);
  });

  it('role and banned filters; bad parameters are 400', async () => {
    const c = await channelWith(5);
    await c.srv.addModerators([c.users[1]]);
    await c.srv.banUser(c.users[2], { banned_by_id: c.owner });
    const token = userToken(c.owner);
    const mods = await room('GET', `/rooms/${c.cid}/members/`, { token, query: { role: 'channel_moderator' } });
    assert.deepEqual(mods.json.members.map((m) => m.user_id), [c.users[1]]);
    assert.equal(mods.json.total, 1);
    const banned = await room('GET', `/rooms/${c.cid}/members/`, { token, query: { banned: 'true' } });
    assert.deepEqual(banned.json.members.map((m) => [m.user_id, m.banned]), [[c.users[2], true]]);
    const notBanned = await room('GET', `/rooms/${c.cid}/members/`, { token, query: { banned: 'false' } });
    assert.equal(notBanned.json.total, 4);
    for (const query of [{ limit: 0 }, { limit: 101 }, { limit: 'x' }, { offset: -1 }, { role: 'king' }, { banned: 'maybe' }]) {
      await expectError(room('GET', `/rooms/${c.cid}/members/`, { token, query }), 400, 4);
    }
  });

  it('the same ACL as config: 401 without a token, 403 for a bad token or a non-member, 404 for an unknown room', async () => {
    const c = await channelWith(2);
    await expectError(room('GET', `/rooms/${c.cid}/members/`), 401, 3);
    await expectError(room('GET', `/rooms/${c.cid}/members/`, { token: signToken({ user_id: c.owner }, { secret: 'y'.repeat(40) }) }), 403, 43);
    await expectError(room('GET', `/rooms/${c.cid}/members/`, { token: userToken(uniqueId('stranger')) }), 403, 17);
    await expectError(room('GET', `/rooms/messaging:${uniqueId('none')}/members/`, { token: userToken(c.owner) }), 404, 16);
  });
});

describe('GET /rooms/<cid>/config/', () => {
  it('200 with cid, type, name, muted, config and own_capabilities; muted follows the channel mute', async () => {
    const c = await channelWith(2);
    await c.srv.update({ name: 'Room name' });
    const token = userToken(c.users[1]);
    for (const prefix of ['/rooms/', '/api/rooms/']) {
      const res = await room('GET', `${prefix}${c.cid}/config/`, { token });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.cid, c.cid);
      assert.equal(res.json.type, 'messaging');
      assert.equal(res.json.name, 'Room name');
      assert.equal(res.json.muted, false);
      assert.equal(res.json.config.name, 'messaging');
      assert.equal(res.json.config.typing_events, true);
      assert.ok(res.json.own_capabilities.includes('send-message'));
      assert.ok(!res.json.own_capabilities.includes('update-channel'));
    }
    const client = await connectUser(c.users[1]);
    try {
      const ch = client.channel('messaging', c.id);
      await ch.watch();
      await ch.mute();
      assert.equal((await room('GET', `/rooms/${c.cid}/config/`, { token })).json.muted, true);
      await ch.unmute();
      assert.equal((await room('GET', `/rooms/${c.cid}/config/`, { token })).json.muted, false);
    } finally {
      await client.disconnectUser();
    }
  });

  it('401 without a token, 403 for a tampered token, a non-member or a banned member, 404 for an unknown room', async () => {
    const c = await channelWith(3);
    const path = `/rooms/${c.cid}/config/`;
    await expectError(room('GET', path), 401, 3);
    const [h, , s] = userToken(c.owner).split('.');
    await expectError(room('GET', path, { token: `${h}.${Buffer.from(JSON.stringify({ user_id: c.users[1] })).toString('base64url')}.${s}` }), 403, 43);
    await expectError(room('GET', path, { token: userToken(c.owner, { exp: Math.floor(Date.now() / 1000) - 60 }) }), 403, 40);
    await expectError(room('GET', path, { token: userToken(uniqueId('stranger')) }), 403, 17);
    await c.srv.banUser(c.users[2], { banned_by_id: c.owner });
    await expectError(room('GET', path, { token: userToken(c.users[2]) }), 403, 17);
    await expectError(room('GET', `/rooms/messaging:${uniqueId('none')}/config/`, { token: userToken(c.owner) }), 404, 16);
    await expectError(room('GET', '/rooms/nosuchtype:abc/config/', { token: userToken(c.owner) }), 404, 16);
    await expectError(room('GET', '/rooms/no-colon/config/', { token: userToken(c.owner) }), 400, 4);
    const live = await channelWith(1, { type: 'livestream' });
    assert.equal((await room('GET', `/rooms/${live.cid}/config/`, { token: userToken(uniqueId('viewer')) })).status, 200, 'livestreams are public');
  });
});

describe('GET /rooms/<cid>/messages/', () => {
  it('cursors walk 120 messages both ways with no gap or repeat while new messages are being inserted', async () => {
    const c = await channelWith(1);
    const token = userToken(c.owner);
    for (let i = 0; i < 120; i++) await c.srv.sendMessage({ text: `seed ${i}`, user_id: c.owner });
    let inserting = true;
    let inserted = 0;
    const inserter = (async () => {
      while (inserting) {
        await c.srv.sendMessage({ text: `live ${inserted}`, user_id: c.owner });
        inserted += 1;
      }
    })();
    try {
      // Backwards from the newest, with `before=<next>`.
      const first = await room('GET', `/rooms/${c.cid}/messages/`, { token, query: { limit: 25 } });
      assert.equal(first.status, 200, first.text);
      let backward = [...first.json.messages];
      let next = first.json.next;
      let pages = [first.json];
      while (next) {
        const res = await room('GET', `/rooms/${c.cid}/messages/`, { token, query: { limit: 25, before: next } });
        assert.equal(res.status, 200, res.text);
        backward = [...res.json.messages, ...backward];
        pages.push(res.json);
        next = res.json.next;
        assert.ok(pages.length < 20);
      }
      for (const p of pages) {
        for (let i = 1; i < p.messages.length; i++) assert.ok(p.messages[i].created_at > p.messages[i - 1].created_at, 'oldest first');
      }
      // Forwards from the oldest page, with `after=<prev>`, until caught up after the inserts stop.
      const oldest = pages.at(-1);
      let forward = [...oldest.messages];
      let prev = oldest.prev;
      let stopAt = Date.now() + 800;
      for (;;) {
        if (Date.now() > stopAt && inserting) {
          inserting = false;
          await inserter;
        }
        const res = await room('GET', `/api/rooms/${c.cid}/messages/`, { token, query: { limit: 25, after: prev } });
        assert.equal(res.status, 200, res.text);
        forward.push(...res.json.messages);
        assert.equal(typeof res.json.prev, 'string', 'prev keeps the place even when caught up');
        prev = res.json.prev;
        if (!inserting && res.json.messages.length === 0) break;
      }
      await inserter;
      assert.ok(inserted > 0, 'messages were inserted during the walks');
      const ids = (list) => list.map((m) => m.id);
      // The truth, read afterwards through the Stream surface.
      const truth = [];
      let cursor;
      for (;;) {
        const q = await c.srv.query({ state: true, messages: cursor ? { id_lt: cursor, limit: 300 } : { limit: 300 } });
        truth.unshift(...q.messages);
        if (q.messages.length < 300) break;
        cursor = q.messages[0].id;
      }
      assert.equal(truth.length, 120 + inserted);
      assert.equal(new Set(ids(backward)).size, backward.length, 'no repeat going back');
      assert.deepEqual(ids(backward), ids(truth).slice(0, backward.length), 'no gap going back');
      assert.ok(backward.length >= 120);
      assert.equal(new Set(ids(forward)).size, forward.length, 'no repeat going forward');
      assert.deepEqual(ids(forward), ids(truth), 'no gap going forward: every message, new ones included');
      assert.equal(backward[0].text, 'seed 0');
      assert.equal(first.json.messages[0].cid, c.cid);
      assert.match(first.json.messages[0].created_at, TIME_RE);
    } finally {
      inserting = false;
      await inserter;
    }
  });

  it('limit 1–300 (default 25); a malformed cursor, or before with after, is 400', async () => {
    const c = await channelWith(1);
    const token = userToken(c.owner);
    for (let i = 0; i < 30; i++) await c.srv.sendMessage({ text: `m${i}`, user_id: c.owner });
    const dflt = await room('GET', `/rooms/${c.cid}/messages/`, { token });
    assert.equal(dflt.json.messages.length, 25);
    assert.equal(dflt.json.messages.at(-1).text, 'm29');
    const tail = await room('GET', `/rooms/${c.cid}/messages/`, { token, query: { before: dflt.json.next } });
    assert.deepEqual(tail.json.messages.map((m) => m.text), ['m0', 'm1', 'm2', 'm3', 'm4']);
    assert.equal(tail.json.next, null, 'no next on the oldest page');
    for (const query of [
      { limit: 0 }, { limit: 301 }, { limit: 'ten' }, { before: 'not-a-cursor' }, { before: '%%%' },
      { after: Buffer.from('12.x').toString('base64url') }, { after: Buffer.from('1.-5').toString('base64url') },
      { before: Buffer.from('x'.repeat(60)).toString('base64url') }, { before: dflt.json.next, after: dflt.json.prev },
    ]) {
      await expectError(room('GET', `/rooms/${c.cid}/messages/`, { token, query }), 400, 4);
    }
  });

  it('thread replies appear only with parent_id; deleted messages stay as type "deleted"', async () => {
    const c = await channelWith(1);
    const token = userToken(c.owner);
    const parent = (await c.srv.sendMessage({ text: 'parent', user_id: c.owner })).message;
    await c.srv.sendMessage({ text: 'reply', parent_id: parent.id, user_id: c.owner });
    const gone = (await c.srv.sendMessage({ text: 'gone', user_id: c.owner })).message;
    await serverClient().deleteMessage(gone.id);
    const main = await room('GET', `/rooms/${c.cid}/messages/`, { token });
    assert.deepEqual(main.json.messages.map((m) => [m.text, m.type]), [['parent', 'regular'], ['', 'deleted']]);
    const thread = await room('GET', `/rooms/${c.cid}/messages/`, { token, query: { parent_id: parent.id } });
    assert.deepEqual(thread.json.messages.map((m) => m.text), ['reply']);
    await expectError(room('GET', `/rooms/${c.cid}/messages/`, { token, query: { parent_id: 'nope' } }), 404, 16);
    await expectError(room('GET', `/rooms/${c.cid}/messages/`, { token: userToken(uniqueId('s')) }), 403, 17);
    await expectError(room('GET', `/rooms/${c.cid}/messages/`), 401, 3);
  });
});

describe('drafts', () => {
  it('save, load and delete on the room surface; getstream.io\'s GET answers 200 without `draft` when there is none', async () => {
    const c = await channelWith(1);
    const token = userToken(c.owner);
    const path = `/api/rooms/${c.cid}/draft/`;
    await expectError(room('GET', path, { token }), 404, 16);
    const saved = await room('POST', path, { token, body: { text: 'half a thought' } });
    assert.equal(saved.status, 200, saved.text);
    assert.deepEqual(Object.keys(saved.json.draft).sort(), ['cid', 'created_at', 'parent_id', 'text', 'updated_at']);
    assert.equal(saved.json.draft.cid, c.cid);
    assert.equal(saved.json.draft.text, 'half a thought');
    assert.equal(saved.json.draft.parent_id, null);
    const loaded = await room('GET', path, { token });
    assert.equal(loaded.json.draft.text, 'half a thought');
    const again = await room('POST', `/rooms/${c.cid}/draft/`, { token, body: { text: 'a whole thought' } });
    assert.equal(again.json.draft.created_at, saved.json.draft.created_at);
    assert.ok(again.json.draft.updated_at > saved.json.draft.updated_at);
    assert.equal((await room('DELETE', path, { token })).status, 200);
    await expectError(room('GET', path, { token }), 404, 16);
    const client = await connectUser(c.owner);
    try {
      const ch = client.channel('messaging', c.id);
      await ch.watch();
      const none = await ch.getDraft();
      assert.equal(none.draft, undefined);
    } finally {
      await client.disconnectUser();
    }
  });

  it('both surfaces share the drafts; draft.updated / draft.deleted go to the user; the channel state carries the draft', async () => {
    const c = await channelWith(1);
    const token = userToken(c.owner);
    const client = await connectUser(c.owner);
    try {
      const ch = client.channel('messaging', c.id);
      await ch.watch();
      const events = recordEvents(client);
      await room('POST', `/rooms/${c.cid}/draft/`, { token, body: { text: 'from the room surface' } });
      const upd = await events.waitFor('draft.updated');
      assert.equal(upd.draft.channel_cid, c.cid);
      assert.equal(upd.draft.parent_id, null);
      const viaSdk = await ch.getDraft();
      assert.equal(viaSdk.draft.channel_cid, c.cid);
      assert.equal(viaSdk.draft.message.text, 'from the room surface');
      assert.match(viaSdk.draft.created_at, TIME_RE);
      await ch.createDraft({ id: crypto.randomUUID(), text: 'from the SDK' });
      assert.equal((await room('GET', `/rooms/${c.cid}/draft/`, { token })).json.draft.text, 'from the SDK');
      const state = await ch.query({});
      assert.equal(state.draft.message.text, 'from the SDK');
      const queried = await client.queryDrafts({ filter: { channel_cid: { $eq: c.cid } } });
      assert.deepEqual(queried.drafts.map((d) => d.message.text), ['from the SDK']);
      const mark = events.mark();
      await ch.deleteDraft();
      const del = await events.waitFor('draft.deleted', { since: mark });
      assert.equal(del.draft.channel_cid, c.cid);
      await expectError(room('GET', `/rooms/${c.cid}/draft/`, { token }), 404, 16);
    } finally {
      await client.disconnectUser();
    }
  });

  it('a draft vanishes when its author sends in that room (either surface), per parent_id', async () => {
    const c = await channelWith(2);
    const token = userToken(c.owner);
    const client = await connectUser(c.owner);
    try {
      const ch = client.channel('messaging', c.id);
      await ch.watch();
      const parent = (await ch.sendMessage({ text: 'parent' })).message;
      await room('POST', `/rooms/${c.cid}/draft/`, { token, body: { text: 'channel draft' } });
      await room('POST', `/rooms/${c.cid}/draft/`, { token, body: { text: 'thread draft', parent_id: parent.id } });
      // Another member's send does not touch it.
      await c.srv.sendMessage({ text: 'from someone else', user_id: c.users[1] });
      assert.equal((await room('GET', `/rooms/${c.cid}/draft/`, { token })).json.draft.text, 'channel draft');
      const events = recordEvents(client);
      await ch.sendMessage({ text: 'reply', parent_id: parent.id });
      const del = await events.waitFor('draft.deleted');
      assert.equal(del.draft.parent_id, parent.id);
      await expectError(room('GET', `/rooms/${c.cid}/draft/`, { token, query: { parent_id: parent.id } }), 404, 16);
      assert.equal((await room('GET', `/rooms/${c.cid}/draft/`, { token })).json.draft.text, 'channel draft', 'the channel draft stays');
      await ch.sendMessage({ text: 'sent' });
      await expectError(room('GET', `/rooms/${c.cid}/draft/`, { token }), 404, 16);
      assert.equal((await ch.getDraft()).draft, undefined);
    } finally {
      await client.disconnectUser();
    }
  });

  it('drafts need write access; bad drafts are 400 (over-long text is code 20)', async () => {
    const c = await channelWith(1);
    const token = userToken(c.owner);
    await expectError(room('POST', `/rooms/${c.cid}/draft/`, { token: userToken(uniqueId('s')), body: { text: 'x' } }), 403, 17);
    await expectError(room('POST', `/rooms/${c.cid}/draft/`, { token, body: {} }), 400, 4);
    await expectError(room('POST', `/rooms/${c.cid}/draft/`, { token, body: { text: 5 } }), 400, 4);
    await expectError(room('POST', `/rooms/${c.cid}/draft/`, { token, body: { text: 'y'.repeat(5001) } }), 400, 20);
    await expectError(room('POST', `/rooms/${c.cid}/draft/`, { token }), 400, 4);
    await expectError(room('GET', `/rooms/${c.cid}/draft/`, { token }), 404, 16);
  });
});

describe('GET /api/connection-id/', () => {
  const cid = (token, session) => room('GET', '/api/connection-id/', { token, query: session === undefined ? {} : { session } });

  it('answers a decimal snowflake with the session, heartbeat_interval 30 and expires_in 90', async () => {
    const user = uniqueId('conn');
    const res = await cid(userToken(user), 'tab-1');
    assert.equal(res.status, 200, res.text);
    assert.match(res.json.connection_id, /^\d+$/);
    assert.equal(res.json.session, 'tab-1');
    assert.equal(res.json.heartbeat_interval, 30);
    assert.equal(res.json.expires_in, 90);
    const id = BigInt(res.json.connection_id);
    assert.ok(id < 2n ** 63n);
    const ms = Number(id >> 22n) + Date.UTC(2024, 0, 1);
    assert.ok(Math.abs(ms - Date.now()) < 60000, '41 bits of milliseconds since 2024-01-01');
  });

  it('is stable per (user, session) and different across sessions and users, also when hit in parallel', async () => {
    const [a, b] = [uniqueId('ca'), uniqueId('cb')];
    const same = await Promise.all(Array.from({ length: 40 }, () => cid(userToken(a), 'shared')));
    for (const r of same) assert.equal(r.status, 200, r.text);
    assert.equal(new Set(same.map((r) => r.json.connection_id)).size, 1, 'one id per (user, session), even under a race');
    const other = await cid(userToken(b), 'shared');
    assert.notEqual(other.json.connection_id, same[0].json.connection_id, 'another user, another id');
    const many = await Promise.all(Array.from({ length: 300 }, (_, i) => cid(userToken(a), `s${i}`)));
    for (const r of many) assert.equal(r.status, 200, r.text);
    const ids = many.map((r) => r.json.connection_id);
    assert.equal(new Set(ids).size, 300, 'unique across sessions and across workers');
    assert.ok(!ids.includes(same[0].json.connection_id));
    const again = await cid(userToken(a), 's7');
    assert.equal(again.json.connection_id, ids[7], 'still the same while alive');
  });

  it('a room socket opened with the connection id keeps its session alive through heartbeats; a foreign or unknown id is refused before the upgrade', async () => {
    const c = await channelWith(2);
    const [owner, other] = c.users;
    const first = await cid(userToken(owner), 'tab-ws');
    assert.equal(first.status, 200, first.text);
    const id = first.json.connection_id;
    const keys = [`sb:session:${owner}:tab-ws`, `sb:session-of:${id}`];
    const ttls = async () => Promise.all(keys.map(async (k) => Number(await redis('TTL', k))));
    // Most of the session's life gone (as if 80 of its 90 seconds had passed)...
    for (const k of keys) assert.equal(await redis('EXPIRE', k, '10'), '1', k);
    const ticket = async (user) => (await api('GET', '/api/ws-auth/', { token: userToken(user), query: { cid: c.cid } })).json.auth;
    const ws = await openSocket(`/ws/${c.cid}/?auth=${encodeURIComponent(await ticket(owner))}&connection_id=${id}`);
    try {
      await ws.waitFor((f) => f.type === 'connection.ok');
      for (const ttl of await ttls()) assert.ok(ttl > 0 && ttl <= 10, `no refresh before a heartbeat: ${ttl}`);
      // ...a heartbeat on the socket gives it its whole TTL back.
      ws.send(JSON.stringify({ type: 'health.check' }));
      await ws.waitFor((f) => f.type === 'health.check');
      const deadline = Date.now() + 5000;
      let now = await ttls();
      while (now.some((t) => t <= 10) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        now = await ttls();
      }
      for (const ttl of now) assert.ok(ttl > 80, `refreshed to 90 s by the heartbeat: ${now}`);
      const again = await cid(userToken(owner), 'tab-ws');
      assert.equal(again.json.connection_id, id, 'the same id while the socket keeps it alive');
    } finally {
      ws.close();
    }
    // Another user's connection id, or one that does not exist (or expired), opens nothing.
    await assert.rejects(openSocket(`/ws/${c.cid}/?auth=${encodeURIComponent(await ticket(other))}&connection_id=${id}`), (e) => e.status === 403);
    await assert.rejects(openSocket(`/ws/${c.cid}/?auth=${encodeURIComponent(await ticket(owner))}&connection_id=12345`), (e) => e.status === 404);
  });

  it('missing or malformed session is 400; no token 401; a bad token 403', async () => {
    const t = userToken(uniqueId('cx'));
    for (const s of [undefined, '', 'has space', 'x'.repeat(65), 'semi;colon']) await expectError(cid(t, s), 400, 4);
    await expectError(cid(undefined, 'ok'), 401, 3);
    await expectError(cid(signToken({ user_id: 'x' }, { secret: 'q'.repeat(40) }), 'ok'), 403, 43);
  });
});
