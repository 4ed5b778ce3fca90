// The benchmark tools work (bench/sbload.cpp, used by scripts/bench and scripts/loadtest): 1,000
// generator sockets connect through nginx with the /api/connect handshake, watch one channel, and
// each receives every message a second generator sends through REST exactly once. Behaviour only:
// the timing figures live in scripts/bench.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { API_KEY, API_SECRET, BASE_URL, serverClient, uniqueId } from './lib/streambed.mjs';

const SBLOAD = path.join(process.env.STREAMBED_BUILD_DIR ?? '', 'bench', 'sbload');
const PORT = new URL(BASE_URL).port;

function sbload(plan, args) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbload-'));
  fs.writeFileSync(path.join(dir, 'plan'), plan.join('\n') + '\n');
  const child = spawn(SBLOAD, ['--plan', path.join(dir, 'plan'), '--api-key', API_KEY, '--secret', API_SECRET,
    '--max-seconds', '60', ...args.map(String)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const seen = {};
  const waiters = [];
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const sp = line.indexOf(' ');
    seen[line.slice(0, sp)] = JSON.parse(line.slice(sp + 1));
    for (const w of [...waiters]) w();
  });
  child.on('exit', () => waiters.forEach((w) => w()));
  return {
    child,
    wait: (kind, ms = 30000) => new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`sbload: no ${kind} within ${ms} ms`)), ms);
      const check = () => {
        if (seen[kind]) {
          clearTimeout(t);
          resolve(seen[kind]);
        } else if (child.exitCode !== null) {
          clearTimeout(t);
          reject(new Error(`sbload exited ${child.exitCode} before ${kind}`));
        }
      };
      waiters.push(check);
      check();
    }),
    send: (cmd) => child.stdin.write(cmd + '\n'),
  };
}

// 1,000 concurrent connections (the Beta milestone) on the test stack's two gateways: every socket
// gets every message exactly once.
const SOCKETS = 1000;

test(`sbload: ${SOCKETS} sockets through nginx each receive every message exactly once`, { timeout: 120000 }, async () => {
  assert.ok(fs.existsSync(SBLOAD), `${SBLOAD} is built`);
  const prefix = uniqueId('lg');
  const users = Array.from({ length: SOCKETS }, (_, i) => `${prefix}-${i}`);
  const server = serverClient();
  const id = uniqueId('lgc');
  const cid = `messaging:${id}`;
  // getstream.io takes at most 100 users per upsert and 100 members per call.
  for (let i = 0; i < SOCKETS; i += 100) await server.upsertUsers(users.slice(i, i + 100).map((u) => ({ id: u })));
  const channel = server.channel('messaging', id, { members: users.slice(0, 100), created_by_id: users[0] });
  await channel.create();
  for (let i = 100; i < SOCKETS; i += 100) await channel.addMembers(users.slice(i, i + 100));

  const common = ['--ws-ports', PORT, '--rest-port', PORT, '--nonce', 'lgtest', '--track', '--drain-ms', '800'];
  const watchers = sbload(users.map((u) => `${u} ${cid}`), [...common, '--proc', 2]);
  const ready = await watchers.wait('READY', 60000);
  assert.equal(ready.connected, SOCKETS);
  assert.equal(ready.watching, SOCKETS);

  const sender = sbload([`${users[0]} ${cid}`], [...common, '--mode', 'none', '--proc', 1, '--send-rate', 20, '--seconds', 0.5]);
  await sender.wait('READY');
  sender.send('go');
  await sender.wait('SENT');
  sender.send('stop');
  const sent = await sender.wait('RESULT');
  watchers.send('stop');
  const got = await watchers.wait('RESULT');

  const keys = Object.keys(sent.sends);
  assert.ok(keys.length >= 5, `sent ${keys.length} messages`);
  for (const k of keys) assert.equal(sent.sends[k][1], 200, `send ${k} answered 200`);
  assert.equal(got.duplicates, 0);
  for (const k of keys) assert.equal(got.received[k], SOCKETS, `message ${k} reached every socket`);
  assert.equal(got.deliveries, keys.length * SOCKETS);
  assert.equal(got.failed, 0);
  assert.ok(got.latency_us.length > 0);
});
