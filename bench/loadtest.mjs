// scripts/loadtest's body: 10,000 concurrent clients speaking /api/connect as distinct users, each
// a member of one small channel (10 members) and one of a few large ones (2,000 members), driven
// at getstream.io's default app-wide request rates (issue 8's table, per minute: send message
// 1,000; query channels, mark read and send event 10,000 each; connect 10,000) for --duration.
// Every message delivered to every watcher is counted once per (socket, message id); the run
// fails (exit 1) on any loss, duplicate, error, failed connect or dropped socket.
//   node bench/loadtest.mjs [--duration 600s] [--clients 10000] [--procs 4]
import fs from 'node:fs';
import {
  env, sleep, log, psql, stackProcesses, groupSample, loadAverage, mergeHist, percentile, histMax, startLoad, split,
  table, fmt, fmtInt,
} from './lib.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
function seconds(s) {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(String(s));
  if (!m) throw new Error(`--duration: "${s}" is not like 60s, 10m or 1h`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : m[2] === 'h' ? 3600 : 1);
}
const CLIENTS = Number(opt('clients', 10000));
const DURATION = seconds(opt('duration', '600s'));
const PROCS = Number(opt('procs', 4));
const SMALL = 10;                          // members of a small channel
const LARGE = Number(opt('large', 5));     // large channels; each client is in one of them
const LARGE_SHARE = Number(opt('large-share', 0.2));  // share of messages sent to a large channel
// getstream.io's default app-wide limits per minute (issue 8), used as the offered load.
const PER_MINUTE = {
  connect: Number(opt('connect', 10000)),
  send: Number(opt('send', 1000)),
  query: Number(opt('query', 10000)),
  read: Number(opt('read', 10000)),
  typing: Number(opt('typing', 10000)),
};
const NONCE = `lt${Date.now().toString(36)}`;

const smallCid = (i) => `messaging:lt-s-${Math.floor(i / SMALL)}`;
const largeCid = (i) => `messaging:lt-l-${i % LARGE}`;

function seed() {
  const t0 = Date.now();
  const smalls = Math.ceil(CLIENTS / SMALL);
  psql(`
BEGIN;
INSERT INTO users (id, name) SELECT 'lt-' || g, 'Load ' || g FROM generate_series(0, ${CLIENTS - 1}) g ON CONFLICT DO NOTHING;
INSERT INTO channels (cid, type, id, name, created_by, member_count)
SELECT 'messaging:lt-s-' || k, 'messaging', 'lt-s-' || k, 'Small ' || k, 'lt-' || (k * ${SMALL}),
       least(${SMALL}, ${CLIENTS} - k * ${SMALL}) FROM generate_series(0, ${smalls - 1}) k ON CONFLICT DO NOTHING;
INSERT INTO channels (cid, type, id, name, created_by, member_count)
SELECT 'messaging:lt-l-' || k, 'messaging', 'lt-l-' || k, 'Large ' || k, 'lt-' || k,
       (SELECT count(*) FROM generate_series(0, ${CLIENTS - 1}) g WHERE g % ${LARGE} = k)
FROM generate_series(0, ${LARGE - 1}) k ON CONFLICT DO NOTHING;
INSERT INTO members (channel_pk, user_id)
SELECT c.pk, 'lt-' || g FROM generate_series(0, ${CLIENTS - 1}) g
JOIN channels c ON c.cid = 'messaging:lt-s-' || (g / ${SMALL}) ON CONFLICT DO NOTHING;
INSERT INTO members (channel_pk, user_id)
SELECT c.pk, 'lt-' || g FROM generate_series(0, ${CLIENTS - 1}) g
JOIN channels c ON c.cid = 'messaging:lt-l-' || (g % ${LARGE}) ON CONFLICT DO NOTHING;
COMMIT;
ANALYZE;
`);
  log(`seed: ${CLIENTS} users, ${smalls} small and ${LARGE} large channels in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

// Memory and CPU of every process over time.
const samples = [];
let generatorPids = [];
function sampler(intervalMs) {
  let prev = null;
  const take = () => {
    const groups = { ...stackProcesses(), generators: generatorPids };
    const now = Date.now();
    const row = { t: now, load: loadAverage(), groups: {} };
    for (const [name, pids] of Object.entries(groups)) {
      const s = groupSample(pids);
      // A group whose processes ended since the last sample lost their CPU time from its total:
      // no figure rather than a negative one.
      const used = prev && prev.groups[name] ? s.cpu - prev.groups[name].cpu : NaN;
      const cpuPct = used >= 0 ? (used / ((now - prev.t) / 1000)) * 100 : NaN;
      row.groups[name] = { rss: s.rss, cpu: s.cpu, cpuPct };
    }
    if (prev) samples.push(row);
    prev = row;
  };
  take();
  const timer = setInterval(take, intervalMs);
  return () => {
    clearInterval(timer);
    take();
  };
}

async function main() {
  console.log(`loadtest: ${fmtInt(CLIENTS)} clients in ${PROCS} generator processes, ${DURATION} s of traffic; ` +
    `per minute: ${Object.entries(PER_MINUTE).map(([k, v]) => `${k} ${fmtInt(v)}`).join(', ')}; load ${loadAverage()}`);
  seed();
  const plan = Array.from({ length: CLIENTS }, (_, i) => `lt-${i} ${smallCid(i)} ${largeCid(i)}`);
  const slices = split(plan, PROCS);
  const perProc = (perMinute) => perMinute / 60 / slices.length;
  const connectSeconds = CLIENTS / (PER_MINUTE.connect / 60);
  const stopSampling = sampler(Math.max(2000, Math.min(30000, (DURATION * 1000) / 30)));
  const gens = slices.map((slice, i) => startLoad(slice, ['--mode', 'stream', '--ws-ports', env.httpPort, '--rest-port', env.httpPort,
    '--watch', 'channels', '--proc', i + 1, '--nonce', NONCE, '--track', '--drain-ms', '3000',
    '--connect-rate', Math.max(1, Math.round(PER_MINUTE.connect / 60 / slices.length)), '--connect-parallel', 200,
    '--rest-connections', 24, '--large-share', LARGE_SHARE, '--seconds', DURATION,
    '--send-rate', perProc(PER_MINUTE.send), '--query-rate', perProc(PER_MINUTE.query),
    '--read-rate', perProc(PER_MINUTE.read), '--typing-rate', perProc(PER_MINUTE.typing)],
  { name: `loadtest-${i}`, timeoutMs: (connectSeconds + DURATION + 600) * 1000 }));
  generatorPids = gens.map((g) => g.pid);
  let rs;
  const t0 = Date.now();
  try {
    const ready = await Promise.all(gens.map((g) => g.waitLine('READY', (connectSeconds + 180) * 1000)));
    const connectedIn = (Date.now() - t0) / 1000;
    log(`connected: ${ready.reduce((s, r) => s + r.connected, 0)} of ${CLIENTS}, watching ${ready.reduce((s, r) => s + r.watching, 0)}, ` +
      `in ${fmt(connectedIn, 1)} s; load ${loadAverage()}`);
    for (const g of gens) g.send('go');
    const tGo = Date.now();
    await Promise.all(gens.map((g) => g.waitLine('SENT', (DURATION + 300) * 1000)));
    log(`traffic done in ${fmt((Date.now() - tGo) / 1000, 1)} s; draining`);
    rs = await Promise.all(gens.map((g) => g.result(120000)));
  } finally {
    stopSampling();
    for (const g of gens) g.kill();
  }

  // --- Accounting: each message id per watcher, exactly once ---
  const watchers = {};
  for (const r of rs) for (const [cid, n] of Object.entries(r.watchers)) watchers[cid] = (watchers[cid] ?? 0) + n;
  const received = {};
  for (const r of rs) for (const [k, n] of Object.entries(r.received)) received[k] = (received[k] ?? 0) + n;
  let expectedTotal = 0, lost = 0, unexpected = 0, okSends = 0, failedSends = 0, lostMessages = 0;
  const sent = new Set();
  for (const r of rs) {
    for (const [k, [cid, status]] of Object.entries(r.sends)) {
      sent.add(k);
      const ok = status >= 200 && status < 300;
      ok ? okSends++ : failedSends++;
      const want = ok ? watchers[cid] ?? 0 : 0;
      const got = received[k] ?? 0;
      expectedTotal += want;
      if (got < want) {
        lost += want - got;
        lostMessages++;
      }
      if (got > want) unexpected += got - want;
    }
  }
  for (const k of Object.keys(received)) if (!sent.has(k)) unexpected += received[k];
  const duplicates = rs.reduce((s, r) => s + r.duplicates, 0);
  const deliveries = rs.reduce((s, r) => s + r.deliveries, 0);
  const connected = rs.reduce((s, r) => s + r.connected, 0);
  const watching = rs.reduce((s, r) => s + r.watching, 0);
  const failures = {};
  for (const r of rs) for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
  const socketFailures = rs.reduce((s, r) => s + r.failed, 0);
  const latency = mergeHist(rs.map((r) => r.latency_us));
  const restRows = ['watch', 'send', 'query', 'read', 'typing'].map((kind) => {
    // From the moment the schedule made the call, as the deliveries are: a call that waited for
    // one of the generator's connections counts that wait (open loop).
    const h = mergeHist(rs.map((r) => r.rest[kind].scheduled_us));
    const ok = rs.reduce((s, r) => s + r.rest[kind].ok, 0);
    const errors = rs.reduce((s, r) => s + r.rest[kind].errors, 0);
    return [kind === 'watch' ? 'queryChannels (watch, at connect)' : kind === 'query' ? 'queryChannels' : kind === 'read' ? 'mark read' : kind === 'typing' ? 'typing event' : 'send message',
      fmtInt(ok), fmtInt(errors), fmt(percentile(h, 50) / 1000, 2), fmt(percentile(h, 99) / 1000, 2), fmt(histMax(h) / 1000, 1)];
  });
  const statuses = {};
  for (const r of rs) for (const [k, v] of Object.entries(r.status)) statuses[k] = (statuses[k] ?? 0) + v;
  const restErrors = rs.reduce((s, r) => s + Object.values(r.rest).reduce((a, x) => a + x.errors, 0), 0);
  const pings = rs.reduce((s, r) => s + r.pings_sent, 0);
  const health = rs.reduce((s, r) => s + r.health_rx, 0);

  console.log('');
  console.log(table(['loadtest', 'value'], [
    ['clients / connected / watching', `${fmtInt(CLIENTS)} / ${fmtInt(connected)} / ${fmtInt(watching)}`],
    ['messages sent (ok / failed)', `${fmtInt(okSends)} / ${fmtInt(failedSends)}`],
    ['deliveries expected / received', `${fmtInt(expectedTotal)} / ${fmtInt(deliveries)}`],
    ['lost deliveries (messages affected)', `${fmtInt(lost)} (${fmtInt(lostMessages)})`],
    ['duplicated deliveries', fmtInt(duplicates)],
    ['unexpected deliveries', fmtInt(unexpected)],
    ['delivery latency p50 / p99 / p99.9 / max', `${fmt(percentile(latency, 50) / 1000, 2)} / ${fmt(percentile(latency, 99) / 1000, 2)} / ${fmt(percentile(latency, 99.9) / 1000, 2)} / ${fmt(histMax(latency) / 1000, 1)} ms`],
    ['keep-alive pings sent / health.check received', `${fmtInt(pings)} / ${fmtInt(health)}`],
    ['socket failures', socketFailures ? JSON.stringify(failures) : '0'],
    ['REST errors', restErrors ? `${restErrors} (statuses ${JSON.stringify(statuses)}; last: ${rs.map((r) => r.last_error).filter(Boolean).pop()})` : '0'],
  ]));
  console.log('');
  console.log(table(['REST call', 'ok', 'errors', 'p50 ms', 'p99 ms', 'max ms'], restRows));
  console.log('');
  const names = Object.keys(samples[0]?.groups ?? {});
  const step = Math.max(1, Math.ceil(samples.length / 20));
  const shown = samples.filter((_, i) => i % step === 0 || i === samples.length - 1);
  console.log('memory (MB) and CPU (% of one core) of each process group over time');
  console.log(table(['t (s)', 'load', ...names], shown.map((s) => [fmt((s.t - t0) / 1000, 0), s.load.split(' ')[0],
    ...names.map((n) => `${fmt(s.groups[n].rss / 1048576, 0)} MB ${fmt(s.groups[n].cpuPct, 0)}%`)])));
  const ok = lost === 0 && duplicates === 0 && unexpected === 0 && restErrors === 0 && socketFailures === 0 &&
    connected === CLIENTS && watching === CLIENTS;
  console.log('');
  console.log(ok ? 'loadtest: PASS (nothing lost, duplicated or failed)' : 'loadtest: FAIL');
  fs.writeFileSync(`${env.run}/bench/loadtest-samples.json`, JSON.stringify(samples));
  return ok ? 0 : 1;
}

main().then((code) => process.exit(code), (err) => {
  console.error(err.stack ?? String(err));
  process.exit(2);
});
