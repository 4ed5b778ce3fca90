// Issue 6, Web Push: /api/register-subscriptions/ (API.md §3) with every validation rule and the
// SSRF refusals, getstream.io's /api/devices/ (STREAM-PROTOCOL.md §4.5), and the delivery
// pipeline end to end: a job on the Redis queue → streambed-push → a push service played by a
// local Node server, which checks the RFC 8030 headers, verifies the RFC 8292 VAPID token with
// the served public key and decrypts the RFC 8291 body with the subscription's private key
// (http_ece). Retries, 404/410 handling and key rotation are driven through the same receiver.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { api, connectUser, createUsers, redis, serverClient, signToken, uniqueId, userToken } from './lib/streambed.mjs';

const require = createRequire(import.meta.url);
const ece = require('http_ece');
const execFileP = promisify(execFile);

const RUN = process.env.STREAMBED_RUN_DIR;
const BUILD = process.env.STREAMBED_BUILD_DIR;
const SUBJECT = process.env.STREAMBED_VAPID_SUBJECT;
const RETRY_BASE_MS = Number(process.env.STREAMBED_PUSH_RETRY_BASE_MS ?? 1000);
const MAX_ATTEMPTS = Number(process.env.STREAMBED_PUSH_MAX_ATTEMPTS ?? 5);
const TIMEOUT_MS = Number(process.env.STREAMBED_PUSH_TIMEOUT_MS ?? 10000);
if (!RUN || !BUILD || !SUBJECT) throw new Error('run through scripts/test (STREAMBED_RUN_DIR/_BUILD_DIR/_VAPID_SUBJECT unset)');

const ROUTE = '/api/register-subscriptions/';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- helpers ------------------------------------------------------------------------------------

// A browser's side of a subscription: its ECDH key pair and auth secret.
function newBrowser() {
  const ecdh = crypto.createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = crypto.randomBytes(16);
  return { ecdh, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') } };
}

function subscribe(userId, endpoint, browser = newBrowser(), extra = {}) {
  return api('POST', ROUTE, { token: userToken(userId), body: { endpoint, expirationTime: null, keys: browser.keys, ...extra } });
}

async function listSubscriptions(userId) {
  const res = await api('GET', ROUTE, { token: userToken(userId) });
  assert.equal(res.status, 200, res.text);
  return res.json;
}

// A job exactly as EnqueueMessagePush writes it (common/push_queue.h, docs/push.md).
async function enqueue(recipient, { text = 'hello', messageId = crypto.randomUUID(), cid = 'messaging:push-test' } = {}) {
  const job = { v: 1, recipient_id: recipient, cid, message_id: messageId, text, user: { id: 'sender-1', name: 'Sender One' }, queued_at: Date.now() };
  await redis('LPUSH', 'sb:push:queue', JSON.stringify(job));
  return { cid, message_id: messageId };
}

function streambedApi(...args) {
  return execFileP(`${BUILD}/fcgi-app/streambed-api`, args, { env: process.env });
}

async function until(what, predicate, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

// A push service on 127.0.0.1: records every request and answers from a per-path script
// ([{status, headers}] or {destroy: true} or {stall: true}); 201 when the script is used up.
async function startPushService({ tls = false } = {}) {
  const requests = [];
  const scripts = new Map();
  const handler = (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks), at: Date.now() });
      const step = scripts.get(req.url)?.shift() ?? { status: 201 };
      if (step.destroy) return req.socket.destroy();
      if (step.stall) return undefined;  // never answers: the sender's timeout must cut it off
      res.writeHead(step.status, step.headers ?? {});
      res.end();
    });
  };
  const server = tls
    ? https.createServer({ key: fs.readFileSync(`${RUN}/tls/key.pem`), cert: fs.readFileSync(`${RUN}/tls/cert.pem`) }, handler)
    : http.createServer(handler);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const origin = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    origin,
    endpoint: (path) => `${origin}${path}`,
    script: (path, steps) => scripts.set(path, [...steps]),
    at: (path) => requests.filter((r) => r.path === path),
    waitFor: (path, count, timeoutMs = 10000) => until(`${count} request(s) on ${path}`, () => {
      const got = requests.filter((r) => r.path === path);
      return got.length >= count ? got : null;
    }, timeoutMs),
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}

function verifyEs256(jwt, publicKeyB64) {
  const [h, p, s] = jwt.split('.');
  const raw = Buffer.from(publicKeyB64, 'base64url');
  const key = crypto.createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') },
    format: 'jwk',
  });
  return crypto.verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'));
}

// Checks one push request the way a push service and then the browser would, and returns the
// decrypted payload.
function openPush(request, browser, { vapidKey, audience }) {
  assert.equal(request.method, 'POST');
  assert.equal(request.headers['content-encoding'], 'aes128gcm');
  assert.equal(request.headers['content-type'], 'application/octet-stream');
  assert.match(request.headers.ttl, /^\d+$/);
  assert.ok(Number(request.headers.ttl) > 0 && Number(request.headers.ttl) <= 86400, request.headers.ttl);
  assert.equal(request.headers.urgency, 'normal');
  const m = /^vapid t=([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+), k=([A-Za-z0-9_-]+)$/.exec(request.headers.authorization);
  assert.ok(m, `Authorization: ${request.headers.authorization}`);
  const [, jwt, k] = m;
  assert.equal(k, vapidKey, 'k is the key served as vapid_public_key');
  assert.ok(verifyEs256(jwt, k), 'the VAPID token verifies with the public key');
  const [h, p] = jwt.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url')));
  assert.deepEqual(h, { typ: 'JWT', alg: 'ES256' });
  assert.equal(p.aud, audience);
  assert.equal(p.sub, SUBJECT);
  const now = Math.floor(Date.now() / 1000);
  assert.ok(p.exp > now && p.exp <= now + 24 * 3600, `exp ${p.exp} within 24 h`);

  assert.ok(request.body.length <= 4096);
  assert.equal(request.body.readUInt32BE(16), 4096, 'record size');
  assert.equal(request.body[20], 65, 'key id: the ephemeral public key');
  const plaintext = ece.decrypt(request.body, { version: 'aes128gcm', privateKey: browser.ecdh, authSecret: browser.keys.auth });
  return JSON.parse(plaintext.toString('utf8'));
}

function assertBadRequest(res, field) {
  assert.equal(res.status, 400, res.text);
  assert.equal(res.json.code, 4);
  assert.equal(res.json.StatusCode, 400);
  assert.ok(res.json.exception_fields && field in res.json.exception_fields, `names ${field}: ${res.text}`);
}

// ---- /api/register-subscriptions/ ---------------------------------------------------------------

describe('/api/register-subscriptions/', () => {
  const endpoint = (name) => `https://fcm.googleapis.com/fcm/send/${name}-${crypto.randomUUID()}`;

  it('GET serves the VAPID public key (a P-256 point) and the caller’s subscriptions', async () => {
    const body = await listSubscriptions(uniqueId('list'));
    assert.deepEqual(body.subscriptions, []);
    assert.match(body.vapid_public_key, /^[A-Za-z0-9_-]{87}$/);
    const raw = Buffer.from(body.vapid_public_key, 'base64url');
    assert.equal(raw.length, 65);
    assert.equal(raw[0], 4);
    // Node refuses a point that is not on the curve.
    crypto.createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') }, format: 'jwk' });
  });

  it('POST a new subscription is 201, the same again 200; GET lists it', async () => {
    const user = uniqueId('sub');
    const url = endpoint('a');
    const browser = newBrowser();
    const first = await subscribe(user, url, browser);
    assert.equal(first.status, 201, first.text);
    assert.deepEqual(Object.keys(first.json.subscription).sort(), ['created_at', 'endpoint', 'id']);
    assert.equal(first.json.subscription.endpoint, url);
    assert.match(first.json.subscription.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.match(first.json.duration, /ms$/);
    const again = await subscribe(user, url, browser);
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.json.subscription, first.json.subscription);
    // New keys for a known endpoint (the browser renewed them): still the same subscription.
    const renewed = await subscribe(user, url, newBrowser());
    assert.equal(renewed.status, 200);
    assert.equal(renewed.json.subscription.id, first.json.subscription.id);
    assert.deepEqual((await listSubscriptions(user)).subscriptions, [first.json.subscription]);
  });

  it('padded base64url keys and a numeric expirationTime are accepted', async () => {
    const user = uniqueId('pad');
    const browser = newBrowser();
    const keys = { p256dh: `${browser.keys.p256dh}=`, auth: `${browser.keys.auth}==` };
    const res = await api('POST', ROUTE, { token: userToken(user), body: { endpoint: endpoint('pad'), expirationTime: Date.now() + 86400000, keys } });
    assert.equal(res.status, 201, res.text);
  });

  it('an endpoint registered by another user moves to the new user (201 for them)', async () => {
    const [alice, bob] = [uniqueId('alice'), uniqueId('bob')];
    const url = endpoint('shared');
    assert.equal((await subscribe(alice, url)).status, 201);
    const moved = await subscribe(bob, url);
    assert.equal(moved.status, 201, moved.text);
    assert.deepEqual((await listSubscriptions(alice)).subscriptions, []);
    assert.equal((await listSubscriptions(bob)).subscriptions.length, 1);
  });

  it('DELETE ?endpoint= removes it, is idempotent, and never touches another user’s', async () => {
    const [owner, other] = [uniqueId('owner'), uniqueId('other')];
    const url = endpoint('del');
    assert.equal((await subscribe(owner, url)).status, 201);
    const foreign = await api('DELETE', ROUTE, { token: userToken(other), query: { endpoint: url } });
    assert.equal(foreign.status, 200);
    assert.equal((await listSubscriptions(owner)).subscriptions.length, 1);
    const del = await api('DELETE', ROUTE, { token: userToken(owner), query: { endpoint: url } });
    assert.equal(del.status, 200, del.text);
    assert.deepEqual((await listSubscriptions(owner)).subscriptions, []);
    assert.equal((await api('DELETE', ROUTE, { token: userToken(owner), query: { endpoint: url } })).status, 200);
    assertBadRequest(await api('DELETE', ROUTE, { token: userToken(owner) }), 'endpoint');
    assertBadRequest(await api('DELETE', ROUTE, { token: userToken(owner), query: { endpoint: `https://x.example/${'a'.repeat(2100)}` } }), 'endpoint');
  });

  it('401 without a token, 403 with a bad one (every method)', async () => {
    for (const method of ['GET', 'POST', 'DELETE']) {
      const none = await api(method, ROUTE, { body: method === 'POST' ? {} : undefined });
      assert.equal(none.status, 401, `${method}: ${none.text}`);
      const bad = await api(method, ROUTE, { token: signToken({ user_id: 'alice' }, { secret: 'y'.repeat(40) }) });
      assert.equal(bad.status, 403, `${method}: ${bad.text}`);
      assert.equal(bad.json.StatusCode, 403);
    }
  });

  it('a user token may not act for another user (403); a server token acts for user_id', async () => {
    const user = uniqueId('srv');
    const browser = newBrowser();
    const forged = await api('POST', ROUTE, { token: userToken(uniqueId('x')), body: { user_id: user, endpoint: endpoint('f'), keys: browser.keys } });
    assert.equal(forged.status, 403, forged.text);
    const server = signToken({ server: true });
    assertBadRequest(await api('POST', ROUTE, { token: server, body: { endpoint: endpoint('s'), keys: browser.keys } }), 'user_id');
    const res = await api('POST', ROUTE, { token: server, body: { user_id: user, endpoint: endpoint('s'), keys: browser.keys } });
    assert.equal(res.status, 201, res.text);
    const list = await api('GET', ROUTE, { token: server, query: { user_id: user } });
    assert.equal(list.json.subscriptions.length, 1);
  });

  it('keeps at most 25 subscriptions per user, dropping the oldest', async () => {
    const user = uniqueId('cap');
    const urls = [];
    for (let i = 0; i < 26; i++) {
      urls.push(endpoint(`cap${i}`));
      assert.equal((await subscribe(user, urls[i])).status, 201);
    }
    const listed = (await listSubscriptions(user)).subscriptions.map((s) => s.endpoint);
    assert.equal(listed.length, 25);
    assert.ok(!listed.includes(urls[0]));
    assert.ok(listed.includes(urls[25]));
  });

  describe('validation: 400 naming the field', () => {
    const good = newBrowser().keys;
    const point = Buffer.from(good.p256dh, 'base64url');
    const offCurve = Buffer.from(point);
    offCurve[64] ^= 1;
    const compressed = Buffer.concat([Buffer.from([2 + (point[64] & 1)]), point.subarray(1, 33)]);
    const cases = {
      'no endpoint': [{ keys: good }, 'endpoint'],
      'endpoint not a string': [{ endpoint: 42, keys: good }, 'endpoint'],
      'endpoint not a URL': [{ endpoint: 'fcm.googleapis.com/x', keys: good }, 'endpoint'],
      'ftp endpoint': [{ endpoint: 'ftp://push.example.com/x', keys: good }, 'endpoint'],
      'plain http to a public host': [{ endpoint: 'http://fcm.googleapis.com/fcm/send/x', keys: good }, 'endpoint'],
      'user info': [{ endpoint: 'https://user:pass@fcm.googleapis.com/x', keys: good }, 'endpoint'],
      'user info hiding a host': [{ endpoint: 'https://fcm.googleapis.com@10.0.0.1/x', keys: good }, 'endpoint'],
      'a space': [{ endpoint: 'https://fcm.googleapis.com/a b', keys: good }, 'endpoint'],
      'a fragment': [{ endpoint: 'https://fcm.googleapis.com/a#b', keys: good }, 'endpoint'],
      'a backslash': [{ endpoint: 'https://fcm.googleapis.com\\@10.0.0.1/', keys: good }, 'endpoint'],
      'a bad port': [{ endpoint: 'https://fcm.googleapis.com:99999/x', keys: good }, 'endpoint'],
      'over 2048 bytes': [{ endpoint: `https://fcm.googleapis.com/${'a'.repeat(2048)}`, keys: good }, 'endpoint'],
      'no keys': [{ endpoint: 'https://fcm.googleapis.com/x' }, 'keys'],
      'keys not an object': [{ endpoint: 'https://fcm.googleapis.com/x', keys: 'k' }, 'keys'],
      'no p256dh': [{ endpoint: 'https://fcm.googleapis.com/x', keys: { auth: good.auth } }, 'keys.p256dh'],
      'p256dh not base64url': [{ endpoint: 'https://fcm.googleapis.com/x', keys: { ...good, p256dh: 'a+b/c' } }, 'keys.p256dh'],
      'p256dh off the curve': [{ endpoint: 'https://fcm.googleapis.com/x', keys: { ...good, p256dh: offCurve.toString('base64url') } }, 'keys.p256dh'],
      'p256dh compressed': [{ endpoint: 'https://fcm.googleapis.com/x', keys: { ...good, p256dh: compressed.toString('base64url') } }, 'keys.p256dh'],
      'p256dh 64 bytes': [{ endpoint: 'https://fcm.googleapis.com/x', keys: { ...good, p256dh: point.subarray(1).toString('base64url') } }, 'keys.p256dh'],
      'p256dh huge': [{ endpoint: 'https://fcm.googleapis.com/x', keys: { ...good, p256dh: 'A'.repeat(5000) } }, 'keys.p256dh'],
      'no auth': [{ endpoint: 'https://fcm.googleapis.com/x', keys: { p256dh: good.p256dh } }, 'keys.auth'],
      'auth 15 bytes': [{ endpoint: 'https://fcm.googleapis.com/x', keys: { ...good, auth: crypto.randomBytes(15).toString('base64url') } }, 'keys.auth'],
      'auth 17 bytes': [{ endpoint: 'https://fcm.googleapis.com/x', keys: { ...good, auth: crypto.randomBytes(17).toString('base64url') } }, 'keys.auth'],
      'auth a number': [{ endpoint: 'https://fcm.googleapis.com/x', keys: { ...good, auth: 16 } }, 'keys.auth'],
      'expirationTime a string': [{ endpoint: 'https://fcm.googleapis.com/x', expirationTime: 'tomorrow', keys: good }, 'expirationTime'],
      'expirationTime negative': [{ endpoint: 'https://fcm.googleapis.com/x', expirationTime: -1, keys: good }, 'expirationTime'],
    };
    for (const [name, [body, field]] of Object.entries(cases)) {
      it(name, async () => assertBadRequest(await api('POST', ROUTE, { token: userToken(uniqueId('v')), body }), field));
    }
    it('a body that is not JSON', async () => {
      const res = await fetch(`${process.env.STREAMBED_URL}${ROUTE}`, {
        method: 'POST', headers: { authorization: userToken('v'), 'content-type': 'application/json' }, body: '{"endpoint":',
      });
      assert.equal(res.status, 400);
    });
  });

  describe('no server-side request forgery: internal addresses are refused', () => {
    const targets = [
      'https://10.0.0.1/push', 'https://172.16.5.4/push', 'https://192.168.0.1/push', 'https://100.64.1.1/push',
      'https://169.254.169.254/latest/meta-data/', 'https://0.0.0.0/push', 'https://224.0.0.1/push',
      'https://[fe80::1]/push', 'https://[fd00::1]/push', 'https://[::]/push', 'https://[::ffff:10.0.0.1]/push',
      'https://[::ffff:a9fe:a9fe]/push', 'https://[64:ff9b::a00:1]/push', 'https://[2002:c0a8:1::]/push',
      // Other spellings of 169.254.169.254 and 10.0.0.1, read as getaddrinfo reads them.
      'https://0xa9fea9fe/', 'https://2852039166/', 'https://0251.0376.0251.0376/', 'https://167772161/', 'https://10.1/',
      // Names that only internal DNS answers.
      'https://metadata/computeMetadata/', 'https://db.internal/', 'https://printer.local/', 'https://nas.home.arpa/',
      // Loopback needs development mode, and plain http needs loopback.
      'http://10.0.0.1/push', 'http://169.254.169.254/',
    ];
    for (const endpoint of targets) {
      it(endpoint, async () => {
        const res = await api('POST', ROUTE, { token: userToken(uniqueId('ssrf')), body: { endpoint, keys: newBrowser().keys } });
        assertBadRequest(res, 'endpoint');
      });
    }
    it('development mode (this test stack) allows loopback, plain http only there', async () => {
      for (const url of ['http://127.0.0.1:9/push', 'https://localhost:9/push', 'http://[::1]:9/push']) {
        const res = await subscribe(uniqueId('dev'), `${url}/${crypto.randomUUID()}`);
        assert.equal(res.status, 201, `${url}: ${res.text}`);
      }
    });
  });
});

// ---- getstream.io devices -----------------------------------------------------------------------

describe('/api/devices/', () => {
  it('the SDK adds, lists and removes its own devices', async () => {
    const id = uniqueId('dev');
    const client = await connectUser(id);
    try {
      await client.addDevice(`fcm-${id}`, 'firebase');
      await client.addDevice(`apn-${id}`, 'apn', undefined, 'ios-prod');
      const { devices } = await client.getDevices();
      assert.deepEqual(devices.map((d) => d.id), [`fcm-${id}`, `apn-${id}`]);
      assert.equal(devices[0].push_provider, 'firebase');
      assert.equal(devices[0].user_id, id);
      assert.equal(devices[0].disabled, false);
      assert.equal(devices[0].push_provider_name, undefined);
      assert.equal(devices[1].push_provider_name, 'ios-prod');
      assert.match(devices[0].created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      await client.removeDevice(`fcm-${id}`);
      assert.deepEqual((await client.getDevices()).devices.map((d) => d.id), [`apn-${id}`]);
      await assert.rejects(client.removeDevice(`fcm-${id}`), (err) => err.status === 404 || /404/.test(err.message));
    } finally {
      await client.disconnectUser();
    }
  });

  it('the connect handshake’s `me.devices` lists the user’s devices', async () => {
    const id = uniqueId('medev');
    await serverClient().addDevice(`fcm-${id}`, 'firebase', id);
    const client = await connectUser(id);
    try {
      assert.deepEqual(client.user.devices.map((d) => [d.id, d.push_provider, d.user_id]), [[`fcm-${id}`, 'firebase', id]]);
    } finally {
      await client.disconnectUser();
    }
  });

  it('a server token acts for user_id; a device registered again moves to its new user', async () => {
    const server = serverClient();
    const [a, b] = [uniqueId('da'), uniqueId('db')];
    const token = `tok-${crypto.randomUUID()}`;
    await server.addDevice(token, 'huawei', a);
    assert.deepEqual((await server.getDevices(a)).devices.map((d) => d.id), [token]);
    await server.addDevice(token, 'xiaomi', b, 'mi');
    assert.deepEqual((await server.getDevices(a)).devices, []);
    const [moved] = (await server.getDevices(b)).devices;
    assert.equal(moved.push_provider, 'xiaomi');
    assert.equal(moved.user_id, b);
    await server.removeDevice(token, b);
    assert.deepEqual((await server.getDevices(b)).devices, []);
  });

  it('validates id and push_provider, and refuses acting for someone else', async () => {
    const user = uniqueId('dv');
    const token = userToken(user);
    assertBadRequest(await api('POST', '/api/devices/', { token, body: { push_provider: 'firebase' } }), 'id');
    assertBadRequest(await api('POST', '/api/devices/', { token, body: { id: 'a b', push_provider: 'firebase' } }), 'id');
    assertBadRequest(await api('POST', '/api/devices/', { token, body: { id: 'x', push_provider: 'webpush' } }), 'push_provider');
    assertBadRequest(await api('POST', '/api/devices/', { token, body: { id: 'x' } }), 'push_provider');
    assertBadRequest(await api('DELETE', '/api/devices/', { token }), 'id');
    const other = await api('POST', '/api/devices/', { token, body: { id: 'x', push_provider: 'apn', user_id: uniqueId('o') } });
    assert.equal(other.status, 403, other.text);
    assertBadRequest(await api('GET', '/api/devices/', { token: signToken({ server: true }) }), 'user_id');
  });

  it('401 without a token or with a wrong api_key', async () => {
    const none = await api('GET', '/api/devices/');
    assert.equal(none.status, 401);
    assert.equal(none.json.code, 3);
    const res = await fetch(`${process.env.STREAMBED_URL}/api/devices/?api_key=nope`, { headers: { authorization: userToken('u'), 'stream-auth-type': 'jwt' } });
    assert.equal(res.status, 401);
    assert.equal((await res.json()).code, 2);
  });
});

// ---- delivery ------------------------------------------------------------------------------------

describe('delivery by streambed-push', () => {
  let service;
  let vapidKey;
  before(async () => {
    service = await startPushService();
    vapidKey = (await listSubscriptions(uniqueId('key'))).vapid_public_key;
  });
  after(() => service.close());

  async function subscribed(name) {
    const user = uniqueId(name);
    const browser = newBrowser();
    const path = `/push/${user}`;
    const res = await subscribe(user, service.endpoint(path), browser);
    assert.equal(res.status, 201, res.text);
    return { user, browser, path, id: res.json.subscription.id };
  }

  it('sends an RFC 8030 POST with a VAPID token that verifies and a body that decrypts to the message', async () => {
    const { user, browser, path } = await subscribed('deliver');
    // 300 characters, some of them outside the BMP: cut to exactly 200 characters, never mid-character.
    const text = `${'🍉'.repeat(50)}${'x'.repeat(250)}`;
    const message = await enqueue(user, { text });
    const [request] = await service.waitFor(path, 1);
    const payload = openPush(request, browser, { vapidKey, audience: service.origin });
    assert.deepEqual(payload, {
      type: 'message.new', cid: message.cid, message_id: message.message_id,
      text: [...text].slice(0, 200).join(''), user: { id: 'sender-1', name: 'Sender One' },
    });
    assert.equal([...payload.text].length, 200);
    await sleep(300);
    assert.equal(service.at(path).length, 1, 'delivered once');
  });

  it('a job done leaves the in-flight list, also when no other job follows it', async () => {
    const { user, path } = await subscribed('ack');
    const { message_id: first } = await enqueue(user);
    const { message_id: second } = await enqueue(user);
    await service.waitFor(path, 2);
    const inFlight = () => redis('LRANGE', 'sb:push:inflight', '0', '-1');
    await until('both jobs to be acknowledged', async () => {
      const left = await inFlight();
      return !left.includes(first) && !left.includes(second);
    }, 3000);
  });

  it('streambed-api test-push (the producer, EnqueueMessagePush) reaches every subscription of the user', async () => {
    const user = uniqueId('multi');
    const browsers = [newBrowser(), newBrowser()];
    const paths = [`/push/${user}/a`, `/push/${user}/b`];
    for (let i = 0; i < 2; i++) assert.equal((await subscribe(user, service.endpoint(paths[i]), browsers[i])).status, 201);
    const { stdout } = await streambedApi('test-push', user, 'Ping from the test');
    assert.match(stdout, /^queued push-test-\d+ for /);
    for (let i = 0; i < 2; i++) {
      const [request] = await service.waitFor(paths[i], 1);
      const payload = openPush(request, browsers[i], { vapidKey, audience: service.origin });
      assert.equal(payload.type, 'message.new');
      assert.equal(payload.text, 'Ping from the test');
      assert.equal(payload.cid, 'streambed:push-test');
      assert.deepEqual(payload.user, { id: 'streambed', name: 'streambed' });
    }
  });

  it('a sent message is pushed to its offline members only: not the sender, an online member, or one who muted the channel', async () => {
    const [sender, offline, online, channelMuted, quiet] = await Promise.all(
      ['send', 'off', 'on', 'cmute', 'quiet'].map((name) => subscribed(`audience-${name}`)));
    const everyone = [sender, offline, online, channelMuted, quiet];
    const channelId = uniqueId('pushroom');
    const cid = `messaging:${channelId}`;
    const channel = serverClient().channel('messaging', channelId, { created_by_id: sender.user, members: everyone.map((x) => x.user) });
    await channel.create();
    const as = (who) => ({ token: userToken(who.user), query: { user_id: who.user } });
    let res = await api('POST', '/api/moderation/mute/channel/', { ...as(channelMuted), body: { channel_cid: cid } });
    assert.equal(res.status, 200, res.text);
    res = await api('PATCH', `/api/channels/messaging/${channelId}/member/${quiet.user}/`, { ...as(quiet), body: { set: { notifications_muted: true } } });
    assert.equal(res.status, 200, res.text);
    const client = await connectUser(online.user);
    try {
      const text = `pushed ${uniqueId('t')}`;
      res = await api('POST', `/api/channels/messaging/${channelId}/message/`, { ...as(sender), body: { message: { text } } });
      assert.equal(res.status, 200, res.text);
      const [request] = await service.waitFor(offline.path, 1);
      const payload = openPush(request, offline.browser, { vapidKey, audience: service.origin });
      assert.deepEqual(payload, { type: 'message.new', cid, message_id: res.json.message.id, text, user: { id: sender.user, name: sender.user } });
      // The first message found no member list cached in Redis (the script ran again after it was
      // filled); the second finds it there, which is the script's other way to the same jobs.
      res = await api('POST', `/api/channels/messaging/${channelId}/message/`, { ...as(sender), body: { message: { text: `${text} again` } } });
      assert.equal(res.status, 200, res.text);
      const [again] = (await service.waitFor(offline.path, 2)).slice(1);
      assert.equal(openPush(again, offline.browser, { vapidKey, audience: service.origin }).message_id, res.json.message.id);
      await sleep(800);
      assert.equal(service.at(offline.path).length, 2, 'the offline member gets each message once');
      for (const who of [sender, online, channelMuted, quiet]) assert.equal(service.at(who.path).length, 0, `${who.user} gets no push`);
    } finally {
      await client.disconnectUser();
    }
  });

  it('a reminder whose time comes is pushed to the user who set it, open app or not, once; also on their own message', async () => {
    const [author, reader] = await Promise.all(['author', 'reader'].map((name) => subscribed(`remind-${name}`)));
    const type = uniqueId('rpush').replace(/[^A-Za-z0-9_-]/g, '_').slice(-40);
    await serverClient().createChannelType({ name: type, user_message_reminders: true });
    const channelId = uniqueId('remindroom');
    const channel = serverClient().channel(type, channelId, { created_by_id: author.user, members: [author.user, reader.user] });
    await channel.create();
    const as = (who) => ({ token: userToken(who.user), query: { user_id: who.user } });
    // The reader is online (so the message itself is not pushed to it); reminders are pushed all the same.
    const client = await connectUser(reader.user);
    try {
      let res = await api('POST', `/api/channels/${type}/${channelId}/message/`, { ...as(author), body: { message: { text: 'remember this' } } });
      assert.equal(res.status, 200, res.text);
      const messageId = res.json.message.id;
      const soon = () => new Date(Date.now() + 1000).toISOString();
      for (const who of [reader, author]) {
        res = await api('POST', `/api/messages/${messageId}/reminders/`, { ...as(who), body: { remind_at: soon() } });
        assert.equal(res.status, 200, res.text);
      }
      for (const who of [reader, author]) {
        const [request] = await service.waitFor(who.path, 1);
        assert.deepEqual(openPush(request, who.browser, { vapidKey, audience: service.origin }), {
          type: 'notification.reminder_due', cid: `${type}:${channelId}`, message_id: messageId, text: 'remember this',
          user: { id: author.user, name: author.user },
        });
      }
      await sleep(2000);
      assert.equal(service.at(reader.path).length, 1, 'once');
      assert.equal(service.at(author.path).length, 1, 'once, and the message itself was not pushed to its author');
    } finally {
      await client.disconnectUser();
    }
  });

  // Jobs go only to members with a subscription (keys::kPushSubscribers). MONITOR shows every
  // command Redis runs, the audience script's included, so the queue's LPUSHes can be counted
  // whatever streambed-push has already taken off the queue.
  it('a message queues a push job for an offline member with a subscription, none for one without', async () => {
    const [sender, subscriber] = await Promise.all(['jsend', 'jsub'].map((name) => subscribed(`jobs-${name}`)));
    const [unsubscribed] = await createUsers(1, 'jobs-none');
    const channelId = uniqueId('jobroom');
    await serverClient().channel('messaging', channelId, { created_by_id: sender.user, members: [sender.user, subscriber.user, unsubscribed] }).create();
    const monitor = spawn('redis-cli', ['-s', `${RUN}/redis/redis.sock`, 'monitor']);
    let seen = '';
    monitor.stdout.on('data', (chunk) => { seen += chunk; });
    try {
      await until('MONITOR to start', () => seen.startsWith('OK'), 5000);
      const res = await api('POST', `/api/channels/messaging/${channelId}/message/`, {
        token: userToken(sender.user), body: { message: { text: `jobs ${uniqueId('t')}` } },
      });
      assert.equal(res.status, 200, res.text);
      await service.waitFor(subscriber.path, 1);
    } finally {
      monitor.kill();
    }
    const jobs = seen.split('\n').filter((line) => line.includes('"LPUSH" "sb:push:queue"'));
    assert.equal(jobs.filter((line) => line.includes(subscriber.user)).length, 1, 'one job for the subscriber');
    assert.equal(jobs.filter((line) => line.includes(unsubscribed)).length, 0, 'no job for the member without a subscription');
  });

  it('registering puts the user in the subscriber set; a set lost from Redis is filled again from PostgreSQL', async () => {
    const [sender, offline] = await Promise.all(['lsend', 'loff'].map((name) => subscribed(`lost-${name}`)));
    assert.equal(await redis('SISMEMBER', 'sb:push:subscribers', offline.user), '1');
    const channelId = uniqueId('lostroom');
    await serverClient().channel('messaging', channelId, { created_by_id: sender.user, members: [sender.user, offline.user] }).create();
    // As after a Redis restart that lost it, or its hourly expiry.
    await redis('DEL', 'sb:push:subscribers');
    const res = await api('POST', `/api/channels/messaging/${channelId}/message/`, {
      token: userToken(sender.user), body: { message: { text: 'after the set was lost' } },
    });
    assert.equal(res.status, 200, res.text);
    const [request] = await service.waitFor(offline.path, 1);
    assert.equal(openPush(request, offline.browser, { vapidKey, audience: service.origin }).message_id, res.json.message.id);
    assert.equal(await redis('SISMEMBER', 'sb:push:subscribers', offline.user), '1');
    assert.equal(await redis('SISMEMBER', 'sb:push:subscribers', ''), '1', 'the marker of a filled set');
    const ttl = Number(await redis('TTL', 'sb:push:subscribers'));
    assert.ok(ttl > 0 && ttl <= 3600, `expires within the hour (TTL ${ttl})`);
  });

  for (const status of [410, 404]) {
    it(`${status} from the push service deletes the subscription`, async () => {
      const { user, path } = await subscribed(`gone${status}`);
      service.script(path, [{ status }]);
      await enqueue(user);
      await service.waitFor(path, 1);
      await until('the subscription to be deleted', async () => (await listSubscriptions(user)).subscriptions.length === 0, 5000);
      await enqueue(user);
      await sleep(800);
      assert.equal(service.at(path).length, 1, 'nothing is sent to a deleted subscription');
    });
  }

  it('503 then 201: retried after the backoff and delivered once', async () => {
    const { user, browser, path } = await subscribed('retry');
    service.script(path, [{ status: 503 }, { status: 201 }]);
    const message = await enqueue(user, { text: 'second time lucky' });
    const [first, second] = await service.waitFor(path, 2, 10000 + RETRY_BASE_MS * 2);
    assert.ok(second.at - first.at >= RETRY_BASE_MS - 50, `waited ${second.at - first.at} ms`);
    for (const request of [first, second]) {
      const payload = openPush(request, browser, { vapidKey, audience: service.origin });
      assert.equal(payload.message_id, message.message_id);
    }
    await sleep(RETRY_BASE_MS * 3);
    assert.equal(service.at(path).length, 2, 'no third request after the 201');
    assert.equal((await listSubscriptions(user)).subscriptions.length, 1, 'a 503 keeps the subscription');
  });

  it('429 with Retry-After is honoured', async () => {
    const { user, path } = await subscribed('after');
    const wait = Math.max(2, Math.ceil((RETRY_BASE_MS * 2) / 1000));
    service.script(path, [{ status: 429, headers: { 'retry-after': String(wait) } }, { status: 201 }]);
    await enqueue(user);
    const [first, second] = await service.waitFor(path, 2, 10000 + wait * 1000);
    assert.ok(second.at - first.at >= wait * 1000 - 50, `waited ${second.at - first.at} ms, asked for ${wait} s`);
  });

  it('a dropped connection is a network error and is retried', async () => {
    const { user, path } = await subscribed('drop');
    service.script(path, [{ destroy: true }, { status: 201 }]);
    await enqueue(user);
    await service.waitFor(path, 2, 10000 + RETRY_BASE_MS * 2);
  });

  it('a push service that never answers is cut off at the timeout, then retried', async () => {
    const { user, path } = await subscribed('stall');
    service.script(path, [{ stall: true }, { status: 201 }]);
    await enqueue(user);
    const [first, second] = await service.waitFor(path, 2, TIMEOUT_MS + RETRY_BASE_MS * 2 + 10000);
    assert.ok(second.at - first.at >= TIMEOUT_MS, `second attempt ${second.at - first.at} ms after the first`);
    assert.ok(second.at - first.at < TIMEOUT_MS + RETRY_BASE_MS * 2 + 5000);
  });

  it(`attempts are bounded: ${MAX_ATTEMPTS} in all, then the message is given up`, async () => {
    const { user, path } = await subscribed('bounded');
    service.script(path, Array(MAX_ATTEMPTS + 2).fill({ status: 500 }));
    await enqueue(user);
    let total = 0;
    for (let i = 1; i < MAX_ATTEMPTS; i++) total += RETRY_BASE_MS * 2 ** (i - 1) * 1.25;
    await service.waitFor(path, MAX_ATTEMPTS, total + 10000);
    await sleep(RETRY_BASE_MS * 2 ** (MAX_ATTEMPTS - 1) * 1.25 + 500);  // past when a next attempt would come
    assert.equal(service.at(path).length, MAX_ATTEMPTS);
    assert.equal((await listSubscriptions(user)).subscriptions.length, 1, 'a failing service does not delete');
  });

  it('an expired subscription is deleted, not pushed to', async () => {
    const user = uniqueId('expired');
    const path = `/push/${user}`;
    const res = await subscribe(user, service.endpoint(path), newBrowser(), { expirationTime: Date.now() + 500 });
    assert.equal(res.status, 201);
    await sleep(700);
    await enqueue(user);
    await until('the expired subscription to go', async () => (await listSubscriptions(user)).subscriptions.length === 0, 5000);
    assert.equal(service.at(path).length, 0);
  });

  it('HTTPS to a loopback push service (development mode: certificate not checked)', async () => {
    const secure = await startPushService({ tls: true });
    try {
      const user = uniqueId('tls');
      const browser = newBrowser();
      const path = `/push/${user}`;
      assert.equal((await subscribe(user, secure.endpoint(path), browser)).status, 201);
      const message = await enqueue(user);
      const [request] = await secure.waitFor(path, 1);
      assert.equal(openPush(request, browser, { vapidKey, audience: secure.origin }).message_id, message.message_id);
    } finally {
      await secure.close();
    }
  });

  // Last: rotation removes every subscription made with the old key.
  it('rotate-vapid: a new key is served, old subscriptions are removed, new ones are signed with the new key', async () => {
    const old = await subscribed('rotate-old');
    const { stdout } = await streambedApi('rotate-vapid');
    const newKey = /new VAPID public key: ([A-Za-z0-9_-]{87})/.exec(stdout)?.[1];
    assert.ok(newKey, stdout);
    assert.match(stdout, /subscriptions removed \(their browsers must subscribe again\): \d+/);
    const served = await listSubscriptions(old.user);
    assert.equal(served.vapid_public_key, newKey);
    assert.notEqual(newKey, vapidKey);
    assert.deepEqual(served.subscriptions, [], 'the old subscription is gone');

    const fresh = newBrowser();
    assert.equal((await subscribe(old.user, service.endpoint(`${old.path}/new`), fresh)).status, 201);
    const message = await enqueue(old.user);
    const [request] = await service.waitFor(`${old.path}/new`, 1);
    assert.equal(openPush(request, fresh, { vapidKey: newKey, audience: service.origin }).message_id, message.message_id);
    assert.equal(service.at(old.path).length, 0);
  });
});
