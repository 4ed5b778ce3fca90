// Issue 2, the foundation: health, the SDK's warm-up call, trailing slashes, error envelopes, CORS,
// the signed WebSocket ticket, and the /api/connect handshake driven by the real stream-chat SDK.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { StreamChat } from 'stream-chat';

import {
  API_KEY, BASE_URL, addTrailingSlash, api, connectQuery, connectUser, upsertUsers, openSocket, signToken, uniqueId, userToken,
} from './lib/streambed.mjs';

function assertEnvelope(res, status, code) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json?.StatusCode, status, res.text);
  assert.equal(res.json.code, code, res.text);
  assert.equal(typeof res.json.message, 'string');
  assert.match(res.json.duration, /^\d+(\.\d+)?ms$/);
  assert.ok('more_info' in res.json);
}

const now = () => Math.floor(Date.now() / 1000);

describe('health', () => {
  it('GET /api/health/ is 200 with PostgreSQL, Redis and the gateways up', async () => {
    const res = await api('GET', '/api/health/');
    assert.equal(res.status, 200);
    assert.deepEqual([res.json.postgres, res.json.redis, res.json.gateway], ['up', 'up', 'up']);
    assert.ok(res.json.gateways >= 2, 'scripts start two gateways');
  });
});

describe('warm-up', () => {
  it('a client with warmUp calls GET /hi while it connects, and gets 200', async () => {
    const user = uniqueId('warm');
    const client = addTrailingSlash(new StreamChat(API_KEY, { baseURL: `${BASE_URL}/api`, warmUp: true, allowServerSideConnect: true }));
    const seen = [];
    client.axiosInstance.interceptors.response.use((res) => {
      seen.push([res.config.url, res.status]);
      return res;
    });
    try {
      await client.connectUser({ id: user }, userToken(user));
      const deadline = Date.now() + 5000;
      while (!seen.some(([url]) => /\/hi\/$/.test(url)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(seen.filter(([url]) => /\/hi\/$/.test(url)).map(([, status]) => status), [200]);
    } finally {
      await client.disconnectUser();
    }
  });
});

describe('trailing slashes and nginx rules', () => {
  it('GET without the slash is 301 to the slash, query kept', async () => {
    const res = await fetch(`${BASE_URL}/api/ws-auth?cid=messaging:x&y=%20z`, { redirect: 'manual' });
    assert.equal(res.status, 301);
    assert.equal(res.headers.get('location'), '/api/ws-auth/?cid=messaging:x&y=%20z');
  });
  it('HEAD without the slash is 301', async () => {
    const res = await fetch(`${BASE_URL}/api/health`, { method: 'HEAD', redirect: 'manual' });
    assert.equal(res.status, 301);
  });
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    it(`${method} without the slash is 308 (keeps method and body)`, async () => {
      const res = await fetch(`${BASE_URL}/api/channels?x=1`, { method, redirect: 'manual', body: method === 'DELETE' ? undefined : '{}' });
      assert.equal(res.status, 308);
      assert.equal(res.headers.get('location'), '/api/channels/?x=1');
    });
  }
  it('/api itself is redirected like any route', async () => {
    const get = await fetch(`${BASE_URL}/api`, { redirect: 'manual' });
    assert.equal(get.status, 301);
    assert.equal(get.headers.get('location'), '/api/');
    const post = await fetch(`${BASE_URL}/api`, { method: 'POST', redirect: 'manual' });
    assert.equal(post.status, 308);
  });
  it('a CORS preflight is answered on paths with and without the slash, never redirected', async () => {
    for (const path of ['/api/channels', '/api/channels/', '/api/connect']) {
      const res = await fetch(`${BASE_URL}${path}`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,stream-auth-type' },
      });
      assert.equal(res.status, 204, path);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.match(res.headers.get('access-control-allow-methods'), /PATCH/);
      for (const h of ['authorization', 'stream-auth-type', 'x-stream-client', 'x-client-request-id', 'content-type']) {
        assert.match(res.headers.get('access-control-allow-headers'), new RegExp(h));
      }
    }
  });
  it('ordinary responses carry the CORS origin too', async () => {
    const res = await fetch(`${BASE_URL}/api/health/`);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
  });
});

describe('error envelope', () => {
  it('unknown route → 404 envelope', async () => {
    assertEnvelope(await api('GET', '/api/no-such-route/'), 404, 16);
  });
  it('unknown path outside the API → 404 envelope from nginx', async () => {
    assertEnvelope(await api('GET', '/no-such-file.txt'), 404, 16);
  });
  it('wrong method → 405 envelope with Allow', async () => {
    const res = await api('DELETE', '/api/health/');
    assertEnvelope(res, 405, 4);
    assert.equal(res.headers.get('allow'), 'GET');
  });
  it('malformed query string → 400 envelope', async () => {
    const res = await fetch(`${BASE_URL}/api/ws-auth/?cid=%zz`);
    assert.equal(res.status, 400);
    assert.equal((await res.json()).code, 4);
  });
  it('body over 1 MiB → 413 envelope (code 22)', async () => {
    const res = await fetch(`${BASE_URL}/api/channels/`, { method: 'POST', body: 'x'.repeat(1024 * 1024 + 10) });
    assert.equal(res.status, 413);
    const json = await res.json();
    assert.equal(json.code, 22);
    assert.equal(json.StatusCode, 413);
  });
  it('every error names itself as JSON, whatever the extension of the path', async () => {
    for (const p of ['/api/no-such-route/', '/no-such-file.txt', '/missing.html', '/nothing.js']) {
      const res = await api('GET', p);
      assert.match(res.headers.get('content-type'), /application\/json/, p);
    }
  });
});

describe('GET /api/ws-auth/', () => {
  it('200 {auth, expires} with a valid token', async () => {
    const res = await api('GET', '/api/ws-auth/', { token: userToken('alice') });
    assert.equal(res.status, 200, res.text);
    assert.equal(typeof res.json.auth, 'string');
    assert.ok(res.json.expires > now() && res.json.expires <= now() + 601);
    assert.equal(res.json.url, undefined);
  });
  it('with cid, also the ws:// url of the room socket; 403 for a room the user cannot read, 404 for none', async () => {
    const user = uniqueId('wsa');
    const server = await upsertUsers(user);
    const room = server.channel('messaging', uniqueId('wsa-room'), { members: [user], created_by_id: user });
    await room.create();
    const res = await api('GET', '/api/ws-auth/', { token: userToken(user), query: { cid: room.cid } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.url, `${BASE_URL.replace('http', 'ws')}/ws/${room.cid}/?auth=${res.json.auth}`);
    assert.equal((await api('GET', '/api/ws-auth/', { token: userToken('alice'), query: { cid: room.cid } })).status, 403);
    assert.equal((await api('GET', '/api/ws-auth/', { token: userToken(user), query: { cid: 'messaging:none-here' } })).status, 404);
  });
  it('a bad cid is 400', async () => {
    assertEnvelope(await api('GET', '/api/ws-auth/', { token: userToken('alice'), query: { cid: 'nocolon' } }), 400, 4);
  });
  it('401 without a token', async () => {
    assertEnvelope(await api('GET', '/api/ws-auth/'), 401, 3);
  });
  const tampered = () => {
    const [h, , s] = userToken('alice').split('.');
    return `${h}.${Buffer.from(JSON.stringify({ user_id: 'admin' })).toString('base64url')}.${s}`;
  };
  const forged = {
    tampered,
    'wrong key': () => signToken({ user_id: 'alice' }, { secret: 'x'.repeat(40) }),
    'alg none': () => `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"user_id":"alice"}').toString('base64url')}.`,
    'alg RS256': () => signToken({ user_id: 'alice' }, { header: { alg: 'RS256', typ: 'JWT' } }),
    truncated: () => userToken('alice').slice(0, -10),
    'two parts': () => userToken('alice').split('.').slice(0, 2).join('.'),
    '64 KB': () => signToken({ user_id: 'alice', pad: 'x'.repeat(20000) }),
    expired: () => userToken('alice', { exp: now() - 60 }),
    'not yet valid': () => userToken('alice', { nbf: now() + 600 }),
    'no user_id': () => signToken({ role: 'admin' }),
    garbage: () => '%%%.***.!!!',
  };
  for (const [name, make] of Object.entries(forged)) {
    it(`403 with a ${name} token`, async () => {
      const res = await api('GET', '/api/ws-auth/', { token: make() });
      assert.equal(res.status, 403, res.text);
      assert.equal(res.json.StatusCode, 403);
    });
  }
  it('a ticket cannot be used as a REST token', async () => {
    const ticket = (await api('GET', '/api/ws-auth/', { token: userToken('alice') })).json.auth;
    assert.equal((await api('GET', '/api/ws-auth/', { token: ticket })).status, 403);
  });
  it('a "Bearer " prefix is accepted', async () => {
    assert.equal((await api('GET', '/api/ws-auth/', { token: `Bearer ${userToken('alice')}` })).status, 200);
  });
  it('a token expired beyond the 5 s leeway is refused, one within it accepted', async () => {
    assert.equal((await api('GET', '/api/ws-auth/', { token: userToken('alice', { exp: now() - 2 }) })).status, 200);
    assert.equal((await api('GET', '/api/ws-auth/', { token: userToken('alice', { exp: now() - 30 }) })).status, 403);
  });
});

describe('/api/connect with the stream-chat SDK', () => {
  it('connectUser resolves with a connection id and a complete `me`', async () => {
    const id = uniqueId('connect');
    const client = await connectUser(id, { name: 'Connie' });
    try {
      assert.match(client.connectionID ?? client.wsConnection?.connectionID ?? '', /^\d+$/);
      const me = client.user;
      assert.equal(me.id, id);
      assert.equal(me.name, 'Connie');
      assert.deepEqual(me.mutes, []);
      assert.deepEqual(me.channel_mutes, []);
      assert.deepEqual(me.devices, []);
      assert.equal(me.total_unread_count, 0);
      assert.equal(me.unread_channels, 0);
      assert.equal(me.online, true);
      assert.match(me.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    } finally {
      await client.disconnectUser();
    }
  });

  it('a tampered token is refused with code 43 and no retry', async () => {
    const id = uniqueId('tamper');
    const good = userToken(id);
    const [h, p] = good.split('.');
    await assert.rejects(connectUser(id, { token: `${h}.${p}.${'A'.repeat(43)}` }), (err) => {
      assert.match(String(err.message ?? err), /43|signature/);
      return true;
    });
  });

  it('an expired token is refused with code 40', async () => {
    const id = uniqueId('expired');
    const frames = await openSocket(connectQuery(id, userToken(id, { exp: now() - 60 })));
    const frame = await frames.waitFor((f) => f.error);
    assert.equal(frame.error.code, 40);
    assert.equal(frame.error.StatusCode, 401);
    assert.equal((await frames.waitClose()).code, 1000);
  });

  it('a valid token for another user_id is refused', async () => {
    const frames = await openSocket(connectQuery('bob', userToken('alice')));
    const frame = await frames.waitFor((f) => f.error);
    assert.equal(frame.error.StatusCode, 401);
    assert.equal((await frames.waitClose()).code, 1000);
  });

  it('a wrong api_key is refused with code 2', async () => {
    const frames = await openSocket(connectQuery('alice', userToken('alice'), { apiKey: 'nope' }));
    assert.equal((await frames.waitFor((f) => f.error)).error.code, 2);
  });

  it('the first frame is health.check with connection_id and me; the array ping is answered', async () => {
    const id = uniqueId('ping');
    const ws = await openSocket(connectQuery(id, userToken(id)));
    const first = await ws.waitFor((f) => f.type === 'health.check');
    assert.match(first.connection_id, /^\d+$/);
    assert.equal(first.cid, '*');
    assert.equal(first.me.id, id);
    ws.send(JSON.stringify([{ type: 'health.check', client_id: `${id}--x` }]));
    const reply = await ws.waitFor((f) => f.type === 'health.check' && f !== first);
    assert.equal(reply.connection_id, first.connection_id);
    assert.equal(reply.me, undefined);
    ws.close();
  });

  it('connection ids are unique across connections of the same user', async () => {
    const id = uniqueId('twice');
    const [a, b] = await Promise.all([openSocket(connectQuery(id, userToken(id))), openSocket(connectQuery(id, userToken(id)))]);
    const [fa, fb] = await Promise.all([a.waitFor((f) => f.connection_id), b.waitFor((f) => f.connection_id)]);
    assert.notEqual(fa.connection_id, fb.connection_id);
    a.close();
    b.close();
  });

  it('garbage and binary frames do not close the SDK socket', async () => {
    const id = uniqueId('garbage');
    const ws = await openSocket(connectQuery(id, userToken(id)));
    await ws.waitFor((f) => f.type === 'health.check');
    ws.send('this is not json');
    ws.send(Buffer.from([1, 2, 3]));
    await new Promise((r) => setTimeout(r, 1100));  // past the ping-reply rate limit
    ws.send(JSON.stringify([{ type: 'health.check' }]));
    await ws.waitFor((f, i) => f.type === 'health.check' && ws.frames.indexOf(f) > 0);
    assert.equal(ws.closeInfo, null);
    ws.close();
  });

  it('a frame over the size limit closes the socket with 1009', async () => {
    const id = uniqueId('huge');
    const ws = await openSocket(connectQuery(id, userToken(id)));
    await ws.waitFor((f) => f.type === 'health.check');
    ws.send('x'.repeat(200 * 1024));
    assert.equal((await ws.waitClose()).code, 1009);
  });
});

describe('/ws/<cid>/ room socket handshake', () => {
  it('401 without a ticket', async () => {
    await assert.rejects(openSocket('/ws/messaging:general/'), (e) => e.status === 401);
  });
  it('403 with a tampered ticket', async () => {
    await assert.rejects(openSocket('/ws/messaging:general/?auth=a.b.c'), (e) => e.status === 403);
  });
  it('403 with a ticket scoped to another room', async () => {
    const user = uniqueId('scope');
    const server = await upsertUsers(user);
    const rooms = [uniqueId('scope-a'), uniqueId('scope-b')].map((id) =>
      server.channel('messaging', id, { members: [user], created_by_id: user }));
    await Promise.all(rooms.map((r) => r.create()));
    const ticket = (await api('GET', '/api/ws-auth/', { token: userToken(user), query: { cid: rooms[0].cid } })).json.auth;
    await assert.rejects(openSocket(`/ws/${rooms[1].cid}/?auth=${ticket}`), (e) => e.status === 403);
    const ok = await openSocket(`/ws/${rooms[0].cid}/?auth=${ticket}`);
    await ok.waitFor((f) => f.type === 'connection.ok');
    ok.close();
  });
  it('a browser Origin is accepted when no allow-list is configured', async () => {
    // The test stack leaves STREAMBED_ALLOWED_ORIGINS unset; the allow-list itself is unit-tested.
    const id = uniqueId('origin');
    const ws = await openSocket(connectQuery(id, userToken(id)), { headers: { origin: 'https://anything.example' } });
    await ws.waitFor((f) => f.type === 'health.check');
    ws.close();
  });
});

describe('keys', () => {
  it('the test stack is configured with the generated API key', () => {
    assert.match(API_KEY, /^[0-9a-f]{16}$/);
  });
});
