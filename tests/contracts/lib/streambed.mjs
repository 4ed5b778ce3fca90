// What every contract test needs: the stack's address and keys (exported by scripts/test), SDK
// clients wired the way README.md tells users to wire them, tokens, and raw HTTP/WebSocket helpers.

import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { StreamChat } from 'stream-chat';
import WebSocket from 'ws';

export const BASE_URL = process.env.STREAMBED_URL;
export const WS_URL = process.env.STREAMBED_WS_URL;
export const API_KEY = process.env.STREAMBED_API_KEY;
export const API_SECRET = process.env.STREAMBED_API_SECRET;
if (!BASE_URL || !API_KEY || !API_SECRET) {
  throw new Error('run the contract tests through scripts/test (STREAMBED_URL, _API_KEY, _API_SECRET unset)');
}

// ---------------------------------------------------------------------------------------------
// The response recorder (tests/openapi/responses.test.mjs validates what it writes against
// docs/openapi.yaml). With STREAMBED_OPENAPI_RECORD set to a folder (scripts/test sets it), every
// response that a route of streambed-api answered is appended to <folder>/<pid>.jsonl: the SDK's
// through an axios interceptor (addTrailingSlash below), everything else through fetch. Only
// requests that reach the router are recorded: paths under /api/, /rooms/ or /internal/ that end
// with a slash, with any method but OPTIONS. nginx answers the others itself (slash redirects,
// /uploads/ files, CORS preflight), and its own errors on any path (a request line or header over
// its limits, a body over 1 MiB, its rate limit) say so in X-Streambed-Error-Source.
const RECORD_DIR = process.env.STREAMBED_OPENAPI_RECORD;
const RECORDED_ORIGINS = new Set(
  [process.env.STREAMBED_URL, process.env.STREAMBED_HTTPS_URL].filter(Boolean).map((u) => new URL(u).origin),
);

function recordedPath(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (!RECORDED_ORIGINS.has(u.origin)) return null;
  if (!/^\/(api|rooms|internal)\//.test(u.pathname) || !u.pathname.endsWith('/')) return null;
  return u.pathname;
}

function recordResponse(method, url, status, body) {
  const pathname = recordedPath(url);
  if (!pathname || method.toUpperCase() === 'OPTIONS') return;
  const line = JSON.stringify({ method: method.toUpperCase(), path: pathname, status, body, file: path.basename(process.argv[1] ?? '') });
  fs.mkdirSync(RECORD_DIR, { recursive: true });
  fs.appendFileSync(path.join(RECORD_DIR, `${process.pid}.jsonl`), line + '\n');
}

if (RECORD_DIR) {
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (input, init = {}) => {
    const res = await realFetch(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = init.method ?? (typeof input === 'object' && 'method' in input ? input.method : 'GET');
    if (recordedPath(url) && method.toUpperCase() !== 'OPTIONS' && res.headers.get('x-streambed-error-source') !== 'nginx') {
      const text = await res.clone().text();
      let body;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = { unparsed: text.slice(0, 200) };
      }
      recordResponse(method, url, res.status, body);
    }
    return res;
  };
}

function recordAxios(client) {
  const record = (response) => {
    if (!response?.config || response.headers?.['x-streambed-error-source'] === 'nginx') return;
    recordResponse(response.config.method ?? 'get', client.axiosInstance.getUri(response.config), response.status, response.data);
  };
  client.axiosInstance.interceptors.response.use(
    (response) => {
      record(response);
      return response;
    },
    (error) => {
      record(error.response);
      return Promise.reject(error);
    },
  );
}

// The three-line interceptor from README.md: every REST route ends with a slash.
export function addTrailingSlash(client) {
  client.axiosInstance.interceptors.request.use((config) => {
    const [path, query] = config.url.split('?');
    if (!path.endsWith('/')) config.url = path + '/' + (query ? '?' + query : '');
    return config;
  });
  if (RECORD_DIR) recordAxios(client);
  return client;
}

export function serverClient() {
  return addTrailingSlash(new StreamChat(API_KEY, API_SECRET, { baseURL: `${BASE_URL}/api`, timeout: 10000 }));
}

// A token signed here, independently of the SDK, so tests can forge every variant.
export function signToken(payload, { secret = API_SECRET, header = { alg: 'HS256', typ: 'JWT' } } = {}) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${enc(header)}.${enc(payload)}`;
  return `${body}.${crypto.createHmac('sha256', secret).update(body).digest('base64url')}`;
}

export function userToken(userId, extra = {}) {
  return signToken({ user_id: userId, ...extra });
}

let counter = 0;
// A user id that no other test uses (tests run in parallel against one stack).
export function uniqueId(prefix = 'u') {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

// A connected SDK client for `userId` (created on first connect, as getstream.io does).
export async function connectUser(userId, { name, token } = {}) {
  const client = addTrailingSlash(
    new StreamChat(API_KEY, { baseURL: `${BASE_URL}/api`, timeout: 10000, allowServerSideConnect: true }),
  );
  try {
    await client.connectUser({ id: userId, name: name ?? userId }, token ?? userToken(userId));
  } catch (err) {
    await client.disconnectUser().catch(() => {});
    throw err;
  }
  return client;
}

// fetch against the stack with the Stream surface's query and headers.
export async function api(method, path, { token, body, query = {}, headers = {}, redirect = 'manual' } = {}) {
  const url = new URL(`${BASE_URL}${path}`);
  url.searchParams.set('api_key', API_KEY);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, typeof v === 'string' ? v : JSON.stringify(v));
  // A FormData body goes as multipart (fetch writes its content type and boundary); any other as JSON.
  const form = body instanceof FormData;
  const h = { ...(form ? {} : { 'content-type': 'application/json' }), ...headers };
  if (token) {
    h.authorization = token;
    h['stream-auth-type'] = 'jwt';
  }
  const payload = body === undefined || form ? body : JSON.stringify(body);
  const res = await fetch(url, { method, headers: h, body: payload, redirect });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, json, text };
}

// Opens a raw WebSocket and collects its frames; resolves once open (or rejects on an HTTP refusal).
export function openSocket(pathAndQuery, options = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${WS_URL}${pathAndQuery}`, options);
    const frames = [];
    const waiters = [];
    ws.frames = frames;
    ws.closeInfo = null;
    ws.on('message', (data, isBinary) => {
      const frame = isBinary ? { binary: true } : JSON.parse(data.toString());
      frames.push(frame);
      for (const w of [...waiters]) w();
    });
    ws.on('close', (code, reason) => {
      ws.closeInfo = { code, reason: reason.toString() };
      for (const w of [...waiters]) w();
    });
    // Waits (bounded) until a frame matching `predicate` has arrived.
    ws.waitFor = (predicate, timeoutMs = 5000) =>
      new Promise((res, rej) => {
        const check = () => {
          const found = frames.find(predicate);
          if (found) {
            waiters.splice(waiters.indexOf(check), 1);
            clearTimeout(timer);
            res(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1);
          rej(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames).slice(0, 500)}`));
        }, timeoutMs);
        waiters.push(check);
        check();
      });
    ws.waitClose = (timeoutMs = 5000) =>
      new Promise((res, rej) => {
        if (ws.closeInfo) return res(ws.closeInfo);
        const timer = setTimeout(() => rej(new Error('socket did not close')), timeoutMs);
        ws.once('close', () => {
          clearTimeout(timer);
          res(ws.closeInfo);
        });
      });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body })));
    });
    ws.once('error', (err) => reject(err));
  });
}

// The /api/connect handshake as the SDK sends it.
export function connectQuery(userId, token, { authType = 'jwt', apiKey = API_KEY, userDetails } = {}) {
  const json = JSON.stringify({ user_id: userId, user_details: userDetails ?? { id: userId }, client_request_id: crypto.randomUUID() });
  const params = new URLSearchParams({ json, api_key: apiKey, authorization: token ?? '', 'stream-auth-type': authType });
  return `/api/connect?${params}`;
}

// The gateways' own ports (scripts/test starts STREAMBED_GATEWAYS of them from this port).
export const GATEWAY_PORT = Number(process.env.STREAMBED_GATEWAY_PORT);

// An SDK client whose WebSocket goes straight to gateway `index` (REST still through nginx), so a
// test can put clients on different gateways and prove events cross between them.
export async function connectUserVia(index, userId, { name } = {}) {
  const client = addTrailingSlash(
    new StreamChat(API_KEY, { baseURL: `${BASE_URL}/api`, timeout: 10000, allowServerSideConnect: true }),
  );
  client.wsBaseURL = `ws://127.0.0.1:${GATEWAY_PORT + index}/api`;
  try {
    await client.connectUser({ id: userId, name: name ?? userId }, userToken(userId));
  } catch (err) {
    await client.disconnectUser().catch(() => {});
    throw err;
  }
  return client;
}

// Resolves with the first event of `type` on `emitter` (a client or a channel) that satisfies
// `predicate`, or rejects after `timeoutMs`. Also reports how long it took.
export function nextEvent(emitter, type, predicate = () => true, timeoutMs = 5000) {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.unsubscribe();
      reject(new Error(`no ${type} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const sub = emitter.on(type, (event) => {
      if (!predicate(event)) return;
      clearTimeout(timer);
      sub.unsubscribe();
      resolve(Object.assign(event, { elapsedMs: Date.now() - started }));
    });
  });
}

// A ticket from /api/ws-auth/ for `userId`, scoped to `cid`, and the room socket opened with it.
export async function openRoomSocket(userId, cid) {
  const res = await api('GET', '/api/ws-auth/', { token: userToken(userId), query: { cid } });
  if (res.status !== 200) throw new Error(`ws-auth: ${res.status} ${res.text}`);
  const ws = await openSocket(`/ws/${cid}/?auth=${encodeURIComponent(res.json.auth)}`);
  await ws.waitFor((f) => f.type === 'connection.ok');
  return ws;
}

// A command to the test stack's Redis (redis-cli on its unix socket), for what only the server's
// own state shows (TTLs, queues). Answers redis-cli's text, trimmed.
export async function redis(...args) {
  const run = process.env.STREAMBED_RUN_DIR;
  if (!run) throw new Error('run through scripts/test (STREAMBED_RUN_DIR unset)');
  const { stdout } = await promisify(execFile)('redis-cli', ['-s', `${run}/redis/redis.sock`, ...args]);
  return stdout.trim();
}

// Creates these users server-side (getstream.io refuses unknown members, so channels need them
// first) and returns the server client. createUsers() below makes fresh ids instead.
export async function upsertUsers(...ids) {
  const server = serverClient();
  await server.upsertUsers(ids.map((id) => ({ id, name: id })));
  return server;
}

// ---------------------------------------------------------------------------------------------
// Chat-model helpers (issue 3 tests).

// Users created through the server client (POST /api/users/), so they exist before anyone adds
// them to a channel. Returns their ids.
export async function createUsers(count, prefix = 'u', extra = {}) {
  const users = Array.from({ length: count }, (_, i) => ({ id: uniqueId(`${prefix}${i}`), name: `${prefix} ${i}`, ...extra }));
  if (users.length) await serverClient().upsertUsers(users);
  return users.map((u) => u.id);
}

// Several connected SDK clients at once; `close()` disconnects them all.
export async function connectUsers(ids) {
  const clients = await Promise.all(ids.map((id) => connectUser(id)));
  clients.close = () => Promise.all(clients.map((c) => c.disconnectUser().catch(() => {})));
  return clients;
}

// Alice and Bob, both connected, in a fresh messaging channel (with `extraMembers` besides them)
// that both watch: the two ends of most chat tests. `close()` disconnects both.
export async function watchingPair({ extraMembers = [], type = 'messaging' } = {}) {
  const alice = uniqueId('alice');
  const bob = uniqueId('bob');
  const [ca, cb] = await connectUsers([alice, bob]);
  const id = uniqueId('ch');
  const chA = ca.channel(type, id, { members: [alice, bob, ...extraMembers] });
  await chA.watch();
  const chB = cb.channel(type, id);
  await chB.watch();
  return { alice, bob, ca, cb, chA, chB, id, cid: `${type}:${id}`, close: () => Promise.all([ca.disconnectUser(), cb.disconnectUser()]) };
}

// Records every event `client` receives from now on. waitFor() resolves with the first recorded
// event (from `since` on) that matches, or rejects after a bounded time.
export function recordEvents(client) {
  const events = [];
  const waiters = new Set();
  const sub = client.on((event) => {
    events.push(event);
    for (const w of [...waiters]) w();
  });
  return {
    events,
    mark: () => events.length,
    of: (type) => events.filter((e) => e.type === type),
    waitFor(predicate, { timeout = 5000, since = 0 } = {}) {
      const pred = typeof predicate === 'string' ? (e) => e.type === predicate : predicate;
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.slice(since).find(pred);
          if (!found) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching event within ${timeout} ms; got ${events.slice(since).map((e) => e.type).join(', ')}`));
        }, timeout);
        if (!check()) waiters.add(check);
      });
    },
    stop: () => sub.unsubscribe(),
  };
}

// Asserts that `promise` (an SDK call or api()) fails with this HTTP status and Stream code.
export async function expectError(promise, status, code, messagePattern) {
  let outcome;
  try {
    outcome = await promise;
  } catch (err) {
    const got = { status: err.status ?? err.response?.status, code: err.code ?? err.response?.data?.code };
    if (got.status !== status || got.code !== code || (messagePattern && !messagePattern.test(err.message))) {
      throw new Error(`expected ${status}/code ${code}${messagePattern ? ` ${messagePattern}` : ''}, got ${got.status}/code ${got.code}: ${err.message}`);
    }
    return err;
  }
  if (outcome && typeof outcome.status === 'number' && 'json' in outcome) {
    // api() resolves instead of throwing.
    if (outcome.status !== status || outcome.json?.code !== code || outcome.json?.StatusCode !== status ||
        (messagePattern && !messagePattern.test(outcome.json?.message ?? ''))) {
      throw new Error(`expected ${status}/code ${code}, got ${outcome.status}: ${outcome.text.slice(0, 400)}`);
    }
    return outcome;
  }
  throw new Error(`expected ${status}/code ${code}, but the call succeeded: ${JSON.stringify(outcome).slice(0, 300)}`);
}

export const uuid = () => crypto.randomUUID();

// RFC 3339 UTC with microseconds, as every streambed time is written.
export const TIME_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

