// The security review's checks (docs/security.md), each against the running stack: RFC 8725's JWT
// attacks on both surfaces, the access-control matrix generated from the route table, SQL
// injection probes on every string field of every route, size limits, slow clients, and the
// WebSocket Origin allow-list on a gateway of its own.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { png } from './lib/images.mjs';
import {
  API_KEY, API_SECRET, BASE_URL, api, connectQuery, openSocket, serverClient, signToken, uniqueId, upsertUsers, userToken,
} from './lib/streambed.mjs';

const ROOT = process.env.STREAMBED_ROOT;
const RUN_DIR = process.env.STREAMBED_RUN_DIR;
const now = () => Math.floor(Date.now() / 1000);
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

// ---------------------------------------------------------------------------------------------
// RFC 8725: the JWT attack list
// ---------------------------------------------------------------------------------------------

describe('JWT attacks (RFC 8725 §2, §3)', () => {
  const user = uniqueId('jwt');
  const attackerKey = crypto.randomBytes(32);
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' });
  const hmacWith = (header, payload, key) => {
    const body = `${b64(header)}.${b64(payload)}`;
    return `${body}.${crypto.createHmac('sha256', key).update(body).digest('base64url')}`;
  };
  // Each attack, with the getstream.io error code the Stream surface answers.
  const attacks = {
    'alg none': [() => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ user_id: user })}.`, 43],
    'alg "None" with a signature': [() => hmacWith({ alg: 'None' }, { user_id: user }, API_SECRET), 43],
    'algorithm confusion: RS256 header, HMAC over the public key': [
      () => hmacWith({ alg: 'RS256' }, { user_id: user }, rsaPem), 43],
    'algorithm confusion: HS512 with the real secret': [() => {
      const body = `${b64({ alg: 'HS512' })}.${b64({ user_id: user })}`;
      return `${body}.${crypto.createHmac('sha512', API_SECRET).update(body).digest('base64url')}`;
    }, 43],
    'RS256 signed by an attacker key': [() => {
      const body = `${b64({ alg: 'RS256' })}.${b64({ user_id: user })}`;
      return `${body}.${crypto.sign('sha256', Buffer.from(body), rsa.privateKey).toString('base64url')}`;
    }, 43],
    'key injection: jwk header carrying the attacker key': [
      () => hmacWith({ alg: 'HS256', jwk: { kty: 'oct', k: attackerKey.toString('base64url') } }, { user_id: user }, attackerKey), 43],
    'key injection: jku pointing at an attacker key set': [
      () => hmacWith({ alg: 'HS256', jku: 'https://attacker.example/jwks.json' }, { user_id: user }, attackerKey), 43],
    'key injection: x5u pointing at an attacker certificate': [
      () => hmacWith({ alg: 'HS256', x5u: 'https://attacker.example/cert.pem' }, { user_id: user }, attackerKey), 43],
    'key injection: kid path traversal to an empty key': [
      () => hmacWith({ alg: 'HS256', kid: '../../../../dev/null' }, { user_id: user }, ''), 43],
    'kid SQL injection': [() => hmacWith({ alg: 'HS256', kid: "x' UNION SELECT 'key" }, { user_id: user }, 'key'), 43],
    'crit header the server does not understand': [
      () => signToken({ user_id: user }, { header: { alg: 'HS256', crit: ['exp'] } }), 43],
    'expired (exp beyond the 5 s leeway)': [() => userToken(user, { exp: now() - 60 }), 40],
    'not yet valid (nbf in the future)': [() => userToken(user, { nbf: now() + 600 }), 41],
    'exp that is not a number': [() => userToken(user, { exp: 'tomorrow' }), 43],
    'payload swapped under a valid signature': [() => {
      const [h, , s] = userToken('someone-else').split('.');
      return `${h}.${b64({ user_id: user })}.${s}`;
    }, 43],
    'a development token claiming server: true': [
      () => `${b64({ alg: 'HS256' })}.${b64({ server: true })}.devtoken`, 43],
  };
  before(async () => { await upsertUsers(user); });

  for (const [name, [make, code]] of Object.entries(attacks)) {
    it(`REST refuses ${name} (401, code ${code})`, async () => {
      const res = await api('GET', '/api/app/', { token: make(), query: { user_id: user } });
      assert.equal(res.status, 401, res.text);
      assert.equal(res.json.code, code, res.text);
    });
    it(`/api/connect refuses ${name} with an error frame and close 1000`, async () => {
      const ws = await openSocket(connectQuery(user, make()));
      const frame = await ws.waitFor((f) => f.error);
      assert.equal(frame.error.StatusCode, 401);
      assert.equal(frame.error.code, code);
      assert.equal((await ws.waitClose()).code, 1000);
    });
    it(`the room surfaces refuse ${name} with 403`, async () => {
      assert.equal((await api('GET', '/api/ws-auth/', { token: make() })).status, 403);
    });
  }

  it('the jku/x5u/jwk/kid headers are ignored: the app secret still verifies, nothing is fetched', async () => {
    const token = hmacWith({ alg: 'HS256', typ: 'JWT', jku: 'https://attacker.example/jwks.json', kid: 'k1' }, { user_id: user }, API_SECRET);
    assert.equal((await api('GET', '/api/app/', { token, query: { user_id: user } })).status, 200);
  });

  it('tokens issued before revoke_tokens_issued_before are refused with code 42, later ones accepted', async () => {
    const id = uniqueId('revoke');
    const server = await upsertUsers(id);
    const old = userToken(id, { iat: now() - 120 });
    assert.equal((await api('GET', '/api/app/', { token: old, query: { user_id: id } })).status, 200);
    await server.revokeUserToken(id, new Date(Date.now() - 60000));
    const rest = await api('GET', '/api/app/', { token: old, query: { user_id: id } });
    assert.equal(rest.status, 401, rest.text);
    assert.equal(rest.json.code, 42);
    const ws = await openSocket(connectQuery(id, old));
    assert.equal((await ws.waitFor((f) => f.error)).error.code, 42);
    const fresh = userToken(id, { iat: now() });
    assert.equal((await api('GET', '/api/app/', { token: fresh, query: { user_id: id } })).status, 200);
    // The room surfaces too: a ticket cannot be had with the revoked token.
    assert.equal((await api('GET', '/api/ws-auth/', { token: old })).status, 403);
  });

  it('error replies never echo the token or the secret', async () => {
    const token = userToken(user, { exp: now() - 60 });
    for (const res of [await api('GET', '/api/app/', { token }), await api('GET', '/api/ws-auth/', { token })]) {
      assert.ok(!res.text.includes(token.split('.')[2]), res.text);
      assert.ok(!res.text.includes(API_SECRET));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The access-control matrix, generated from fcgi-app/routes.cpp
// ---------------------------------------------------------------------------------------------

// Every route of the table: [method, pattern, access].
function routeTable() {
  const text = fs.readFileSync(path.join(ROOT, 'fcgi-app', 'routes.cpp'), 'utf8');
  const routes = [];
  // An optional fifth argument is the body kind (BodyKind::kUpload).
  const matches = [...text.matchAll(/r\.Add\("(\w+)", (p \+ )?"([^"]+)", ([\w:]+), \w+(, [\w:]+)?\)/g)];
  // Every r.Add of the file is read: a route written some other way must not slip past the matrix.
  assert.equal(matches.length, (text.match(/r\.Add\(/g) ?? []).length, 'r.Add calls the route table reader does not understand');
  for (const m of matches) {
    const prefixes = m[2] ? ['/rooms/', '/api/rooms/'] : [''];
    for (const p of prefixes) routes.push([m[1], p + m[3], m[4].replace('Access::', '')]);
  }
  return routes;
}

// What each route needs of its caller, over one members-only channel ("messaging"):
//   public   anyone with a token (or none): outsider, banned, member and moderator all succeed
//   own      acts on the caller's own data: all four succeed
//   read     the channel readable: members and moderators succeed; outsiders and banned members get 403/404
//   mod      another user's resource or a moderator's power: only the moderator succeeds
//   admin    another user's account: only app admins (server tokens) succeed; all four are refused
//   internal gateway-to-worker routes: a user token is refused (401/403) for all four
// `fresh`: the call changes the fixture, so each role gets a new one. `ok`: statuses that count as
// success (404 where the resource may not exist for that caller).
const SPECS = {
  'GET /api/health/': { need: 'public' },
  'GET /api/hi/': { need: 'public' },
  'GET /api/app/': { need: 'own' },
  'POST /api/sync/': { need: 'own', body: (f) => ({ channel_cids: [f.cid], last_sync_at: '2020-01-01T00:00:00Z' }),
    check: (f, role, res) => {
      const hidden = res.json.inaccessible_cids.includes(f.cid);
      assert.equal(hidden, role === 'outsider' || role === 'banned', `${role}: inaccessible_cids ${res.text.slice(0, 200)}`);
    } },
  'POST /api/channels/': { need: 'own', body: (f) => ({ filter_conditions: { cid: f.cid }, state: true }),
    check: (f, role, res) => {
      const listed = res.json.channels.some((c) => c.channel.cid === f.cid);
      assert.equal(listed, role === 'member' || role === 'moderator', `${role}: listed ${listed}`);
    } },
  'POST /api/channels/read/': { need: 'own' },
  // Acts on the caller's own read state; entries for channels the caller may not read move nothing
  // (tests/contracts/chat_delivery.test.mjs).
  'POST /api/channels/delivered/': { need: 'own', body: (f) => ({ latest_delivered_messages: [{ cid: f.cid, id: f.message }] }) },
  'GET /api/channeltypes/': { need: 'admin' },
  'POST /api/channeltypes/': { need: 'admin', body: (f, role) => ({ name: `${f.id}-${role}`.slice(-64), typing_events: false }) },
  'GET /api/channeltypes/{name}/': { need: 'admin', path: { name: 'messaging' } },
  'PUT /api/channeltypes/{name}/': { need: 'admin', path: { name: 'messaging' }, body: () => ({ typing_events: false }) },
  'POST /api/channels/{type}/query/': { need: 'own', body: (f, role) => ({ data: { members: [f.users[role], f.users.owner] } }),
    path: { type: 'messaging' } },
  'POST /api/channels/{type}/{id}/query/': { need: 'read', body: () => ({ state: true }) },
  // Stops the caller's own connection watching: nothing to protect, and it says nothing about the channel.
  'POST /api/channels/{type}/{id}/stop-watching/': { need: 'own' },
  'POST /api/channels/{type}/{id}/': { need: 'mod', body: () => ({ data: { name: 'renamed' } }), fresh: true },
  'PATCH /api/channels/{type}/{id}/': { need: 'mod', body: () => ({ set: { name: 'renamed' } }), fresh: true },
  'DELETE /api/channels/{type}/{id}/': { need: 'mod', fresh: true },
  'POST /api/channels/{type}/{id}/truncate/': { need: 'mod', body: () => ({}), fresh: true },
  'POST /api/channels/{type}/{id}/hide/': { need: 'read', body: () => ({}), fresh: true },
  'POST /api/channels/{type}/{id}/show/': { need: 'read', body: () => ({}), fresh: true },
  'PATCH /api/channels/{type}/{id}/member/{user_id}/': { need: 'read', body: () => ({ set: { pinned: true } }),
    path: { user_id: (f, role) => f.users[role] } },
  // The caller's own membership (stream-chat's pin/archive without a user id).
  'PATCH /api/channels/{type}/{id}/member/': { need: 'read', body: () => ({ set: { pinned: true } }),
    query: (f, role) => ({ user_id: f.users[role] }) },
  'GET /api/members/': { need: 'read', query: (f) => ({ payload: { type: 'messaging', id: f.id, filter_conditions: {} } }) },
  'POST /api/channels/{type}/{id}/message/': { need: 'read', body: (f, role) => ({ message: { text: `hello from ${role}` } }) },
  'GET /api/channels/{type}/{id}/messages/': { need: 'read', query: (f) => ({ ids: f.message }) },
  'GET /api/channels/{type}/{id}/pinned_messages/': { need: 'read', query: () => ({ payload: {} }) },
  // Search answers anyone, but only from channels the caller may read.
  // Any caller's: a preview holds only what the page says. The page here is the fixture's image,
  // which nginx serves on loopback (the stack runs in development mode).
  // Reminders: the fixture's type (messaging) has none, so a reader is told so (400) where an
  // outsider is refused first (403/404); the allowed path is tests/contracts/reminders.test.mjs.
  'POST /api/messages/{id}/reminders/': { need: 'read', path: { id: (f) => f.message }, body: () => ({}), ok: [400] },
  'PATCH /api/messages/{id}/reminders/': { need: 'read', path: { id: (f) => f.message }, body: () => ({ remind_at: null }), ok: [400] },
  'DELETE /api/messages/{id}/reminders/': { need: 'read', path: { id: (f) => f.message }, ok: [404], deny: [403] },
  // Live locations: only a message's author moves its location, and the fixture's message is the
  // owner's (not one of the roles), so every role is refused.
  'PUT /api/users/live_locations/': { need: 'admin', body: (f) => ({ message_id: f.message, latitude: 1, longitude: 1 }), deny: [403, 404] },
  'GET /api/users/live_locations/': { need: 'own',
    check: (f, role, res) => assert.deepEqual(res.json.active_live_locations, [], res.text.slice(0, 200)) },
  'POST /api/reminders/query/': { need: 'own', body: () => ({}),
    check: (f, role, res) => assert.deepEqual(res.json.reminders, [], res.text.slice(0, 200)) },
  // Polls: the fixture's poll is the owner's, not sent (its type has no polls), so it is the
  // owner's alone: every role is told it does not exist. A vote names a message that carries no
  // poll: readers learn that (404), others are refused by the channel (403). The allowed paths
  // are tests/contracts/polls.test.mjs.
  'POST /api/polls/': { need: 'own', body: (f, role) => ({ name: `${role}'s poll`, options: [{ text: 'a' }] }) },
  'POST /api/polls/query/': { need: 'own', body: () => ({}),
    check: (f, role, res) => assert.equal(res.json.polls.some((p) => p.id === f.poll), false, res.text.slice(0, 200)) },
  'PUT /api/polls/': { need: 'admin', body: (f) => ({ id: f.poll, name: 'taken over' }), deny: [404] },
  'GET /api/polls/{id}/': { need: 'admin', path: { id: (f) => f.poll }, deny: [404] },
  'PATCH /api/polls/{id}/': { need: 'admin', path: { id: (f) => f.poll }, body: () => ({ set: { is_closed: true } }), deny: [404] },
  'DELETE /api/polls/{id}/': { need: 'admin', path: { id: (f) => f.poll }, deny: [404] },
  'POST /api/polls/{id}/options/': { need: 'admin', path: { id: (f) => f.poll }, body: () => ({ text: 'mine' }), deny: [404] },
  'PUT /api/polls/{id}/options/': { need: 'admin', path: { id: (f) => f.poll }, body: (f) => ({ id: f.pollOption, text: 'renamed' }), deny: [404] },
  'GET /api/polls/{id}/options/{option_id}/': { need: 'admin', path: { id: (f) => f.poll, option_id: (f) => f.pollOption }, deny: [404] },
  'DELETE /api/polls/{id}/options/{option_id}/': { need: 'admin', path: { id: (f) => f.poll, option_id: (f) => f.pollOption }, deny: [404] },
  'POST /api/polls/{id}/votes/': { need: 'admin', path: { id: (f) => f.poll }, body: () => ({}), deny: [404] },
  'POST /api/messages/{id}/polls/{poll_id}/vote/': { need: 'read', path: { id: (f) => f.message, poll_id: (f) => f.poll },
    body: (f) => ({ vote: { option_id: f.pollOption } }), ok: [404], deny: [403] },
  'DELETE /api/messages/{id}/polls/{poll_id}/vote/{vote_id}/': { need: 'read',
    path: { id: (f) => f.message, poll_id: (f) => f.poll, vote_id: 'none' }, ok: [404], deny: [403] },
  'GET /api/og/': { need: 'own', query: (f) => ({ url: f.image }),
    check: (f, role, res) => assert.equal(res.json.image_url, f.image, res.text.slice(0, 200)) },
  'GET /api/search/': { need: 'own', query: (f) => ({ payload: { filter_conditions: { cid: f.cid }, query: 'owner' } }),
    check: (f, role, res) => {
      const found = res.json.results.some((r) => r.message.id === f.message);
      assert.equal(found, role === 'member' || role === 'moderator', `${role}: found ${found} ${res.text.slice(0, 200)}`);
    } },
  // Uploads: members may upload; only the uploader (the owner here) or a moderator may delete.
  'POST /api/channels/{type}/{id}/image/': { need: 'read', upload: 'image' },
  'POST /api/channels/{type}/{id}/file/': { need: 'read', upload: 'file' },
  'DELETE /api/channels/{type}/{id}/image/': { need: 'mod', query: (f) => ({ url: f.image }), fresh: true,
    intact: async (f) => assert.equal((await fetch(f.image)).status, 200, 'the refused delete removed the image') },
  'DELETE /api/channels/{type}/{id}/file/': { need: 'mod', query: (f) => ({ url: f.file }), fresh: true,
    intact: async (f) => assert.equal((await fetch(f.file)).status, 200, 'the refused delete removed the file') },
  'GET /api/messages/{id}/': { need: 'read', path: { id: (f) => f.message } },
  'POST /api/messages/{id}/': { need: 'mod', body: () => ({ message: { text: 'edited by someone else' } }), path: { id: (f) => f.message }, fresh: true },
  'PUT /api/messages/{id}/': { need: 'mod', body: () => ({ set: { text: 'edited by someone else' } }), path: { id: (f) => f.message }, fresh: true },
  'DELETE /api/messages/{id}/': { need: 'mod', path: { id: (f) => f.message }, fresh: true },
  'GET /api/messages/{id}/replies/': { need: 'read', path: { id: (f) => f.message } },
  // The threads the caller takes part in: none of the four replied to the owner's thread.
  'POST /api/threads/': { need: 'own', body: () => ({}),
    check: (f, role, res) => {
      assert.equal(res.json.threads.some((t) => t.parent_message_id === f.message), false, `${role}: ${res.text.slice(0, 200)}`);
    } },
  'GET /api/threads/{id}/': { need: 'read', path: { id: (f) => f.message } },
  // Renaming the owner's thread is a moderator's power.
  'PATCH /api/threads/{id}/': { need: 'mod', body: (f, role) => ({ set: { title: `renamed by ${role}` } }), path: { id: (f) => f.message }, fresh: true },
  'POST /api/messages/{id}/reaction/': { need: 'read', body: () => ({ reaction: { type: 'love' } }), path: { id: (f) => f.message } },
  'DELETE /api/messages/{id}/reaction/{type}/': { need: 'read', path: { id: (f) => f.message, type: 'like' }, ok: [200, 404] },
  'POST /api/messages/{id}/reactions/': { need: 'read', body: () => ({}), path: { id: (f) => f.message } },
  'GET /api/messages/{id}/reactions/': { need: 'read', path: { id: (f) => f.message } },
  'POST /api/channels/{type}/{id}/read/': { need: 'read', body: () => ({}) },
  'POST /api/channels/{type}/{id}/unread/': { need: 'read', body: (f) => ({ message_id: f.message }) },
  'POST /api/channels/{type}/{id}/event/': { need: 'read', body: () => ({ event: { type: 'typing.start' } }) },
  'GET /api/unread/': { need: 'own' },
  'GET /api/users/': { need: 'own', query: (f) => ({ payload: { filter_conditions: { id: { $in: [f.users.owner] } } } }) },
  'POST /api/users/': { need: 'admin', body: (f) => ({ users: { [f.users.owner]: { id: f.users.owner, name: 'taken over', role: 'admin' } } }) },
  'PATCH /api/users/': { need: 'admin', body: (f) => ({ users: [{ id: f.users.owner, set: { name: 'taken over' } }] }) },
  'POST /api/guest/': { need: 'public', body: () => ({ user: { id: uniqueId('guest') } }), anonymous: true },
  'POST /api/moderation/mute/': { need: 'own', body: (f) => ({ target_id: f.users.victim }) },
  'POST /api/moderation/unmute/': { need: 'own', body: (f) => ({ target_id: f.users.victim }) },
  'POST /api/moderation/mute/channel/': { need: 'read', body: (f) => ({ channel_cid: f.cid }) },
  // Removes the caller's own mute, if any: allowed whatever the caller's standing.
  'POST /api/moderation/unmute/channel/': { need: 'own', body: (f) => ({ channel_cid: f.cid }) },
  'POST /api/users/block/': { need: 'own', body: (f) => ({ blocked_user_id: f.users.victim }) },
  'POST /api/users/unblock/': { need: 'own', body: (f) => ({ blocked_user_id: f.users.victim }) },
  'GET /api/users/block/': { need: 'own' },
  'POST /api/moderation/flag/': { need: 'read', body: (f) => ({ target_message_id: f.message }) },
  // Reviewing flags is an admin's: a moderator of one channel included, every user is refused.
  'GET /api/query_banned_users/': { need: 'admin', query: (f) => ({ payload: { filter_conditions: { channel_cid: f.cid } } }) },
  'GET /api/moderation/flags/message/': { need: 'admin', query: (f) => ({ payload: { filter_conditions: { channel_cid: f.cid } } }) },
  'POST /api/moderation/ban/': { need: 'mod', body: (f) => ({ target_user_id: f.users.victim, type: 'messaging', id: f.id }), fresh: true },
  'DELETE /api/moderation/ban/': { need: 'mod', query: (f) => ({ target_user_id: f.users.banned, type: 'messaging', id: f.id }), fresh: true },
  'POST /api/channels/{type}/{id}/draft/': { need: 'read', body: () => ({ message: { text: 'draft' } }) },
  'GET /api/channels/{type}/{id}/draft/': { need: 'read', ok: [200, 404] },
  'DELETE /api/channels/{type}/{id}/draft/': { need: 'read', ok: [200, 404] },
  'POST /api/drafts/query/': { need: 'own', body: () => ({}) },
  'POST /api/devices/': { need: 'own', body: (f, role) => ({ id: `dev-${f.id}-${role}`, push_provider: 'firebase' }) },
  'GET /api/devices/': { need: 'own' },
  // Another user's device: refused (401 "user_id does not match the token", 403) or not found for
  // this user (404); never removed.
  'DELETE /api/devices/': { need: 'admin', query: (f) => ({ id: `dev-${f.id}-owner`, user_id: f.users.owner }), deny: [401, 403, 404] },
  'GET /api/ws-auth/': { need: 'read', query: (f) => ({ cid: f.cid }) },
  'GET /api/connection-id/': { need: 'own', query: () => ({ session: 'tab-1' }) },
  'GET /api/register-subscriptions/': { need: 'own' },
  // Another user's subscriptions: refused whatever the caller's standing.
  'POST /api/register-subscriptions/': { need: 'admin', body: (f) => ({ user_id: f.users.owner, endpoint: 'https://fcm.googleapis.com/fcm/send/x', keys: { p256dh: 'x', auth: 'y' } }) },
  'DELETE /api/register-subscriptions/': { need: 'admin', query: (f) => ({ user_id: f.users.owner, endpoint: 'https://fcm.googleapis.com/fcm/send/x' }) },
  // Collaborative editing of the owner's message: another user's message needs update-any-message.
  'POST /api/editing-audit-state/': { need: 'mod', body: (f) => ({ cid: f.cid, message_id: f.message, state: 'editing' }) },
  'GET /api/editing-audit-state/': { need: 'read', query: (f) => ({ cid: f.cid, message_id: f.message }) },
  'GET {rooms}{cid}/config/': { need: 'read' },
  'GET {rooms}{cid}/messages/': { need: 'read' },
  'GET {rooms}{cid}/members/': { need: 'read' },
  'POST {rooms}{cid}/draft/': { need: 'read', body: () => ({ text: 'room draft' }) },
  'GET {rooms}{cid}/draft/': { need: 'read', ok: [200, 404] },
  'DELETE {rooms}{cid}/draft/': { need: 'read', ok: [200, 404] },
  'POST /internal/connect/': { need: 'internal', body: (f, role) => ({ user_id: f.users[role] }) },
  'POST /internal/rooms/{cid}/messages/': { need: 'internal', body: (f, role) => ({ user_id: f.users[role], message: { text: 'x' } }) },
  'POST /internal/rooms/{cid}/typing/': { need: 'internal', body: (f, role) => ({ user_id: f.users[role], type: 'typing.start' }) },
  'POST /internal/rooms/{cid}/events/': { need: 'internal', body: (f, role) => ({ user_id: f.users[role], since_seq: 0 }) },
};
const specKey = (method, pattern) => `${method} ${pattern.replace(/^\/(api\/)?rooms\//, '{rooms}')}`;

// A 1x1 PNG, for the upload routes.
const PNG = png(1, 1);

// A multipart upload as the SDK sends it (field "file"), for the spec's `upload` kind.
function upload(path, token, kind) {
  const form = new FormData();
  form.append('file', kind === 'image' ? new Blob([PNG], { type: 'image/png' }) : new Blob(['notes'], { type: 'text/plain' }),
    kind === 'image' ? 'x.png' : 'x.txt');
  return api('POST', path, { token, body: form });
}

// A members-only channel with an owner, a member, a channel moderator, a banned member and a
// bystander ("victim", the target of mutes, blocks and bans), and one message by the owner.
async function fixture() {
  const t = uniqueId('acl');
  const users = { owner: `${t}-owner`, member: `${t}-member`, moderator: `${t}-mod`, banned: `${t}-banned`, outsider: `${t}-out`, victim: `${t}-victim` };
  const server = await upsertUsers(...Object.values(users));
  const id = `${t}-ch`;
  const ch = server.channel('messaging', id, {
    members: [users.owner, users.member, users.moderator, users.banned, users.victim], created_by_id: users.owner,
  });
  await ch.create();
  await ch.addModerators([users.moderator]);
  await ch.banUser(users.banned, { banned_by_id: users.owner });
  const { message } = await ch.sendMessage({ text: 'the owner\'s message', user_id: users.owner });
  await ch.sendMessage({ text: 'the owner\'s reply', parent_id: message.id, user_id: users.owner });  // a thread
  await ch.sendReaction(message.id, { type: 'like', user_id: users.owner });
  await server.addDevice(`dev-${id}-owner`, 'firebase', users.owner);
  const image = (await ch.sendImage(PNG, 'owner.png', 'image/png', { id: users.owner })).file;
  const file = (await ch.sendFile(Buffer.from('the owner\'s notes'), 'owner.txt', 'text/plain', { id: users.owner })).file;
  const { poll } = await server.createPoll({ name: 'the owner\'s poll', options: [{ text: 'yes' }, { text: 'no' }] }, users.owner);
  return { id, cid: ch.cid, users, message: message.id, image, file, poll: poll.id, pollOption: poll.options[0].id };
}

function requestFor(spec, method, pattern, f, role) {
  let p = pattern;
  const params = { type: 'messaging', id: f.id, cid: f.cid, ...(spec.path ?? {}) };
  p = p.replace(/\{(\w+)\}/g, (_, name) => {
    const v = params[name];
    return encodeURIComponent(typeof v === 'function' ? v(f, role) : v);
  }).replace(/%3A/g, ':');
  return {
    path: p,
    body: spec.body ? spec.body(f, role) : (method === 'GET' || method === 'DELETE' ? undefined : {}),
    query: spec.query ? spec.query(f, role) : {},
  };
}

const ROLES = ['outsider', 'banned', 'member', 'moderator'];
const ALLOWED = {
  public: ROLES, own: ROLES, read: ['member', 'moderator'], mod: ['moderator'], admin: [], internal: [],
};

describe('access-control matrix: every route × outsider, banned member, member, moderator, other user\'s resource', () => {
  const routes = routeTable();
  it('the route table has a spec for every route, and no spec for a route that is gone', () => {
    const keys = new Set(routes.map(([m, p]) => specKey(m, p)));
    assert.deepEqual([...keys].filter((k) => !SPECS[k]), [], 'routes without an access-control spec');
    assert.deepEqual(Object.keys(SPECS).filter((k) => !keys.has(k)), [], 'specs without a route');
    assert.ok(routes.length >= 60, `${routes.length} routes`);
  });

  let shared;
  before(async () => { shared = await fixture(); });
  for (const [method, pattern] of routes) {
    const spec = SPECS[specKey(method, pattern)];
    if (!spec) continue;
    it(`${method} ${pattern} (${spec.need})`, async () => {
      const failures = [];
      for (const role of ROLES) {
        const f = spec.fresh ? await fixture() : shared;
        const req = requestFor(spec, method, pattern, f, role);
        const res = spec.upload ? await upload(req.path, userToken(f.users[role]), spec.upload) : await api(method, req.path, {
          token: spec.anonymous ? undefined : userToken(f.users[role]),
          headers: spec.anonymous ? { 'stream-auth-type': 'anonymous' } : {},
          body: req.body, query: req.query,
        });
        const allowed = ALLOWED[spec.need].includes(role);
        const okStatuses = spec.ok ?? [200, 201];
        const denyStatuses = spec.deny ?? (spec.need === 'internal' ? [401, 403] : spec.need === 'admin' ? [403] : [403, 404]);
        const good = allowed ? okStatuses.includes(res.status) : denyStatuses.includes(res.status);
        if (!good) failures.push(`${role}: ${res.status} ${res.text.slice(0, 160)}`);
        else if (spec.check && res.status < 300) {
          try { spec.check(f, role, res); } catch (err) { failures.push(`${role}: ${err.message}`); }
        } else if (spec.intact && !allowed) {
          try { await spec.intact(f); } catch (err) { failures.push(`${role}: ${err.message}`); }
        }
      }
      assert.deepEqual(failures, []);
    });
  }

  it('what was refused did not happen: the owner\'s message, name and device are intact', async () => {
    const server = serverClient();
    const { message } = await server.getMessage(shared.message);
    assert.equal(message.text, 'the owner\'s message');
    const { users } = await server.queryUsers({ id: shared.users.owner });
    assert.equal(users[0].name, shared.users.owner);
    assert.equal(users[0].role, 'user');
    const { devices } = await server.getDevices(shared.users.owner);
    assert.ok(devices.some((d) => d.id === `dev-${shared.id}-owner`));
    const { poll } = await server.getPoll(shared.poll);
    assert.equal(poll.name, 'the owner\'s poll');
    assert.equal(poll.is_closed, false);
    assert.deepEqual(poll.options.map((o) => o.text), ['yes', 'no']);
  });
});

// ---------------------------------------------------------------------------------------------
// SQL injection: every string field of every route's request, and every path parameter
// ---------------------------------------------------------------------------------------------

const PROBES = [
  "' OR '1'='1", "'; DROP TABLE users; --", '" OR ""="', "1; SELECT pg_sleep(5)--", "\\'; DELETE FROM messages; --",
  "$1", "%' AND 1=1 --", "') OR ('a'='a", "x'::text||(SELECT api_secret)--", '{"$gt": ""}',
];

// Every string leaf of a JSON value, as a path of keys.
function stringLeaves(value, at = []) {
  if (typeof value === 'string') return [at];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringLeaves(v, [...at, i]));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => stringLeaves(v, [...at, k]));
  return [];
}
function withLeaf(value, at, probe) {
  const copy = structuredClone(value);
  if (at.length === 0) return probe;
  let o = copy;
  for (const k of at.slice(0, -1)) o = o[k];
  o[at.at(-1)] = probe;
  return copy;
}

describe('SQL injection probes', () => {
  let f;
  before(async () => { f = await fixture(); });

  it('every string field of every route and every path parameter: no 5xx, the database intact', async () => {
    const cases = [];
    const routes = routeTable();
    for (const [method, pattern] of routes) {
      const spec = SPECS[specKey(method, pattern)];
      assert.ok(spec, `${method} ${pattern} has no spec`);
      // A route that changes its fixture (renames, edits, deletes, bans) gets one of its own, so
      // that `f` stays the witness that nothing was changed behind our back.
      const target = spec.fresh ? await fixture() : f;
      const req = requestFor(spec, method, pattern, target, 'moderator');
      const as = target.users.moderator;
      for (const probe of PROBES) {
        for (const at of stringLeaves(req.body ?? {})) cases.push({ as, method, path: req.path, body: withLeaf(req.body, at, probe), query: req.query, field: `body.${at.join('.')}` });
        for (const at of stringLeaves(req.query)) cases.push({ as, method, path: req.path, body: req.body, query: withLeaf(req.query, at, probe), field: `query.${at.join('.')}` });
        for (const name of pattern.match(/\{(\w+)\}/g) ?? []) {
          const p = requestFor({ ...spec, path: { ...(spec.path ?? {}), [name.slice(1, -1)]: probe } }, method, pattern, target, 'moderator').path;
          cases.push({ as, method, path: p, body: req.body, query: req.query, field: `path ${name}` });
        }
      }
    }
    assert.ok(cases.length > 500, `${cases.length} probes`);
    // A server token acting for the moderator: no per-user rate limit, admin rights reach every
    // query the route has, and it is what the gateways send to /internal/ (loopback only).
    const token = signToken({ server: true });
    const failures = [];
    const started = Date.now();
    for (let i = 0; i < cases.length; i += 16) {
      await Promise.all(cases.slice(i, i + 16).map(async (c) => {
        const query = { user_id: c.as, ...c.query };
        const body = c.body && typeof c.body === 'object' && !Array.isArray(c.body) ? { user_id: c.as, ...c.body } : c.body;
        const res = await api(c.method, c.path, { token, body, query });
        if (res.status >= 500 || res.json === null) failures.push(`${c.method} ${c.path} ${c.field}: ${res.status} ${res.text.slice(0, 120)}`);
      }));
    }
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} probes failed`);
    // No probe slept (pg_sleep) and every table is still there.
    assert.ok(Date.now() - started < 90000);
    const server = serverClient();
    const { message } = await server.getMessage(f.message);
    assert.equal(message.text, 'the owner\'s message');
  });

  it('probes stored as text come back verbatim', async () => {
    const ch = serverClient().channel('messaging', f.id);
    for (const probe of PROBES) {
      const { message } = await ch.sendMessage({ text: probe, user_id: f.users.member, probe_field: probe });
      const back = await serverClient().getMessage(message.id);
      assert.equal(back.message.text, probe);
      assert.equal(back.message.probe_field, probe);
    }
    // As values they match nothing; as field names they are refused, naming the field.
    const byValue = await api('POST', '/api/channels/', {
      token: userToken(f.users.member), body: { filter_conditions: { name: PROBES[0], color: { $in: PROBES } } },
    });
    assert.ok([200, 201].includes(byValue.status), byValue.text);
    assert.deepEqual(byValue.json.channels, []);
    const byName = await api('POST', '/api/channels/', {
      token: userToken(f.users.member), body: { filter_conditions: { [PROBES[1]]: { $eq: 'x' } } },
    });
    assert.equal(byName.status, 400, byName.text);
    assert.equal(byName.json.code, 4);
  });
});

// ---------------------------------------------------------------------------------------------
// Size limits and slow clients
// ---------------------------------------------------------------------------------------------

describe('size limits', () => {
  let f;
  before(async () => { f = await fixture(); });
  const send = (text) => api('POST', `/api/channels/messaging/${f.id}/message/`, { token: userToken(f.users.member), body: { message: { text } } });

  it('a body over 1 MiB is 413 (code 22)', async () => {
    const res = await send('x'.repeat(1100 * 1024));
    assert.equal(res.status, 413);
    assert.equal(res.json.code, 22);
  });
  it('message text over 5,000 characters is 400 (code 20); exactly 5,000 is accepted', async () => {
    const res = await send('é'.repeat(5001));
    assert.equal(res.status, 400);
    assert.equal(res.json.code, 20);
    assert.ok([200, 201].includes((await send('é'.repeat(5000))).status));
  });
  it('a token over 8 KiB is refused before it is parsed', async () => {
    const res = await api('GET', '/api/app/', { token: signToken({ user_id: f.users.member, pad: 'x'.repeat(9000) }) });
    assert.equal(res.status, 401);
  });
  it('filters: nesting deeper than 6, more than 100 conditions, lists over 1,000 items are 400', async () => {
    const q = (filter) => api('POST', '/api/channels/', { token: userToken(f.users.member), body: { filter_conditions: filter } });
    let deep = { type: 'messaging' };
    for (let i = 0; i < 8; i++) deep = { $and: [deep] };
    assert.equal((await q(deep)).status, 400);
    assert.equal((await q({ $or: Array.from({ length: 120 }, (_, i) => ({ name: `n${i}` })) })).status, 400);
    assert.equal((await q({ cid: { $in: Array.from({ length: 1200 }, (_, i) => `messaging:${i}`) } })).status, 400);
  });
  it('a request line or header block over nginx\'s limits is refused, not passed on', async () => {
    const res = await fetch(`${BASE_URL}/api/app/?api_key=${API_KEY}&pad=${'x'.repeat(70000)}`);
    assert.ok([400, 414].includes(res.status), String(res.status));
    assert.equal((await res.json()).code, 4);
    const headers = await fetch(`${BASE_URL}/api/health/`, { headers: { 'x-pad': 'x'.repeat(40000) } });
    assert.ok([400, 431, 494].includes(headers.status), String(headers.status));
  });
});

describe('slow clients', () => {
  it('connections that trickle their headers do not hold up anyone else', async () => {
    const url = new URL(BASE_URL);
    const slow = await Promise.all(Array.from({ length: 50 }, () => new Promise((resolve) => {
      const s = net.connect(Number(url.port), url.hostname, () => {
        s.write('GET /api/health/ HTTP/1.1\r\nHost: x\r\n');  // and never the end of the headers
        resolve(s);
      });
      s.on('error', () => {});
    })));
    const started = Date.now();
    const res = await fetch(`${BASE_URL}/api/health/`);
    assert.equal(res.status, 200);
    assert.ok(Date.now() - started < 1000, `${Date.now() - started} ms`);
    for (const s of slow) s.destroy();
  });
  it('a request body that never finishes does not tie up the workers', async () => {
    const url = new URL(BASE_URL);
    const slow = await Promise.all(Array.from({ length: 20 }, () => new Promise((resolve) => {
      const s = net.connect(Number(url.port), url.hostname, () => {
        s.write(`POST /api/sync/?api_key=${API_KEY} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"a":`);
        resolve(s);
      });
      s.on('error', () => {});
    })));
    // nginx buffers bodies before it hands a request to a worker: all workers stay free.
    const results = await Promise.all(Array.from({ length: 8 }, () => api('GET', '/api/app/', { token: userToken('alice') })));
    assert.ok(results.every((r) => r.status === 200));
    for (const s of slow) s.destroy();
  });
});

// ---------------------------------------------------------------------------------------------
// The WebSocket Origin allow-list, on a gateway of its own
// ---------------------------------------------------------------------------------------------

describe('WebSocket Origin allow-list (STREAMBED_ALLOWED_ORIGINS)', () => {
  let gateway;
  let port;
  before(async () => {
    // A free port of our own, then a gateway on it against the same Redis and workers.
    port = await new Promise((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = srv.address().port;
        srv.close(() => resolve(p));
      });
    });
    const build = process.env.STREAMBED_BUILD_DIR;
    const log = fs.openSync(path.join(RUN_DIR, 'logs', `gateway-origin-${port}.log`), 'a');
    gateway = spawn(path.join(build, 'ws-gateway', 'streambed-gateway'), [], {
      env: {
        ...process.env,
        STREAMBED_GATEWAY_LISTEN: `127.0.0.1:${port}`,
        STREAMBED_ALLOWED_ORIGINS: 'https://chat.example.com,https://app.example.org',
        STREAMBED_REDIS: `unix:${path.join(RUN_DIR, 'redis', 'redis.sock')}`,
        STREAMBED_API_URL: BASE_URL,
        STREAMBED_API_KEY: API_KEY,
        STREAMBED_API_SECRET: API_SECRET,
      },
      stdio: ['ignore', log, log],
    });
    const deadline = Date.now() + 15000;
    for (;;) {
      const up = await new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
        s.on('error', () => resolve(false));
      });
      if (up) break;
      if (Date.now() > deadline || gateway.exitCode !== null) throw new Error('the extra gateway did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    if (gateway && gateway.exitCode === null) {
      const exited = new Promise((r) => gateway.once('exit', r));
      gateway.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10000))]);
      if (gateway.exitCode === null) gateway.kill('SIGKILL');
    }
  });

  const direct = (query, origin) => new Promise((resolve) => {
    import('ws').then(({ default: WebSocket }) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${query}`, origin ? { headers: { origin } } : {});
      ws.once('open', () => ws.once('message', (d) => { ws.close(); resolve({ open: true, frame: JSON.parse(d.toString()) }); }));
      ws.once('unexpected-response', (req, res) => resolve({ open: false, status: res.statusCode }));
      ws.once('error', () => {});
    });
  });

  it('an Origin on the list opens /api/connect', async () => {
    const id = uniqueId('origin-ok');
    const r = await direct(connectQuery(id, userToken(id)), 'https://chat.example.com');
    assert.equal(r.open, true);
    assert.equal(r.frame.type, 'health.check');
  });
  it('any other Origin is refused with 403 before the upgrade, on /api/connect and /ws/<cid>/', async () => {
    const id = uniqueId('origin-bad');
    for (const origin of ['https://evil.example', 'https://chat.example.com.evil.example', 'null', 'http://chat.example.com']) {
      assert.deepEqual(await direct(connectQuery(id, userToken(id)), origin), { open: false, status: 403 }, origin);
      assert.deepEqual(await direct(`/ws/messaging:x/?auth=${userToken(id)}`, origin), { open: false, status: 403 }, origin);
    }
  });
  it('a client that sends no Origin (not a browser) is not subject to it', async () => {
    const id = uniqueId('origin-none');
    const r = await direct(connectQuery(id, userToken(id)));
    assert.equal(r.open, true);
  });
});
