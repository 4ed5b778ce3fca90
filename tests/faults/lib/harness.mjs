// The fault tests' common harness: a channel with senders and watchers under a steady message load,
// the stack controls (tests/faults/stackctl), and the final accounting: every acknowledged message
// stored exactly once and in every watcher's view exactly once (docs/delivery.md).

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  api, connectUser, openSocket, uniqueId, upsertUsers, userToken,
} from '../../contracts/lib/streambed.mjs';

export const RUN_DIR = process.env.STREAMBED_RUN_DIR;
const REPORTS = process.env.STREAMBED_TEST_REPORTS ?? RUN_DIR;
const STACKCTL = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'stackctl');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Waits (bounded) until `check` returns something truthy; returns it. `what` names the wait; a
// function there is called on timeout, to say what was seen last.
export async function until(what, check, timeoutMs = 30000, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    }
    await sleep(everyMs);
  }
}

// Runs tests/faults/stackctl. Its output goes to a log file, not a pipe: the daemons it starts
// must not hold a pipe of ours open.
export function stackctl(...args) {
  const log = path.join(REPORTS, 'faults-stackctl.log');
  const fd = fs.openSync(log, 'a');
  try {
    const out = path.join(REPORTS, `stackctl-${process.pid}.out`);
    const outFd = fs.openSync(out, 'w');
    const r = spawnSync(STACKCTL, args, { stdio: ['ignore', outFd, fd], timeout: 120000 });
    fs.closeSync(outFd);
    const text = fs.readFileSync(out, 'utf8');
    fs.rmSync(out);
    fs.appendFileSync(log, `$ stackctl ${args.join(' ')}\n${text}`);
    if (r.status !== 0) throw new Error(`stackctl ${args.join(' ')} failed (${r.status ?? r.signal}); see ${log}`);
    return text.trim();
  } finally {
    fs.closeSync(fd);
  }
}

export function psql(sql) {
  return execFileSync('psql', ['-h', path.join(RUN_DIR, 'pg'), '-p', '5432', '-U', 'streambed', '-d', 'streambed', '-AtX',
    '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' }).trim();
}

export function redis(...args) {
  return execFileSync('redis-cli', ['-s', path.join(RUN_DIR, 'redis', 'redis.sock'), ...args], { encoding: 'utf8' }).trim();
}

// The node id of a connection id (a snowflake: 10 bits of node after 12 bits of sequence).
export const nodeOf = (connectionId) => Number((BigInt(connectionId) >> 12n) & 0x3ffn);

// Gateway index -> its node id, from the last "gateway.started" line of its log.
export function gatewayNode(index) {
  const lines = fs.readFileSync(path.join(RUN_DIR, 'logs', `gateway-${index}.log`), 'utf8').split('\n');
  const started = lines.filter((l) => l.includes('"gateway.started"')).at(-1);
  return JSON.parse(started).node;
}

// All of a channel's persisted events after `after`, through /api/sync/ (paged).
export async function syncAfter(userId, cid, after) {
  const events = [];
  for (;;) {
    const res = await api('POST', '/api/sync/', { token: userToken(userId), body: { channel_cids: [cid], since_seq: { [cid]: after } } });
    if (res.status !== 200) throw new Error(`sync: ${res.status} ${res.text}`);
    events.push(...res.json.events);
    if (!res.json.truncated || res.json.events.length === 0) return events;
    after = events.at(-1).seq;
  }
}

// What one watcher saw: message ids with how often each arrived, and every seq.
class View {
  constructor(name) {
    this.name = name;
    this.counts = new Map();  // message id -> times seen live (or replayed)
    this.seqs = new Set();
    this.recovered = 0;       // message ids filled in from /api/sync/ after a gap
    this.resent = 0;          // events received again with a seq already seen (dropped)
  }
  // The client side of docs/delivery.md: an event whose seq was seen already is a re-sent copy
  // (a resume replays from the first gap, so what came after the gap comes again): dropped.
  take(event) {
    if (typeof event.seq === 'number') {
      if (this.seqs.has(event.seq)) {
        this.resent += 1;
        return;
      }
      this.seqs.add(event.seq);
    }
    if (event.type === 'message.new' && event.message) {
      this.counts.set(event.message.id, (this.counts.get(event.message.id) ?? 0) + 1);
    }
  }
  // The highest seq up to which this view has every event, starting after `base`.
  contiguous(base) {
    let s = base;
    while (this.seqs.has(s + 1)) s += 1;
    return s;
  }
}

// An SDK client watching the channel; after a reconnect the SDK re-queries it (§8), and a gap in
// the seqs it saw is filled from /api/sync/ (docs/delivery.md).
class SdkWatcher {
  constructor(userId) {
    this.userId = userId;
    this.view = new View(`sdk:${userId}`);
  }
  async start(channelId) {
    this.client = await connectUser(this.userId);
    this.channel = this.client.channel('messaging', channelId);
    this.client.on((event) => {
      if (event.cid === this.channel.cid) this.view.take(event);
    });
    await this.channel.watch();
  }
  connectionId() { return this.client.wsConnection?.connectionID ?? this.client.connectionID; }
  healthy() { return Boolean(this.client.wsConnection?.isHealthy); }
  async recover(base) {
    await until(`${this.view.name} reconnected`, () => this.healthy(), 60000);
    // What the SDK's own recovery put into the channel state counts as seen.
    for (const m of this.channel.state.messages) {
      if (!this.view.counts.has(m.id)) { this.view.counts.set(m.id, 1); this.view.recovered += 1; }
    }
    for (const e of await syncAfter(this.userId, this.channel.cid, this.view.contiguous(base))) {
      if (this.view.seqs.has(e.seq)) continue;
      this.view.seqs.add(e.seq);
      if (e.type === 'message.new' && !this.view.counts.has(e.message.id)) {
        this.view.counts.set(e.message.id, 1);
        this.view.recovered += 1;
      }
    }
  }
  async stop() { await this.client.disconnectUser().catch(() => {}); }
}

// A room socket through nginx that, whenever it is closed under it, reconnects with
// ?since_seq=<last contiguous seq> and so gets the room's missed events replayed.
class RoomWatcher {
  constructor(userId) {
    this.userId = userId;
    this.view = new View(`room:${userId}`);
    this.closing = false;
    this.reconnects = 0;
  }
  async start(cid, base) {
    this.cid = cid;
    this.base = base;
    await this.open(null);
  }
  async open(sinceSeq) {
    const res = await api('GET', '/api/ws-auth/', { token: userToken(this.userId), query: { cid: this.cid } });
    if (res.status !== 200) throw new Error(`ws-auth ${res.status}`);
    const q = sinceSeq === null ? '' : `&since_seq=${sinceSeq}`;
    const ws = await openSocket(`/ws/${this.cid}/?auth=${encodeURIComponent(res.json.auth)}${q}`);
    this.ws = ws;
    // Frames that came in the same read as the upgrade's answer were emitted before this code
    // ran: openSocket kept them in ws.frames. Take those, then every later one.
    let seen = 0;
    const drain = () => {
      for (; seen < ws.frames.length; seen++) {
        const frame = ws.frames[seen];
        if (frame.type === 'connection.ok') this.connId = frame.connection_id;
        this.view.take(frame);
      }
    };
    drain();
    ws.on('message', drain);
    // Only an established socket reconnects by itself; a failed open is retried by its caller.
    ws.on('close', () => { if (!this.closing && this.established === ws) this.reconnect(); });
    await ws.waitFor((f) => f.type === 'connection.ok', 10000);
    if (ws.closeInfo) throw new Error(`closed at once: ${ws.closeInfo.code}`);
    this.established = ws;
    this.connId = ws.frames.find((f) => f.type === 'connection.ok').connection_id;
  }
  connectionId() { return this.connId; }
  async reconnect() {
    this.ws = null;
    this.established = null;
    this.reconnects += 1;
    for (let attempt = 0; !this.closing && attempt < 200; attempt++) {
      try {
        await this.open(this.view.contiguous(this.base));
        return;
      } catch {
        await sleep(Math.min(100 * 2 ** attempt, 1000));
      }
    }
  }
  healthy() { return this.ws !== null && this.ws?.readyState === 1 && this.ws.frames.some((f) => f.type === 'connection.ok'); }
  // A room client that sees a gap (or wants proof it has everything) resumes from its last contiguous seq.
  async recover(base, head) {
    await until(`${this.view.name} reconnected`, () => this.healthy(), 60000);
    if (this.view.contiguous(base) < head) {
      this.ws.close();  // the close handler resumes
      const missing = () => {
        const gaps = [];
        for (let s = base + 1; s <= head && gaps.length < 10; s++) if (!this.view.seqs.has(s)) gaps.push(s);
        return `missing seqs ${gaps.join(',')} of ${base + 1}..${head}; ${this.reconnects} reconnects`;
      };
      await until(`${this.view.name} resumed`, () => this.view.contiguous(base) >= head, 30000).catch((err) => {
        throw new Error(`${err.message}: ${missing()}`);
      });
    }
  }
  async stop() {
    this.closing = true;
    this.ws?.close();
  }
}

// One scenario: `senders` users POST messages with their own ids (retrying with the same id until
// acknowledged; "already exists" is an acknowledgement), watched by SDK clients and room sockets,
// while `fault(ctx)` breaks something and waits for the stack to come back. Each sender waits
// `gapMs` after each acknowledgement, so that it stays inside the per-user budget of the test stack
// (600 calls a minute, scripts/test) for as long as a fault takes: the load comes from several
// senders, as it would from several people, not from one user over its rate limit.
export async function runScenario(name, fault, {
  senders = 8, sdkWatchers = 2, roomWatchers = 2, gapMs = 120, textBytes = 40, settleMs = 1500, after,
} = {}) {
  const tag = uniqueId(name);
  const senderIds = Array.from({ length: senders }, (_, i) => `${tag}-s${i}`);
  const sdkIds = Array.from({ length: sdkWatchers }, (_, i) => `${tag}-w${i}`);
  const roomIds = Array.from({ length: roomWatchers }, (_, i) => `${tag}-r${i}`);
  const server = await upsertUsers(...senderIds, ...sdkIds, ...roomIds);
  const channelId = `${tag}-ch`;
  const ch = server.channel('messaging', channelId, { members: [...senderIds, ...sdkIds, ...roomIds], created_by_id: senderIds[0] });
  await ch.create();
  const cid = ch.cid;
  const base = (await syncAfter(senderIds[0], cid, 0)).reduce((m, e) => Math.max(m, e.seq), 0);

  const sdk = sdkIds.map((id) => new SdkWatcher(id));
  const rooms = roomIds.map((id) => new RoomWatcher(id));
  await Promise.all(sdk.map((w) => w.start(channelId)));
  await Promise.all(rooms.map((w) => w.start(cid, base)));

  const stats = { sent: 0, acked: new Set(), statuses: {}, unexpected: [], retries: 0 };
  let running = true;
  const pad = 'x'.repeat(textBytes);
  const sendLoop = async (userId, s) => {
    for (let i = 0; running; i++) {
      const id = `${tag}-${s}-${i}`;
      stats.sent += 1;
      const deadline = Date.now() + 60000;
      for (let attempt = 0; ; attempt++) {
        let status = 0;
        let res = null;
        try {
          res = await api('POST', `/api/channels/messaging/${channelId}/message/`, {
            token: userToken(userId), body: { message: { id, text: `${id} ${pad}` } },
          });
          status = res.status;
        } catch {
          status = 0;  // the connection broke
        }
        const key = `${status}${res?.json?.code !== undefined ? `/${res.json.code}` : ''}`;
        stats.statuses[key] = (stats.statuses[key] ?? 0) + 1;
        if (status === 201 || status === 200) { stats.acked.add(id); break; }
        if (status === 400 && /already exists/.test(res.json?.message ?? '')) { stats.acked.add(id); break; }
        if ([0, 502, 503, 504].includes(status) && Date.now() < deadline) {
          stats.retries += 1;
          await sleep(Math.min(50 * 2 ** attempt, 500));
          continue;
        }
        stats.unexpected.push(`${id}: ${status} ${res?.text?.slice(0, 200)}`);
        break;
      }
      await sleep(gapMs);
    }
  };
  const load = Promise.all(senderIds.map((id, s) => sendLoop(id, `s${s}`)));
  const ctx = { cid, channelId, tag, sdk, rooms, stats, base, senderIds };
  let faultError = null;
  try {
    await sleep(800);
    await fault(ctx);
    await sleep(settleMs);
  } catch (err) {
    faultError = err;
  } finally {
    running = false;
    await load;
  }
  try {
    if (faultError) throw faultError;
    if (after) await after(ctx);
    // Accounting.
    const head = (await syncAfter(senderIds[0], cid, base)).reduce((m, e) => Math.max(m, e.seq), base);
    await Promise.all(sdk.map((w) => w.recover(base)));
    await Promise.all(rooms.map((w) => w.recover(base, head)));
    const q = (sql) => psql(sql).split('\n').filter(Boolean);
    const esc = cid.replace(/'/g, "''");
    const storedCount = new Map();
    for (const id of q(`SELECT m.id FROM messages m JOIN channels c ON c.pk = m.channel_pk WHERE c.cid = '${esc}'`)) {
      storedCount.set(id, (storedCount.get(id) ?? 0) + 1);
    }
    const eventCount = new Map();
    for (const id of q(`SELECT e.payload::json->'message'->>'id' FROM channel_events e JOIN channels c ON c.pk = e.channel_pk ` +
      `WHERE c.cid = '${esc}' AND e.type = 'message.new'`)) {
      eventCount.set(id, (eventCount.get(id) ?? 0) + 1);
    }
    const acked = [...stats.acked];
    const stored = acked.filter((id) => storedCount.get(id) === 1 && eventCount.get(id) === 1).length;
    const views = [...sdk, ...rooms].map((w) => w.view);
    const deliveredPer = views.map((v) => acked.filter((id) => v.counts.get(id) === 1).length);
    const duplicates = views.flatMap((v) => [...v.counts].filter(([, n]) => n > 1).map(([id, n]) => `${v.name} got ${id} ${n} times`));
    const lost = acked.filter((id) => !(storedCount.get(id) === 1 && eventCount.get(id) === 1 && views.every((v) => v.counts.get(id) === 1)));
    const row = {
      fault: name,
      sent: stats.sent,
      acked: acked.length,
      stored,
      delivered: Math.min(...deliveredPer),
      recovered: Math.max(0, ...views.map((v) => v.recovered)),
      resent: views.reduce((n, v) => n + v.resent, 0),
      lost: lost.length,
      watchers: views.length,
      retries: stats.retries,
      statuses: stats.statuses,
    };
    fs.appendFileSync(path.join(REPORTS, 'faults-table.jsonl'), `${JSON.stringify(row)}\n`);
    assert.deepEqual(stats.unexpected, [], 'every send was acknowledged or retried');
    assert.ok(acked.length >= 15, `a steady load: ${acked.length} messages acknowledged`);
    assert.deepEqual(duplicates, [], 'no watcher saw a message twice');
    assert.deepEqual(lost.slice(0, 10), [], `lost ${lost.length} of ${acked.length} acknowledged messages`);
    // Nothing stored that was not sent by us, and every stored message was sent.
    for (const id of storedCount.keys()) assert.ok(id.startsWith(tag), `unexpected message ${id}`);
    return { ...ctx, row };
  } finally {
    await Promise.all([...sdk, ...rooms].map((w) => w.stop()));
  }
}
