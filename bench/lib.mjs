// What bench/run.mjs (scripts/bench) and bench/loadtest.mjs (scripts/loadtest) share: the stack's
// address and processes, the sbload generator driven over its stdin/stdout, wrk, psql, /proc
// sampling, histograms and percentiles. Every wait is bounded.

import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

export const env = {
  url: process.env.STREAMBED_URL,
  httpPort: Number(process.env.STREAMBED_HTTP_PORT),
  gatewayPort: Number(process.env.STREAMBED_GATEWAY_PORT),
  gateways: Number(process.env.STREAMBED_GATEWAYS ?? 2),
  apiKey: process.env.STREAMBED_API_KEY,
  secret: process.env.STREAMBED_API_SECRET,
  run: process.env.STREAMBED_RUN_DIR,
  build: process.env.STREAMBED_BUILD_DIR,
  root: process.env.STREAMBED_ROOT,
};
for (const [k, v] of Object.entries(env)) {
  if (v === undefined || Number.isNaN(v)) throw new Error(`bench: ${k} is not set (run through scripts/bench or scripts/loadtest)`);
}
export const gatewayPorts = Array.from({ length: env.gateways }, (_, i) => env.gatewayPort + i);
export const SBLOAD = path.join(env.build, 'bench', 'sbload');
export const WORK = path.join(env.run, 'bench');
fs.mkdirSync(WORK, { recursive: true });

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const log = (...a) => console.error('   ', ...a);

export function signToken(userId) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc({ user_id: userId })}`;
  return `${body}.${crypto.createHmac('sha256', env.secret).update(body).digest('base64url')}`;
}

// --- PostgreSQL ------------------------------------------------------------------------------
export function psql(sql) {
  const r = spawnSync('psql', ['-h', path.join(env.run, 'pg'), '-p', '5432', '-U', 'streambed', '-d', 'streambed',
    '-v', 'ON_ERROR_STOP=1', '-qAt'], { input: sql, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
  return r.stdout.trim();
}

// --- Processes of the stack, and /proc sampling ----------------------------------------------
function readPid(file) {
  try {
    return Number(fs.readFileSync(file, 'utf8').split('\n')[0].trim());
  } catch {
    return 0;
  }
}
function children(pid) {
  const r = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}
// name -> [pids]: each gateway alone, the worker pool, nginx workers, Redis, PostgreSQL, push.
export function stackProcesses() {
  const out = {};
  for (let i = 0; i < env.gateways; i++) out[`gateway-${i}`] = [readPid(path.join(env.run, 'pids', `gateway-${i}.pid`))];
  const api = readPid(path.join(env.run, 'pids', 'api.pid'));
  out.api = [api, ...children(api)];
  out.nginx = children(readPid(path.join(env.run, 'nginx', 'nginx.pid')));
  out.redis = [readPid(path.join(env.run, 'pids', 'redis.pid'))];
  const pg = readPid(path.join(env.run, 'pg', 'data', 'postmaster.pid'));
  out.postgres = [pg, ...children(pg)];
  out.push = [readPid(path.join(env.run, 'pids', 'push.pid'))];
  return out;
}

const TICK = 100;  // USER_HZ
export function procSample(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = (Number(f[11]) + Number(f[12])) / TICK;  // utime + stime, seconds
    return { rss, cpu };
  } catch {
    return { rss: 0, cpu: 0 };
  }
}
export function groupSample(pids) {
  let rss = 0, cpu = 0;
  for (const p of pids) {
    if (!p) continue;
    const s = procSample(p);
    rss += s.rss;
    cpu += s.cpu;
  }
  return { rss, cpu };
}
export function loadAverage() {
  return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

// The machine's CPU time so far: [busy, total] in clock ticks, over every core (/proc/stat).
function cpuTicks() {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = fields[3] + (fields[4] ?? 0);  // idle and iowait
  return [total - idle, total];
}

// Waits until the machine is quiet: less than `busy` of its CPU in use over half a second, at
// most `limitMs`. A scenario that starts while the last one's sockets are still being torn down
// (presence, watching events, the gateways' cleanup) measures that work too. Returns the share
// of CPU in use at the end.
export async function quiet({ busy = 0.15, limitMs = 20000 } = {}) {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const [b0, t0] = cpuTicks();
    await sleep(500);
    const [b1, t1] = cpuTicks();
    const share = t1 > t0 ? (b1 - b0) / (t1 - t0) : 0;
    if (share < busy || Date.now() >= deadline) return share;
  }
}

// --- Histograms ([[value_us, count], ...] from sbload) ---------------------------------------
export function mergeHist(list) {
  const m = new Map();
  for (const h of list) for (const [v, c] of h ?? []) m.set(v, (m.get(v) ?? 0) + c);
  return [...m.entries()].sort((a, b) => a[0] - b[0]);
}
export function percentile(hist, p) {
  const total = hist.reduce((s, [, c]) => s + c, 0);
  if (total === 0) return NaN;
  const want = Math.ceil((p / 100) * total);
  let seen = 0;
  for (const [v, c] of hist) {
    seen += c;
    if (seen >= want) return v;
  }
  return hist[hist.length - 1][0];
}
export const histMax = (hist) => (hist.length ? hist[hist.length - 1][0] : NaN);
export const histCount = (hist) => hist.reduce((s, [, c]) => s + c, 0);

export function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// --- sbload ----------------------------------------------------------------------------------
let procCounter = 0;
// Starts one generator. `plan`: lines "<user> <cid>...". Returns a handle with waitLine(kind),
// send(cmd), result() and kill().
export function startLoad(plan, args, { name = 'load', timeoutMs = 600000 } = {}) {
  const id = ++procCounter;
  const planFile = path.join(WORK, `${name}-${id}.plan`);
  fs.writeFileSync(planFile, plan.join('\n') + '\n');
  const errFile = path.join(WORK, `${name}-${id}.stderr`);
  const child = spawn(SBLOAD, ['--plan', planFile, '--api-key', env.apiKey, '--secret', env.secret,
    '--max-seconds', String(Math.ceil(timeoutMs / 1000)), ...args.map(String)],
    { stdio: ['pipe', 'pipe', fs.openSync(errFile, 'w')] });
  const lines = { READY: [], SENT: [], RESULT: [] };
  const waiters = [];
  let exited = null;
  readline.createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
    const sp = line.indexOf(' ');
    const kind = line.slice(0, sp);
    if (lines[kind]) lines[kind].push(JSON.parse(line.slice(sp + 1)));
    for (const w of [...waiters]) w();
  });
  // 'close', not 'exit': 'exit' can come before the last lines of stdout are read, and a RESULT
  // printed just before a clean exit was then reported missing (a 30 s load test failed so).
  child.on('close', (code) => {
    exited = code ?? -1;
    for (const w of [...waiters]) w();
  });
  const handle = {
    pid: child.pid,
    name,
    errFile,
    waitLine(kind, ms) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (lines[kind].length) {
            done();
            resolve(lines[kind][0]);
          } else if (exited !== null) {
            done();
            reject(new Error(`${name}: sbload exited (${exited}) before ${kind}; see ${errFile}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${name}: no ${kind} within ${ms} ms; see ${errFile}`));
        }, ms);
        const done = () => {
          clearTimeout(timer);
          const i = waiters.indexOf(check);
          if (i >= 0) waiters.splice(i, 1);
        };
        waiters.push(check);
        check();
      });
    },
    send(cmd) {
      if (exited === null) child.stdin.write(cmd + '\n');
    },
    async result(ms = 90000) {
      this.send('stop');
      const r = await this.waitLine('RESULT', ms);
      return r;
    },
    kill() {
      if (exited === null) child.kill('SIGKILL');
    },
  };
  return handle;
}

// Splits `items` into `n` nearly equal slices.
export function split(items, n) {
  const out = Array.from({ length: n }, () => []);
  items.forEach((x, i) => out[i % n].push(x));
  return out.filter((s) => s.length);
}

// --- wrk -------------------------------------------------------------------------------------
function toMs(s) {
  const m = /([\d.]+)(us|ms|s|m)/.exec(s);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60000;
}
export function wrk({ url, script, threads = 2, connections = 32, seconds = 5 }) {
  const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', '5s'];
  if (script) args.push('-s', script);
  args.push(url);
  const r = spawnSync('wrk', args, { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  const out = r.stdout ?? '';
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = sock ? sock.slice(1).reduce((s, x) => s + Number(x), 0) : 0;
  return { rps, p50, p99, requests, errors: non2xx + socketErrors, raw: out };
}

// --- Printing --------------------------------------------------------------------------------
export function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  const out = [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  return out.join('\n');
}
export const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
export const fmtInt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');
