// Issue 3, users (STREAM-PROTOCOL.md §1.1, §1.3, §3.1, §4.5): queryUsers (the mention
// autocomplete's $or of id and name), upsert and partial update, roles only by server tokens,
// guests, anonymous users, and revoke_tokens_issued_before (code 42).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { StreamChat } from 'stream-chat';

import {
  API_KEY, BASE_URL, TIME_RE, addTrailingSlash, api, connectUser, expectError, recordEvents, serverClient, signToken, uniqueId,
  userToken,
} from './lib/streambed.mjs';

function assertUserResponse(u, id) {
  assert.equal(u.id, id);
  assert.equal(typeof u.role, 'string');
  assert.equal(typeof u.online, 'boolean');
  assert.match(u.created_at, TIME_RE);
  assert.match(u.updated_at, TIME_RE);
  assert.equal(u.banned, false);
  assert.ok(Array.isArray(u.teams));
  assert.equal(typeof u.language, 'string');
}

describe('queryUsers', () => {
  it('the mention autocomplete filter {$or:[{id:{$autocomplete}},{name:{$autocomplete}}]} finds by id or name prefix', async () => {
    const tag = uniqueId('tag').replace(/-/g, '_');
    const srv = serverClient();
    const ids = { zed: `zed_${tag}`, bea: `bea_${tag}`, amy: `amy_${tag}` };
    await srv.upsertUsers([
      { id: ids.zed, name: 'Zed Zebra', tag },
      { id: ids.bea, name: 'Beatrice Zimmer', tag },
      { id: ids.amy, name: 'Amy', tag },
    ]);
    const client = await connectUser(uniqueId('asker'));
    try {
      const byName = await client.queryUsers({ $and: [{ tag }, { $or: [{ id: { $autocomplete: 'zi' } }, { name: { $autocomplete: 'zi' } }] }] });
      assert.deepEqual(byName.users.map((u) => u.id), [ids.bea], 'a word prefix inside the name');
      const byEither = await client.queryUsers({ $and: [{ tag }, { $or: [{ id: { $autocomplete: 'ze' } }, { name: { $autocomplete: 'ZE' } }] }] }, [{ id: 1 }]);
      assert.deepEqual(byEither.users.map((u) => u.id), [ids.zed], 'case-insensitive');
      const byId = await client.queryUsers({ $and: [{ tag }, { $or: [{ id: { $autocomplete: 'amy_' } }, { name: { $autocomplete: 'amy_' } }] }] });
      assert.deepEqual(byId.users.map((u) => u.id), [ids.amy]);
      for (const u of byEither.users) assertUserResponse(u, u.id);
      assert.equal(byEither.users[0].tag, tag, 'custom fields are flattened');
    } finally {
      await client.disconnectUser();
    }
  });

  it('filters by id $in, sorts and pages with limit/offset', async () => {
    const srv = serverClient();
    const ids = Array.from({ length: 5 }, (_, i) => `${uniqueId('pg')}_${i}`);
    await srv.upsertUsers(ids.map((id, i) => ({ id, name: `P ${4 - i}` })));
    const client = await connectUser(uniqueId('asker'));
    try {
      const asc = await client.queryUsers({ id: { $in: ids } }, [{ id: 1 }], { limit: 2, offset: 1 });
      assert.deepEqual(asc.users.map((u) => u.id), [...ids].sort().slice(1, 3));
      const byName = await client.queryUsers({ id: { $in: ids } }, [{ name: 1 }]);
      assert.deepEqual(byName.users.map((u) => u.name), ['P 0', 'P 1', 'P 2', 'P 3', 'P 4']);
      const none = await client.queryUsers({ id: { $in: ids }, name: { $autocomplete: '_' } });
      assert.deepEqual(none.users, [], 'LIKE wildcards in the query are literal');
      await expectError(client.queryUsers({ id: { $regex: '.*' } }), 400, 4);
      await expectError(client.queryUsers({ nope: { $in: 'x' } }), 400, 4);
      await expectError(client.queryUsers({}, [{ password: 1 }]), 400, 4);
      await expectError(client.queryUsers({}, [], { limit: 1000 }), 400, 4);
    } finally {
      await client.disconnectUser();
    }
  });
});

describe('upsert and partial update', () => {
  it('a server token upserts users with custom fields and roles; user.updated reaches the user', async () => {
    const id = uniqueId('up');
    const srv = serverClient();
    const first = await srv.upsertUser({ id, name: 'Before', favourite: 'tea' });
    assertUserResponse(first.users[id], id);
    assert.equal(first.users[id].favourite, 'tea');
    const client = await connectUser(id);
    try {
      const events = recordEvents(client);
      const res = await srv.upsertUsers([{ id, name: 'After', role: 'admin', team_color: 'red' }]);
      const u = res.users[id];
      assert.equal(u.name, 'After');
      assert.equal(u.role, 'admin');
      assert.equal(u.team_color, 'red');
      assert.equal(u.favourite, undefined, 'an upsert replaces the custom fields');
      assert.ok(u.updated_at > first.users[id].updated_at);
      const ev = await events.waitFor('user.updated');
      assert.equal(ev.user.id, id);
      assert.equal(ev.user.name, 'After');
    } finally {
      await client.disconnectUser();
    }
  });

  it('partial update sets and unsets fields', async () => {
    const id = uniqueId('pu');
    const srv = serverClient();
    await srv.upsertUser({ id, name: 'N', a: 1, b: 2 });
    const res = await srv.partialUpdateUser({ id, set: { c: 3, name: 'M', language: 'fr' }, unset: ['a'] });
    const u = res.users[id];
    assert.equal(u.name, 'M');
    assert.equal(u.a, undefined);
    assert.equal(u.b, 2);
    assert.equal(u.c, 3);
    assert.equal(u.language, 'fr');
    await expectError(srv.partialUpdateUser({ id: uniqueId('ghost'), set: { name: 'x' } }), 404, 16);
  });

  it('a user updates itself but not others, and never its role (403 code 17)', async () => {
    const me = uniqueId('me');
    const other = uniqueId('other');
    await serverClient().upsertUser({ id: other, name: 'Other' });
    const client = await connectUser(me);
    try {
      const res = await client.partialUpdateUser({ id: me, set: { name: 'Myself', mood: 'ok' } });
      assert.equal(res.users[me].name, 'Myself');
      assert.equal(res.users[me].role, 'user');
      await expectError(client.partialUpdateUser({ id: me, set: { role: 'admin' } }), 403, 17);
      await expectError(client.upsertUser({ id: me, role: 'admin' }), 403, 17);
      await expectError(client.partialUpdateUser({ id: other, set: { name: 'Hijacked' } }), 403, 17);
      await expectError(client.upsertUser({ id: other, name: 'Hijacked' }), 403, 17);
      const check = await client.queryUsers({ id: { $in: [me, other] } }, [{ id: 1 }]);
      const byId = Object.fromEntries(check.users.map((u) => [u.id, u]));
      assert.equal(byId[me].role, 'user');
      assert.equal(byId[other].name, 'Other');
    } finally {
      await client.disconnectUser();
    }
  });

  it('bad user input is 400: invalid ids, wrong types, unknown roles, too many users', async () => {
    const post = (body) => api('POST', '/api/users/', { token: signToken({ server: true }), body });
    await expectError(post({ users: { 'bad id!': { id: 'bad id!' } } }), 400, 4);
    await expectError(post({ users: { [uniqueId('x')]: 'not an object' } }), 400, 4);
    await expectError(post({ users: {} }), 400, 4);
    await expectError(post({ users: { [uniqueId('x')]: { role: 'superuser' } } }), 400, 4);
    await expectError(post({ users: { [uniqueId('x')]: { name: 7 } } }), 400, 4);
    const many = Object.fromEntries(Array.from({ length: 101 }, () => { const id = uniqueId('m'); return [id, { id }]; }));
    await expectError(post({ users: many }), 400, 4);
  });
});

describe('guests and anonymous users', () => {
  it('setGuestUser: POST /guest answers a token and a guest user; the client then connects with it', async () => {
    const client = addTrailingSlash(new StreamChat(API_KEY, { baseURL: `${BASE_URL}/api`, timeout: 10000, allowServerSideConnect: true }));
    const id = uniqueId('guest');
    try {
      await client.setGuestUser({ id, name: 'Visitor' });
      assert.equal(client.userID, id);
      assert.equal(client.user.role, 'guest');
      assert.equal(client.user.name, 'Visitor');
      assert.ok(client.wsConnection?.connectionID || client.connectionID);
    } finally {
      await client.disconnectUser();
    }
    const raw = await api('POST', '/api/guest/', { headers: { 'stream-auth-type': 'anonymous' }, body: { user: { id, name: 'Again' } } });
    assert.equal(raw.status, 200, raw.text);
    assert.equal(raw.json.user.role, 'guest');
    assert.equal(typeof raw.json.access_token, 'string');
    const [, payload] = raw.json.access_token.split('.');
    assert.equal(JSON.parse(Buffer.from(payload, 'base64url')).user_id, id);
  });

  it('a guest id taken by a registered user is refused', async () => {
    const id = uniqueId('taken');
    await serverClient().upsertUser({ id, name: 'Registered' });
    const res = await api('POST', '/api/guest/', { headers: { 'stream-auth-type': 'anonymous' }, body: { user: { id } } });
    await expectError(Promise.resolve(res), 400, 4);
    assert.equal((await serverClient().queryUsers({ id })).users[0].role, 'user');
  });

  it('an anonymous user reads a livestream and can do nothing else', async () => {
    const owner = uniqueId('owner');
    await serverClient().upsertUser({ id: owner });
    const id = uniqueId('live');
    const srvCh = serverClient().channel('livestream', id, { created_by_id: owner, members: [owner] });
    await srvCh.create();
    await srvCh.sendMessage({ text: 'welcome', user_id: owner });
    const client = addTrailingSlash(new StreamChat(API_KEY, { baseURL: `${BASE_URL}/api`, timeout: 10000, allowServerSideConnect: true }));
    try {
      await client.connectAnonymousUser();
      const ch = client.channel('livestream', id);
      const state = await ch.watch();
      assert.deepEqual(state.messages.map((m) => m.text), ['welcome']);
      assert.deepEqual(state.channel.own_capabilities, ['connect-events'], 'read-only');
      await expectError(ch.sendMessage({ text: 'hi' }), 403, 17);
      await expectError(ch.sendEvent({ type: 'custom_thing' }), 403, 17);
      await expectError(client.channel('messaging', uniqueId('x')).watch(), 403, 17);
    } finally {
      await client.disconnectUser();
    }
  });
});

describe('token revocation', () => {
  it('revoke_tokens_issued_before refuses older tokens with 401 code 42, on REST and on connect', async () => {
    const id = uniqueId('rev');
    const srv = serverClient();
    await srv.upsertUser({ id });
    const now = Math.floor(Date.now() / 1000);
    const oldToken = userToken(id, { iat: now - 3600 });
    const ok = await api('GET', '/api/users/', { token: oldToken, query: { user_id: id, payload: { filter_conditions: { id } } } });
    assert.equal(ok.status, 200, ok.text);
    await srv.revokeUserToken(id, new Date((now - 60) * 1000));
    const refused = await api('GET', '/api/users/', { token: oldToken, query: { user_id: id, payload: { filter_conditions: { id } } } });
    await expectError(Promise.resolve(refused), 401, 42);
    await assert.rejects(connectUser(id, { token: oldToken }), /42|revoked/);
    const fresh = await api('GET', '/api/users/', { token: userToken(id, { iat: now }), query: { user_id: id, payload: { filter_conditions: { id } } } });
    assert.equal(fresh.status, 200, 'tokens issued after the revocation work');
    await srv.partialUpdateUser({ id, unset: ['revoke_tokens_issued_before'] });
    assert.equal((await api('GET', '/api/users/', { token: oldToken, query: { user_id: id, payload: { filter_conditions: { id } } } })).status, 200);
  });
});
