// scripts/bench's measurements, against the stack scripts/bench started. Prints one table of
// medians over --runs rounds, each figure with its ratio to the reference measured in the same
// round (nginx's static 200 for REST, the Node `ws` peer for WebSocket figures).
//   node bench/run.mjs [--runs N] [--only rest,latency,fanout,max,memory] [--seconds S]
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import {
  env, gatewayPorts, WORK, sleep, log, signToken, psql, stackProcesses, groupSample, loadAverage, mergeHist,
  percentile, histMax, median, quiet, startLoad, split, wrk, table, fmt, fmtInt,
} from './lib.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const RUNS = Number(opt('runs', 3));
const ONLY = (opt('only', 'rest,latency,fanout,max,memory')).split(',');
const REST_SECONDS = Number(opt('seconds', 5));
const WATCHERS = Number(opt('watchers', 1000));
const MEMORY_SOCKETS = (opt('memory', '1000,10000')).split(',').map(Number);
const NONCE = Date.now().toString(36);
const results = [];  // rows of the final table
const notes = [];

// --- Seed ------------------------------------------------------------------------------------
// Bulk SQL, shaped exactly as the API writes these rows: users, a 1,000-member channel for the
// fan-out, a channel with 100,000 messages (strictly increasing created_at, html as the send path
// renders it), and a user who is a member of 200 channels with 20 messages each.
function seed() {
  const have = psql("SELECT count(*) FROM messages m JOIN channels c ON c.pk = m.channel_pk WHERE c.cid = 'messaging:bench-100k'");
  if (Number(have) >= 100000) {
    log('seed: already there');
    return;
  }
  const t0 = Date.now();
  const maxUsers = Math.max(WATCHERS, ...MEMORY_SOCKETS, 1000);
  psql(`
BEGIN;
INSERT INTO users (id, name) SELECT 'bench-w-' || g, 'Bench ' || g FROM generate_series(0, ${maxUsers - 1}) g ON CONFLICT DO NOTHING;
INSERT INTO users (id, name) VALUES ('bench-q', 'Bench Q'), ('bench-h', 'Bench H') ON CONFLICT DO NOTHING;

INSERT INTO channels (cid, type, id, name, created_by, member_count)
VALUES ('messaging:bench-fan', 'messaging', 'bench-fan', 'Fan-out', 'bench-w-0', ${WATCHERS}) ON CONFLICT DO NOTHING;
INSERT INTO members (channel_pk, user_id)
SELECT (SELECT pk FROM channels WHERE cid = 'messaging:bench-fan'), 'bench-w-' || g FROM generate_series(0, ${WATCHERS - 1}) g
ON CONFLICT DO NOTHING;

INSERT INTO channels (cid, type, id, name, created_by, member_count)
VALUES ('messaging:bench-100k', 'messaging', 'bench-100k', '100k messages', 'bench-h', 2) ON CONFLICT DO NOTHING;
INSERT INTO members (channel_pk, user_id)
SELECT pk, u FROM channels, unnest(ARRAY['bench-h', 'bench-w-0']) u WHERE cid = 'messaging:bench-100k' ON CONFLICT DO NOTHING;
INSERT INTO messages (id, channel_pk, user_id, text, html, created_at, updated_at)
SELECT 'bench-100k-' || g, c.pk, CASE WHEN g % 2 = 0 THEN 'bench-h' ELSE 'bench-w-0' END,
       'message number ' || g, '<p>message number ' || g || E'</p>\\n',
       now() - interval '1 day' + g * interval '1 millisecond', now() - interval '1 day' + g * interval '1 millisecond'
FROM channels c, generate_series(1, 100000) g WHERE c.cid = 'messaging:bench-100k';

INSERT INTO channels (cid, type, id, name, created_by, member_count)
SELECT 'messaging:bench-q-' || k, 'messaging', 'bench-q-' || k, 'Q ' || k, 'bench-q', 2 FROM generate_series(0, 199) k
ON CONFLICT DO NOTHING;
INSERT INTO members (channel_pk, user_id)
SELECT c.pk, u FROM channels c, LATERAL unnest(ARRAY['bench-q', 'bench-w-' || substr(c.id, 9)]) u
WHERE c.id LIKE 'bench-q-%' ON CONFLICT DO NOTHING;
INSERT INTO messages (id, channel_pk, user_id, text, html, created_at, updated_at)
SELECT 'bench-q-' || c.pk || '-' || g, c.pk, 'bench-q', 'hello ' || g, '<p>hello ' || g || E'</p>\\n',
       now() - interval '2 days' + (c.pk * 100 + g) * interval '1 second', now() - interval '2 days' + (c.pk * 100 + g) * interval '1 second'
FROM channels c, generate_series(1, 20) g WHERE c.id LIKE 'bench-q-%';

UPDATE channels c SET last_message_at = m.t, last_stamp = m.t
FROM (SELECT channel_pk, max(created_at) t FROM messages GROUP BY channel_pk) m WHERE m.channel_pk = c.pk;
COMMIT;
ANALYZE;
`);
  log(`seed: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

// --- REST through nginx ----------------------------------------------------------------------
function luaScript(name, { method = 'GET', paths, body, token }) {
  // paths: a Lua expression giving the path of request number n (1-based)
  const file = path.join(WORK, `${name}.lua`);
  fs.writeFileSync(file, `
wrk.method = "${method}"
wrk.headers["Content-Type"] = "application/json"
${token ? `wrk.headers["Authorization"] = "${token}"\nwrk.headers["stream-auth-type"] = "jwt"` : ''}
local n = 0
math.randomseed(os.time())
request = function()
  n = n + 1
  local path = ${paths}
  local body = ${body ?? 'nil'}
  return wrk.format(nil, path, nil, body)
end
`);
  return file;
}

function restBench() {
  const key = env.apiKey;
  const q = (user) => `api_key=${key}&user_id=${user}`;
  const rows = [
    { name: 'nginx static 200 (reference)', script: null, url: `${env.url}/nginx-static/` },
    { name: 'GET /api/app/ (authenticated)', script: luaScript('app', { paths: `"/api/app/?${q('bench-h')}"`, token: signToken('bench-h') }) },
    { name: 'send message (200 channels)', script: luaScript('send', {
      method: 'POST', token: signToken('bench-q'),
      paths: `"/api/channels/messaging/bench-q-" .. (n % 200) .. "/message/?${q('bench-q')}"`,
      body: `'{"message":{"text":"bench message ' .. n .. '"}}'` }) },
    { name: 'channel query, 100k msgs, newest', script: luaScript('query-newest', {
      method: 'POST', token: signToken('bench-h'), paths: `"/api/channels/messaging/bench-100k/query/?${q('bench-h')}"`,
      body: `'{"state":true,"watch":false,"presence":false,"messages":{"limit":25}}'` }) },
    { name: 'channel query, 100k msgs, deep page', script: luaScript('query-deep', {
      method: 'POST', token: signToken('bench-h'), paths: `"/api/channels/messaging/bench-100k/query/?${q('bench-h')}"`,
      body: `'{"state":true,"watch":false,"presence":false,"messages":{"limit":25,"id_lt":"bench-100k-' .. math.random(1000, 99000) .. '"}}'` }) },
    { name: 'queryChannels, user in 200 channels', script: luaScript('query-channels', {
      method: 'POST', token: signToken('bench-q'), paths: `"/api/channels/?${q('bench-q')}"`,
      body: `'{"filter_conditions":{"members":{"$in":["bench-q"]}},"sort":[{"field":"last_message_at","direction":-1}],"state":true,"watch":false,"presence":false,"limit":10,"message_limit":25,"member_limit":100}'` }) },
  ];
  const per = rows.map(() => []);
  for (let r = 0; r < RUNS; r++) {
    rows.forEach((row, i) => {
      const res = wrk({ url: row.url ?? env.url + '/', script: row.script, seconds: REST_SECONDS });
      per[i].push(res);
      log(`rest round ${r + 1}: ${row.name}: ${fmtInt(res.rps)} req/s, p50 ${fmt(res.p50, 2)} ms, p99 ${fmt(res.p99, 2)} ms, errors ${res.errors}`);
      if (!Number.isFinite(res.rps)) log(res.raw);
    });
  }
  rows.forEach((row, i) => {
    const ratios = per[i].map((x, r) => x.rps / per[0][r].rps);
    const errors = per[i].reduce((s, x) => s + x.errors, 0);
    results.push(['REST', row.name, `${fmtInt(median(per[i].map((x) => x.rps)))} req/s`,
      `${fmt(median(per[i].map((x) => x.p50)), 2)} / ${fmt(median(per[i].map((x) => x.p99)), 2)} ms`,
      i === 0 ? 'reference' : `${fmt(median(ratios), 3)} of static`, errors ? `${errors} errors` : '']);
  });
}

// --- REST latency at a fixed rate ------------------------------------------------------------
// wrk above keeps 32 requests in flight, so its latencies are the wait behind the other 31 at
// saturation. A latency target is about a load the server carries: here sbload offers requests on
// a schedule that does not wait for answers (open loop, through nginx), and each latency runs from
// the moment the schedule made the request, so time queued behind a slow answer is counted.
const LATENCY_SECONDS = Number(opt('latency-seconds', 5));
const LATENCY_RATES = Object.fromEntries((opt('latency-rates', 'send:100/250/500,channel:250/500/1000')).split(',')
  .map((x) => x.split(':')).map(([k, v]) => [k, v.split('/').map(Number)]));

async function openLoop(kind, rate) {
  const plan = kind === 'send'
    ? [`bench-q ${Array.from({ length: 200 }, (_, k) => `messaging:bench-q-${k}`).join(' ')}`]
    : ['bench-h messaging:bench-100k'];
  const gen = startLoad(plan, ['--mode', 'none', '--rest-port', env.httpPort, '--rest-connections', 64,
    '--proc', 30, '--nonce', `${NONCE}l${++scenarios}`, '--drain-ms', 200, '--seconds', LATENCY_SECONDS,
    kind === 'send' ? '--send-rate' : '--channel-query-rate', rate], { name: `latency-${kind}-${rate}`, timeoutMs: 300000 });
  try {
    await gen.waitLine('READY', 30000);
    const t0 = Date.now();
    gen.send('go');
    await gen.waitLine('SENT', (LATENCY_SECONDS + 120) * 1000);  // every request answered
    const elapsed = (Date.now() - t0) / 1000;
    const r = await gen.result();
    const stats = r.rest[kind];
    const h = stats.scheduled_us;
    const out = { rate, served: stats.ok / elapsed, p50: percentile(h, 50) / 1000, p99: percentile(h, 99) / 1000,
      max: histMax(h) / 1000, errors: stats.errors };
    log(`latency ${kind} at ${rate}/s offered: ${stats.ok} answered in ${fmt(elapsed, 1)} s, ${fmtInt(out.served)}/s, p50 ${fmt(out.p50, 2)} p99 ${fmt(out.p99, 2)} ` +
      `max ${fmt(out.max, 1)} ms, errors ${out.errors}${r.last_error ? ` (${r.last_error})` : ''}, load ${loadAverage()}`);
    return out;
  } finally {
    gen.kill();
  }
}

async function latencyBench() {
  const names = { send: 'send message (200 channels)', channel: 'channel query, 100k msgs, newest' };
  for (const [kind, rates] of Object.entries(LATENCY_RATES)) {
    if (!names[kind]) throw new Error(`--latency-rates: unknown kind ${kind} (send, channel)`);
    for (const rate of rates) {
      const xs = [];
      for (let r = 0; r < RUNS; r++) xs.push(await openLoop(kind, rate));
      const errors = xs.reduce((s, x) => s + x.errors, 0);
      results.push(['REST', `${names[kind]}, ${fmtInt(rate)}/s offered`, `${fmtInt(median(xs.map((x) => x.served)))} req/s`,
        `${fmt(median(xs.map((x) => x.p50)), 2)} / ${fmt(median(xs.map((x) => x.p99)), 2)} ms (max ${fmt(median(xs.map((x) => x.max)), 1)})`,
        'open loop', errors ? `${errors} errors` : '']);
    }
  }
}

// --- The Node ws peer ------------------------------------------------------------------------
let peer = null;
async function startPeer() {
  if (peer) return peer;
  const child = spawn(process.execPath, [path.join(env.root, 'bench', 'peer.mjs'), '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the ws peer did not start')), 10000);
    readline.createInterface({ input: child.stdout }).on('line', (l) => {
      const m = /^LISTENING (\d+)/.exec(l);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
  });
  peer = { child, port };
  return peer;
}
function stopPeer() {
  if (peer) peer.child.kill('SIGTERM');
  peer = null;
}

// --- Fan-out ---------------------------------------------------------------------------------
const FAN_CID = 'messaging:bench-fan';
let eventBytes = 0;  // size of a message.new frame from streambed, for the peer's padding
let scenarios = 0;

// How many generator processes receive the fan-out. At a fixed rate one: it takes all 1,000
// sockets' frames with half a core at 100 messages a second, and a busy process is not woken
// frame by frame; two, each idling between frames on the same two cores as the servers, woke
// once a frame and doubled the tail they measured (p99 24-37 ms through nginx against 14-16 in
// the same hour, the peer's alike). For the most deliveries two: one alone tops out near the
// rates it would measure.
const LATENCY_RECEIVERS = Number(opt('latency-receivers', 1));
const MAX_RECEIVERS = Number(opt('max-receivers', 2));

// One fan-out: WATCHERS sockets on `target` (nginx | direct | peer), received by `receivers`
// generator processes, a sender at `rate` msg/s for `seconds`; returns latency percentiles,
// deliveries/s, losses and duplicates. It starts once the machine is quiet again after the last.
async function fanout(target, rate, seconds, receivers) {
  const settled = await quiet();
  if (settled >= 0.15) log(`fan-out ${target}: the machine was still ${Math.round(settled * 100)}% busy after 20 s`);
  const users = Array.from({ length: WATCHERS }, (_, i) => `bench-w-${i}`);
  const plain = target === 'peer';
  const p = plain ? await startPeer() : null;
  const ports = plain ? [p.port] : target === 'nginx' ? [env.httpPort] : gatewayPorts;
  const nonce = `${NONCE}${++scenarios}`;  // message ids are unique across scenarios
  const common = ['--mode', plain ? 'plain' : 'stream', '--ws-ports', ports.join(','), '--ws-path', plain ? '/' : '/api/connect',
    '--rest-port', env.httpPort, '--nonce', nonce, '--track', '--drain-ms', '1500'];
  const watchers = split(users, receivers).map((slice, i) => startLoad(slice.map((u) => `${u} ${FAN_CID}`),
    [...common, '--proc', 10 + i, '--rest-connections', 16], { name: `fan-${target}-w${i}`, timeoutMs: 300000 }));
  try {
    const ready = await Promise.all(watchers.map((w) => w.waitLine('READY', 120000)));
    const watching = ready.reduce((s, r) => s + (plain ? r.connected : r.watching), 0);
    if (watching < WATCHERS) log(`fan-out ${target}: only ${watching} of ${WATCHERS} watchers ready`);
    await sleep(500);
    const pad = Math.max(0, (eventBytes || 1500) - 80);
    const sender = startLoad([plain ? 'bench-sender x' : `bench-w-0 ${FAN_CID}`],
      [...common, '--mode', plain ? 'plain' : 'none', '--proc', 1, '--send-rate', rate, '--seconds', seconds,
        '--rest-connections', 32, '--pad', pad], { name: `fan-${target}-s`, timeoutMs: 300000 });
    await sender.waitLine('READY', 30000);
    sender.send('go');
    await sender.waitLine('SENT', (seconds + 60) * 1000);
    const sent = await sender.result();
    const rs = await Promise.all(watchers.map((w) => w.result()));
    const okSends = Object.values(sent.sends).filter(([, status]) => status >= 200 && status < 300).length;
    const expected = okSends * watching;
    const deliveries = rs.reduce((s, r) => s + r.deliveries, 0);
    const unique = rs.reduce((s, r) => s + Object.values(r.received ?? {}).reduce((a, b) => a + b, 0), 0);
    const duplicates = rs.reduce((s, r) => s + (r.duplicates ?? 0), 0);
    const hist = mergeHist(rs.map((r) => r.latency_us));
    const server = mergeHist(rs.map((r) => r.server_us ?? []));
    const lastRx = Math.max(...rs.map((r) => r.last_rx_ns));
    const span = (lastRx - sent.first_tx_ns) / 1e9;
    if (!plain && deliveries > 0) eventBytes = Math.round(rs.reduce((s, r) => s + r.delivery_bytes, 0) / deliveries);
    const out = {
      p50: percentile(hist, 50) / 1000, p99: percentile(hist, 99) / 1000, max: histMax(hist) / 1000,
      sp50: percentile(server, 50) / 1000, sp99: percentile(server, 99) / 1000,
      perSecond: deliveries / span, sent: sent.sent, okSends, expected, unique, duplicates,
      lost: Math.max(0, expected - unique), failed: rs.reduce((s, r) => s + r.failed, 0), restErrors: sent.rest.send.errors,
    };
    const restHist = sent.rest?.send?.latency_us ?? [];
    out.rp99 = restHist.length ? percentile(restHist, 99) / 1000 : NaN;
    log(`fan-out ${target} ${rate}/s x ${seconds}s: p50 ${fmt(out.p50, 2)} p99 ${fmt(out.p99, 2)} max ${fmt(out.max, 1)} ms ` +
      `(the sends' REST p99 ${fmt(out.rp99, 2)}) ` +
      `(from the event's created_at: p50 ${fmt(out.sp50, 2)} p99 ${fmt(out.sp99, 2)}), ` +
      `${fmtInt(out.perSecond)} deliveries/s, sent ${out.sent} (ok ${okSends}), expected ${expected}, got ${unique}, ` +
      `dups ${duplicates}, socket failures ${out.failed}, load ${loadAverage()}`);
    const failures = {};
    for (const r of rs) for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
    if (Object.keys(failures).length) log(`  socket failures: ${JSON.stringify(failures)}`);
    if (sent.last_error) log(`  sender's last error: ${sent.last_error}`);
    return out;
  } finally {
    for (const w of watchers) w.kill();
  }
}

const TARGETS = (opt('targets', 'nginx,direct,peer')).split(',');
async function fanoutBench() {
  const targets = TARGETS;
  const rates = opt('rates', '10:15,100:10').split(',').map((x) => x.split(':').map(Number));
  for (const [rate, seconds] of rates) {
    const per = Object.fromEntries(targets.map((t) => [t, []]));
    for (let r = 0; r < RUNS; r++) {
      for (const t of targets) per[t].push(await fanout(t, rate, seconds, LATENCY_RECEIVERS));
    }
    for (const t of targets) {
      const xs = per[t];
      const ratio = t === 'peer' ? 'reference' : !per.peer ? '' :
        `p99 ${fmt(median(xs.map((x, i) => per.peer[i].p99 / x.p99)), 2)}x better than peer`;
      const losses = xs.reduce((s, x) => s + x.lost + x.duplicates, 0);
      results.push(['WebSocket', `fan-out 1,000 watchers, ${rate} msg/s, ${t === 'peer' ? 'Node ws peer' : t === 'nginx' ? 'through nginx' : 'straight to gateways'}`,
        `max ${fmt(median(xs.map((x) => x.max)), 1)} ms`,
        `${fmt(median(xs.map((x) => x.p50)), 2)} / ${fmt(median(xs.map((x) => x.p99)), 2)} ms` +
          (t === 'peer' ? '' : ` (from created_at: ${fmt(median(xs.map((x) => x.sp50)), 2)} / ${fmt(median(xs.map((x) => x.sp99)), 2)})`), ratio,
        losses ? `${losses} lost or duplicated` : 'none lost']);
    }
  }
}

// Maximum deliveries per second: a ladder of offered rates; the best rate with nothing lost.
async function maxBench() {
  const targets = TARGETS;
  const ladder = (opt('ladder', '100,150,200,300,400,600,800')).split(',').map(Number);
  const best = Object.fromEntries(targets.map((t) => [t, []]));
  for (let r = 0; r < RUNS; r++) {
    for (const t of targets) {
      let top = { perSecond: 0, p99: NaN, rate: 0 };
      for (const rate of ladder) {
        const x = await fanout(t, rate, 4, MAX_RECEIVERS);
        if (x.lost > 0 || x.duplicates > 0 || x.failed > 0) {
          log(`max ${t}: ${rate} msg/s lost ${x.lost}, dups ${x.duplicates}, cut ${x.failed}: stopping the ladder`);
          break;
        }
        if (x.perSecond > top.perSecond) top = { ...x, rate };
        if (x.okSends < x.sent * 0.99 || x.p99 > 1000) break;  // saturated
      }
      best[t].push(top);
    }
  }
  for (const t of targets) {
    const xs = best[t];
    const ratio = t === 'peer' ? 'reference' : !best.peer ? '' : `${fmt(median(xs.map((x, i) => x.perSecond / best.peer[i].perSecond)), 2)}x peer`;
    results.push(['WebSocket', `max deliveries/s, ${t === 'peer' ? 'Node ws peer' : t === 'nginx' ? 'through nginx' : 'straight to gateways'}`,
      `${fmtInt(median(xs.map((x) => x.perSecond)))} /s`,
      `p99 ${fmt(median(xs.map((x) => x.p99)), 1)} ms at ${median(xs.map((x) => x.rate))} msg/s`, ratio, 'none lost']);
  }
}

// --- Idle sockets: memory per socket and connect rate ----------------------------------------
async function idle(target, n) {
  const plain = target === 'peer';
  const p = plain ? await startPeer() : null;
  const users = Array.from({ length: n }, (_, i) => `bench-w-${i}`);
  const gwPids = () => (plain ? [p.child.pid] : Object.entries(stackProcesses()).filter(([k]) => k.startsWith('gateway')).flatMap(([, v]) => v));
  const nginxPids = () => stackProcesses().nginx;
  await sleep(1000);
  const before = groupSample(gwPids()).rss;
  const nginxBefore = groupSample(nginxPids()).rss;
  const procs = Math.max(1, Math.ceil(n / 2500));
  const gens = split(users, procs).map((slice, i) => startLoad(slice, ['--mode', plain ? 'plain' : 'stream',
    '--ws-ports', plain ? p.port : env.httpPort, '--ws-path', plain ? '/' : '/api/connect', '--watch', 'none',
    '--proc', 20 + i, '--connect-parallel', 100], { name: `idle-${target}-${n}-${i}`, timeoutMs: 300000 }));
  try {
    const ready = await Promise.all(gens.map((g) => g.waitLine('READY', 240000)));
    const connected = ready.reduce((s, r) => s + r.connected, 0);
    const seconds = Math.max(...ready.map((r) => r.seconds));
    await sleep(3000);
    const after = groupSample(gwPids()).rss;
    const nginxAfter = groupSample(nginxPids()).rss;
    const out = { connected, perSocket: (after - before) / connected, rss: after, connectRate: connected / seconds,
      nginxPerSocket: (nginxAfter - nginxBefore) / connected, failed: n - connected };
    const rs = await Promise.all(gens.map((g) => g.result()));
    const failures = {};
    for (const r of rs) for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
    log(`idle ${target} ${n}: ${connected} connected in ${fmt(seconds, 2)} s (${fmtInt(out.connectRate)}/s), ` +
      `server RSS ${fmt(after / 1048576, 1)} MB, ${fmt(out.perSocket / 1024, 2)} KB/socket, nginx ${fmt(out.nginxPerSocket / 1024, 2)} KB/socket` +
      (Object.keys(failures).length ? `, failures ${JSON.stringify(failures)}` : '') + `, load ${loadAverage()}`);
    return out;
  } finally {
    for (const g of gens) g.kill();
    await sleep(2000);  // let the gateways clean up before the next measurement
  }
}

async function memoryBench() {
  for (const n of MEMORY_SOCKETS) {
    const per = { nginx: [], peer: [] };
    for (let r = 0; r < RUNS; r++) {
      per.nginx.push(await idle('nginx', n));
      per.peer.push(await idle('peer', n));
      stopPeer();  // a fresh peer per measurement: its heap does not shrink back
    }
    const s = per.nginx, pe = per.peer;
    results.push(['WebSocket', `gateway RSS per idle socket, ${fmtInt(n)} sockets`,
      `${fmt(median(s.map((x) => x.perSocket / 1024)), 2)} KB`,
      `gateways ${fmt(median(s.map((x) => x.rss / 1048576)), 1)} MB in all; nginx ${fmt(median(s.map((x) => x.nginxPerSocket / 1024)), 1)} KB/socket`,
      `${fmt(median(s.map((x, i) => pe[i].perSocket / x.perSocket)), 2)}x less than peer (${fmt(median(pe.map((x) => x.perSocket / 1024)), 2)} KB)`,
      s.some((x) => x.failed) ? `${Math.max(...s.map((x) => x.failed))} failed connects` : '']);
    results.push(['WebSocket', `connect rate, ${fmtInt(n)} sockets through nginx (/api/connect)`,
      `${fmtInt(median(s.map((x) => x.connectRate)))} /s`, '', `peer (no auth): ${fmtInt(median(pe.map((x) => x.connectRate)))} /s`, '']);
  }
}

// --- Main ------------------------------------------------------------------------------------
const started = Date.now();
console.log(`bench: ${RUNS} round(s); machine: ${fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1]} x${(await import('node:os')).cpus().length}; load ${loadAverage()}`);
try {
  seed();
  if (ONLY.includes('rest')) restBench();
  if (ONLY.includes('latency')) await latencyBench();
  if (ONLY.includes('fanout')) await fanoutBench();
  if (ONLY.includes('max')) await maxBench();
  if (ONLY.includes('memory')) await memoryBench();
} finally {
  stopPeer();
}
console.log('');
console.log(table(['area', 'benchmark', 'median', 'p50 / p99 (or detail)', 'ratio (same round)', 'losses/errors'], results));
console.log('');
for (const n of notes) console.log(n);
console.log(`bench: ${fmt((Date.now() - started) / 1000, 0)} s; load average at the end ${loadAverage()}`);
