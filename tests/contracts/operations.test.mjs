// Issue 8 at run time: the Prometheus endpoints of every process, rate limits with their headers,
// one JSON log line per request carrying nginx's request id, and no secret in any log.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { API_KEY, API_SECRET, BASE_URL, GATEWAY_PORT, api, connectUserVia, uniqueId, userToken } from './lib/streambed.mjs';

const HTTP_PORT = Number(new URL(BASE_URL).port);
const RUN_DIR = process.env.STREAMBED_RUN_DIR;

async function scrape(url) {
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  assert.match(res.headers.get('content-type'), /text\/plain; version=0\.0\.4/);
  return res.text();
}

// The exposition passes Prometheus's own linter.
function promtoolCheck(text) {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(run.status, 0, `promtool: ${run.stdout}${run.stderr}`);
}

function sample(text, name, labels = {}) {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = line.match(/^([a-z_:]+)(\{(.*)\})? (\S+)$/);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return undefined;
}

describe('metrics', () => {
  it('the worker pool: requests by route, method and status, summed over every worker', async () => {
    const before = sample(await scrape(`${BASE_URL}/metrics/api/`), 'streambed_http_requests_total',
      { route: '/api/health/', method: 'GET', status: '200' }) ?? 0;
    // Enough requests that several workers answer some of them.
    await Promise.all(Array.from({ length: 20 }, () => fetch(`${BASE_URL}/api/health/`)));
    const text = await scrape(`${BASE_URL}/metrics/api/`);
    promtoolCheck(text);
    const after = sample(text, 'streambed_http_requests_total', { route: '/api/health/', method: 'GET', status: '200' });
    assert.ok(after >= before + 20, `${before} -> ${after}`);
    assert.ok(sample(text, 'streambed_workers') >= 1);
    assert.ok(sample(text, 'streambed_http_request_duration_seconds_count', { route: '/api/health/', method: 'GET' }) >= 20);
    assert.ok(sample(text, 'streambed_pg_query_duration_seconds_count') > 0);
  });

  it('the public server never serves /metrics', async () => {
    for (const p of ['/metrics', '/metrics/', '/api/metrics/']) {
      const res = await fetch(`${BASE_URL}${p}`, { redirect: 'manual' });
      assert.ok(res.status === 404 || res.status === 301, `${p}: ${res.status}`);
      assert.doesNotMatch(await res.text(), /streambed_http_requests_total/);
    }
  });

  it('each gateway: sockets, deliveries and delivery latency', async () => {
    const user = uniqueId('metrics');
    const client = await connectUserVia(0, user);
    try {
      const text = await scrape(`http://127.0.0.1:${GATEWAY_PORT}/metrics`);
      promtoolCheck(text);
      assert.ok(sample(text, 'streambed_ws_connections', { kind: 'stream' }) >= 1);
      assert.ok(sample(text, 'streambed_ws_connections_opened_total') >= 1);
      assert.ok(sample(text, 'process_open_fds') > 0);
      assert.ok(sample(text, 'process_max_fds') > 0);
      const other = await scrape(`http://127.0.0.1:${GATEWAY_PORT + 1}/metrics`);
      assert.notEqual(sample(other, 'streambed_ws_connections_opened_total'), undefined);
    } finally {
      await client.disconnectUser();
    }
  });

  it('the push sender', async () => {
    const text = await scrape(`http://127.0.0.1:${HTTP_PORT + 9}/metrics`);
    promtoolCheck(text);
    assert.notEqual(sample(text, 'streambed_push_queue_depth'), undefined);
  });
});

describe('rate limits', () => {
  it('every counted response carries X-RateLimit-*; past the per-user budget a user gets 429 code 9', async () => {
    const token = userToken(uniqueId('rl'));
    // The budgets are counted in one-minute windows: a window that turned while the budget was
    // being spent would give it back, and the call meant to be refused would pass. Spending takes
    // a second or two, so it starts with at least 10 s of its window left (the first call of the
    // next window, after a wait, when fewer were).
    let first = await api('GET', '/api/app/', { token });
    let reset = Number(first.headers.get('x-ratelimit-reset'));
    const left = reset - Date.now() / 1000;
    if (left < 10) {
      await sleep(Math.max(0, left) * 1000 + 300);
      first = await api('GET', '/api/app/', { token });
      reset = Number(first.headers.get('x-ratelimit-reset'));
    }
    assert.equal(first.status, 200);
    const limit = Number(first.headers.get('x-ratelimit-limit'));
    const remaining = Number(first.headers.get('x-ratelimit-remaining'));
    assert.ok(limit > 0 && remaining === limit - 1, `${limit} ${remaining}`);
    assert.ok(reset > Date.now() / 1000 && reset <= Date.now() / 1000 + 61);
    // Spend the rest of this user's budget for the route, in parallel batches.
    let refused = null;
    for (let sent = 1; sent <= limit && !refused; sent += 50) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, limit + 1 - sent) }, () => api('GET', '/api/app/', { token })));
      refused = batch.find((r) => r.status === 429) ?? null;
    }
    const over = refused ?? (await api('GET', '/api/app/', { token }));
    assert.equal(over.status, 429, over.text);
    assert.equal(over.json.code, 9);
    assert.equal(over.json.StatusCode, 429);
    assert.equal(over.headers.get('x-ratelimit-remaining'), '0');
    // Another user is not affected, nor is another route for this user.
    assert.equal((await api('GET', '/api/app/', { token: userToken(uniqueId('rl-other')) })).status, 200);
    assert.equal((await api('GET', '/api/unread/', { token })).status, 200);
  });

  it('server-token calls are not limited per user', async () => {
    const server = (await import('./lib/streambed.mjs')).serverClient();
    const results = await Promise.all(Array.from({ length: 30 }, () => server.getAppSettings().then(() => 200, (e) => e.status)));
    assert.ok(results.every((s) => s === 200), JSON.stringify(results));
  });
});

describe('logs', () => {
  it('one JSON line per request, with the request id nginx returned in X-Request-Id', async () => {
    const res = await fetch(`${BASE_URL}/api/health/`);
    const id = res.headers.get('x-request-id');
    assert.match(id, /^[0-9a-f]{32}$/);
    const logs = () => fs.readdirSync(path.join(RUN_DIR, 'logs')).filter((f) => f.startsWith('api'))
      .map((f) => fs.readFileSync(path.join(RUN_DIR, 'logs', f), 'utf8')).join('');
    let line;
    for (let i = 0; i < 50 && !line; i++) {
      line = logs().split('\n').find((l) => l.includes(id));
      if (!line) await new Promise((r) => setTimeout(r, 100));
    }
    const entry = JSON.parse(line);
    assert.equal(entry.event, 'request');
    assert.equal(entry.request_id, id);
    assert.equal(entry.path, '/api/health/');
    assert.equal(entry.status, 200);
  });

  it('no log of any process holds the API secret or a token', async () => {
    const token = userToken(uniqueId('leak'));
    await api('GET', '/api/ws-auth/', { token });
    await api('GET', '/api/ws-auth/', { token: token.slice(0, -3) + 'AAA' });
    await new Promise((r) => setTimeout(r, 1200));  // nginx flushes its access log every second
    const dir = path.join(RUN_DIR, 'logs');
    for (const f of fs.readdirSync(dir)) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8');
      assert.ok(!text.includes(API_SECRET), `${f} contains the API secret`);
      assert.ok(!text.includes(token.split('.')[2]), `${f} contains a token signature`);
    }
  });
});

// A worker speaks FastCGI to nginx over STREAMBED_FCGI_SOCKET. Once it has written a reply and
// read the request's input to its end, it closes at once rather than waiting for nginx to close
// first (fcgi-app/worker.cpp): a busy nginx made every worker idle 4-40 ms a request. Told apart
// without a clock: after the worker's end of file, a write to a socket the worker closed fails
// with EPIPE, while one the worker only half-closed is still read (and discarded).
describe('FastCGI connections', () => {
  const record = (type, content = Buffer.alloc(0)) => {
    const header = Buffer.alloc(8);
    header.writeUInt8(1, 0);  // version
    header.writeUInt8(type, 1);
    header.writeUInt16BE(1, 2);  // request id
    header.writeUInt16BE(content.length, 4);
    return Buffer.concat([header, content]);
  };
  const params = (pairs) => Buffer.concat(Object.entries(pairs).map(([k, v]) => {
    assert.ok(k.length < 128 && v.length < 128);
    return Buffer.concat([Buffer.from([k.length, v.length]), Buffer.from(k + v)]);
  }));
  const begin = record(1, Buffer.from([0, 1, 0, 0, 0, 0, 0, 0]));  // responder, no keep-alive

  // Sends `records`, reads the worker's reply to its end of file, then writes a few more bytes.
  // Resolves with the reply and the outcome of that write ('written' or the error's code).
  function exchange(records) {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ path: process.env.STREAMBED_FCGI_SOCKET, allowHalfOpen: true });
      const chunks = [];
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('no end of file from the worker within 10 s'));
      }, 10000);
      socket.on('data', (d) => chunks.push(d));
      socket.on('error', (e) => {
        clearTimeout(timer);
        socket.destroy();
        resolve({ reply: Buffer.concat(chunks).toString('latin1'), write: e.code });
      });
      socket.on('end', () => {
        socket.write(record(5, Buffer.from('late input')), (e) => {
          if (e) return;  // the 'error' event reports it
          clearTimeout(timer);
          socket.end();
          resolve({ reply: Buffer.concat(chunks).toString('latin1'), write: 'written' });
        });
      });
      socket.write(Buffer.concat(records));
    });
  }

  it('a request read to its end: the reply, then the connection closed at once', async () => {
    const { reply, write } = await exchange([begin,
      record(4, params({ REQUEST_METHOD: 'GET', REQUEST_URI: '/api/health/', CONTENT_LENGTH: '0' })), record(4),
      record(5)]);
    assert.match(reply, /Status: 200/);
    assert.equal(write, 'EPIPE');
  });

  it('a body left unread (413): the worker still reads what follows before it closes', async () => {
    const { reply, write } = await exchange([begin,
      record(4, params({ REQUEST_METHOD: 'POST', REQUEST_URI: '/api/channels/', CONTENT_LENGTH: String(2 << 20) })),
      record(4), record(5, Buffer.alloc(1000, 0x20))]);
    assert.match(reply, /Status: 413/);
    assert.equal(write, 'written');
  });
});

// A gateway listens on a Unix socket for an nginx on the same host (STREAMBED_GATEWAY_LISTEN). A
// gateway that was killed leaves its socket file behind: the next one on that path removes it and
// listens. It removes nothing else: a path that is a live gateway's socket, or no socket at all,
// stops it with an error, the file untouched.
describe('a gateway on a Unix socket', () => {
  const freePort = () => new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const p = srv.address().port;
      srv.close(() => resolve(p));
    });
  });
  // The gateway's own process, on a free TCP port and `socketPath`; resolves once it answers
  // GET /metrics on the socket, or with its exit code when it ends first (within 15 s).
  async function startGateway(socketPath) {
    const port = await freePort();
    const log = fs.openSync(path.join(RUN_DIR, 'logs', `gateway-unix-${port}.log`), 'a');
    const child = spawn(path.join(process.env.STREAMBED_BUILD_DIR, 'ws-gateway', 'streambed-gateway'), [], {
      env: {
        ...process.env,
        STREAMBED_GATEWAY_LISTEN: `127.0.0.1:${port},${socketPath}`,
        STREAMBED_REDIS: `unix:${path.join(RUN_DIR, 'redis', 'redis.sock')}`,
        STREAMBED_API_URL: BASE_URL,
        STREAMBED_API_KEY: API_KEY,
        STREAMBED_API_SECRET: API_SECRET,
      },
      stdio: ['ignore', log, log],
    });
    const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) return { child, exitCode: child.exitCode };
      if (await metricsStatus(socketPath) === 200 && child.exitCode === null) return { child, exited, up: true };
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    throw new Error('the gateway neither answered on its socket nor exited within 15 s');
  }
  const metricsStatus = (socketPath) => new Promise((resolve) => {
    const req = http.get({ socketPath, path: '/metrics' }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(null));
    req.setTimeout(2000, () => req.destroy());
  });
  async function stop({ child, exited }) {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  const socketPath = (name) => path.join(RUN_DIR, `${name}-${process.pid}.sock`);
  // A gateway that should not have started is stopped before the test fails, not left running.
  async function expectRefused(g, what) {
    if (g.up) await stop(g);
    assert.ok(!g.up, what);
    assert.notEqual(g.exitCode, 0);
  }

  it('replaces the socket file a killed gateway left behind, and removes its own when it stops', async () => {
    const file = socketPath('stale');
    try {
      // A socket file that nothing listens on, as a gateway killed with SIGKILL leaves.
      const bound = spawnSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(file)})`]);
      assert.equal(bound.status, 0, String(bound.stderr));
      assert.ok(fs.lstatSync(file).isSocket());
      const g = await startGateway(file);
      assert.equal(g.up, true, `the gateway exited with ${g.exitCode}`);
      await stop(g);
      assert.equal(fs.existsSync(file), false, 'the gateway left its socket file behind');
    } finally {
      fs.rmSync(file, { force: true });  // a failure midway leaves nothing in the run folder
    }
  });

  it('leaves a file that is not a socket alone, and stops with an error', async () => {
    const file = socketPath('not-a-socket');
    fs.writeFileSync(file, 'keep me');
    try {
      await expectRefused(await startGateway(file), 'the gateway started on a path that holds a regular file');
      assert.equal(fs.readFileSync(file, 'utf8'), 'keep me');
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('does not take the socket of a process still listening on it', async () => {
    const file = socketPath('live');
    // Not 200 for /metrics: only the gateway's answer counts as the gateway being up.
    const server = http.createServer((req, res) => {
      res.statusCode = 409;
      res.end('still mine');
    }).listen(file);
    await new Promise((r) => server.once('listening', r));
    try {
      await expectRefused(await startGateway(file), 'the gateway took over a live socket');
      const body = await new Promise((resolve, reject) => {
        http.get({ socketPath: file, path: '/' }, (res) => {
          let text = '';
          res.on('data', (d) => { text += d; });
          res.on('end', () => resolve(text));
        }).on('error', reject);
      });
      assert.equal(body, 'still mine');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
