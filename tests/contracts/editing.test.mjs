// Issue 7, the route: POST/GET /api/editing-audit-state/ (API.md §4, docs/ot.md "The server
// side"). Concurrent editors converge on one linear history, the broadcasts carry the transformed
// ops and cursors to both kinds of socket, stale bases get 409 and resync, access is enforced,
// typing events and the idle drop-out happen, and bad input is refused with nothing applied.
// Clients are simulated with ot.js (the npm `ot` package), the implementation browsers run.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import ot from 'ot';

import {
  API_KEY, BASE_URL, api, connectUserVia, upsertUsers, openRoomSocket, uniqueId, userToken,
} from './lib/streambed.mjs';

const { TextOperation } = ot;
const ROUTE = '/api/editing-audit-state/';
// scripts/test sets it to a few seconds; the server's default is 30.
const IDLE_TIMEOUT_S = Number(process.env.STREAMBED_EDITING_IDLE_TIMEOUT ?? 30);

const post = (user, body) => api('POST', ROUTE, { token: userToken(user), body });
const get = (user, cid, messageId) =>
  api('GET', ROUTE, { token: userToken(user), query: messageId ? { cid, message_id: messageId } : { cid } });

// The answers without the `duration` every reply carries.
async function postOk(user, body) {
  const res = await post(user, body);
  assert.equal(res.status, 200, `POST ${JSON.stringify(body).slice(0, 200)}: ${res.status} ${res.text}`);
  const { duration, ...rest } = res.json;
  assert.match(duration, /ms$/);
  return rest;
}
async function getOk(user, cid, messageId) {
  const res = await get(user, cid, messageId);
  assert.equal(res.status, 200, `GET: ${res.status} ${res.text}`);
  const { duration, ...rest } = res.json;
  assert.match(duration, /ms$/);
  return rest;
}

// A seeded generator (mulberry32), so that a failure can be replayed.
function rng(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (n) => Math.floor(next() * n);
}

// Inserted text mixes ASCII, accents, a combining mark, CJK and surrogate pairs.
const ALPHABET = ['a', 'b', ' ', 'é', '\u0301', '中', '😀', 'X', '🎉'];
const randomText = (r, max = 3) => Array.from({ length: 1 + r(max) }, () => ALPHABET[r(ALPHABET.length)]).join('');
// UTF-16 position of code point `i` of `text` (never inside a surrogate pair).
const unitsOf = (text, i) => Array.from(text).slice(0, i).join('').length;
const boundary = (r, text) => unitsOf(text, r(Array.from(text).length + 1));

// A random operation on `text`, cut at code point boundaries (what an editor produces).
function randomOp(r, text) {
  const chars = Array.from(text);
  const op = new TextOperation();
  let i = 0;
  for (;;) {
    const choice = r(10);
    if (i === chars.length) {
      if (choice < 3) op.insert(randomText(r));
      return op;
    }
    const run = Math.min(chars.length - i, 1 + r(4));
    const units = chars.slice(i, i + run).join('').length;
    if (choice < 5) op.retain(units);
    else if (choice < 8) op.delete(units);
    else {
      op.insert(randomText(r));
      continue;
    }
    i += run;
  }
}

// docs/ot.md "Cursors": a cursor moved through someone else's op (own = false) stays in front
// of text inserted exactly at it; ot.js's Selection.Range.transform is the own = true case.
function moveCursor(cursor, op) {
  const move = (position) => {
    let ahead = position;
    let moved = position;
    for (const c of op.ops) {
      if (TextOperation.isRetain(c)) ahead -= c;
      else if (TextOperation.isInsert(c)) {
        if (ahead > 0) moved += c.length;
      } else {
        moved -= Math.min(ahead, -c);
        ahead += c;
      }
      if (ahead < 0) break;
    }
    return moved;
  };
  return { anchor: move(cursor.anchor), head: move(cursor.head) };
}

// Every editing.state a socket or SDK client saw, by version (ops-carrying events only).
function editsByVersion(events, messageId = null) {
  const byVersion = new Map();
  for (const e of events) {
    if (e.type !== 'editing.state' || e.ops === null || e.message_id !== messageId) continue;
    assert.ok(!byVersion.has(e.version), `version ${e.version} broadcast twice`);
    byVersion.set(e.version, e);
  }
  return byVersion;
}

// Waits for a frame that arrives from now on (earlier tests' frames do not count).
function nextFrame(ws, predicate, timeoutMs) {
  const from = ws.frames.length;
  return ws.waitFor((f) => ws.frames.indexOf(f) >= from && predicate(f), timeoutMs);
}

async function waitUntil(what, predicate, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

// A POST whose body is raw bytes (invalid UTF-8 cannot be written with JSON.stringify).
async function postRaw(user, bytes) {
  const res = await fetch(`${BASE_URL}${ROUTE}?api_key=${API_KEY}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: userToken(user), 'stream-auth-type': 'jwt' },
    body: bytes,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null, text };
}

describe('POST/GET /api/editing-audit-state/', () => {
  let owner, peer, watcher, stranger, server, channel, cid, other;
  let sdk, sdkChannel, sdkEvents, room;
  const EMOJI_TEXT = 'Hello 😀 wörld';

  before(async () => {
    owner = uniqueId('eo');
    peer = uniqueId('ep');
    watcher = uniqueId('ew');
    stranger = uniqueId('es');
    server = await upsertUsers(owner, peer, watcher, stranger);
    // The owner (channel role "owner") may edit any message; the peer only its own.
    channel = server.channel('messaging', uniqueId('edit'), { members: [owner, peer, watcher], created_by_id: owner });
    await channel.create();
    cid = channel.cid;
    other = server.channel('messaging', uniqueId('edit-other'), { members: [owner], created_by_id: owner });
    await other.create();
    // Watchers on both surfaces: the SDK on gateway 1, a room socket through nginx.
    sdk = await connectUserVia(1, watcher);
    sdkChannel = sdk.channel('messaging', channel.id);
    await sdkChannel.watch();
    sdkEvents = [];
    sdk.on((e) => sdkEvents.push(e));
    room = await openRoomSocket(watcher, cid);
  });
  after(async () => {
    room?.close();
    await sdk?.disconnectUser();
  });

  it('a new composer is empty at version 0; a message document starts with the message text', async () => {
    assert.deepEqual(await getOk(peer, cid), { version: 0, text: '', participants: [] });
    const { message } = await channel.sendMessage({ text: EMOJI_TEXT, user_id: peer });
    const doc = await getOk(peer, cid, message.id);
    assert.deepEqual(doc, { version: 0, text: EMOJI_TEXT, participants: [] });
    // Editing it: positions are UTF-16 units, so the emoji is 2 of them.
    const res = await postOk(peer, {
      cid, state: 'editing', message_id: message.id, base_version: 0, ops: [6, -2, '🙂', 6],
      cursor: { anchor: 8, head: 8 },
    });
    assert.deepEqual(res, { version: 1, ops: [6, '🙂', -2, 6], cursor: { anchor: 8, head: 8 } });
    const after1 = await getOk(watcher, cid, message.id);
    assert.equal(after1.text, 'Hello 🙂 wörld');
    assert.equal(after1.version, 1);
    assert.equal(after1.participants.length, 1);
    const [p] = after1.participants;
    assert.equal(p.user.id, peer);
    assert.equal(p.state, 'editing');
    assert.deepEqual(p.cursor, { anchor: 8, head: 8 });
    assert.match(p.updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3,}Z$/);
    // The composer is another document: untouched.
    assert.equal((await getOk(peer, cid)).version, 0);
  });

  it('conflicting ops fired at the same time converge on one linear history; both sockets see the transformed ops and cursors', async () => {
    const a = owner;
    const b = peer;
    const r = rng(7001);
    const ROUNDS = 30;
    const start = await getOk(a, cid);
    const expected = [];  // {version, user, ops, cursor}
    for (let round = 0; round < ROUNDS; round += 1) {
      const { version, text } = await getOk(a, cid);
      const len = text.length;
      let opA, opB, curA, curB;
      const kind = round % 3;
      if (kind === 0 || Array.from(text).length < 4) {
        // Both type at one position: the tie the server resolves by arrival order.
        const p = boundary(r, text);
        const insA = `A${round}${randomText(r)}`;
        const insB = `B${round}${randomText(r)}`;
        opA = new TextOperation().retain(p).insert(insA).retain(len - p);
        opB = new TextOperation().retain(p).insert(insB).retain(len - p);
        curA = { anchor: p + insA.length, head: p + insA.length };
        curB = { anchor: p + insB.length, head: p + insB.length };
      } else if (kind === 1) {
        // Overlapping deletes, each with a selection around the place it deleted.
        const chars = Array.from(text).length;
        const i = r(chars - 2);
        const p = unitsOf(text, i);
        const q = unitsOf(text, Math.min(chars, i + 2 + r(3)));
        const p2 = unitsOf(text, i + 1);
        const q2 = unitsOf(text, Math.min(chars, i + 3 + r(3)));
        opA = new TextOperation().retain(p).delete(q - p).retain(len - q);
        opB = new TextOperation().retain(p2).delete(q2 - p2).insert('ç').retain(len - q2);
        curA = { anchor: 0, head: p };
        curB = { anchor: p2 + 1, head: 0 };
      } else {
        opA = randomOp(r, text);
        opB = randomOp(r, text);
        const ta = opA.apply(text);
        const tb = opB.apply(text);
        curA = { anchor: boundary(r, ta), head: boundary(r, ta) };
        curB = { anchor: boundary(r, tb), head: boundary(r, tb) };
      }
      // Fired together, so that the two workers race for the same document.
      const [ra, rb] = await Promise.all([
        post(a, { cid, state: 'editing', base_version: version, ops: opA.toJSON(), cursor: curA }),
        post(b, { cid, state: 'editing', base_version: version, ops: opB.toJSON(), cursor: curB }),
      ]);
      assert.equal(ra.status, 200, ra.text);
      assert.equal(rb.status, 200, rb.text);
      assert.deepEqual([ra.json.version, rb.json.version].sort((x, y) => x - y), [version + 1, version + 2]);
      const aFirst = ra.json.version === version + 1;
      const [first, second] = aFirst
        ? [{ user: a, op: opA, cur: curA, res: ra.json }, { user: b, op: opB, cur: curB, res: rb.json }]
        : [{ user: b, op: opB, cur: curB, res: rb.json }, { user: a, op: opA, cur: curA, res: ra.json }];
      // The first applies as sent; the second is transformed past it, incoming op first.
      assert.deepEqual(first.res.ops, first.op.toJSON());
      assert.deepEqual(first.res.cursor, first.cur);
      const [secondPrime, firstPrime] = TextOperation.transform(second.op, TextOperation.fromJSON(first.res.ops));
      assert.deepEqual(second.res.ops, secondPrime.toJSON(), `round ${round}`);
      assert.deepEqual(second.res.cursor, moveCursor(second.cur, firstPrime), `round ${round}`);
      // Each client, doing what an ot.js client does, ends with the server's text.
      const serverText = TextOperation.fromJSON(second.res.ops).apply(TextOperation.fromJSON(first.res.ops).apply(text));
      const firstClient = TextOperation.fromJSON(second.res.ops).apply(first.op.apply(text));
      const secondClient = firstPrime.apply(second.op.apply(text));
      const now = await getOk(b, cid);
      assert.equal(now.version, version + 2);
      assert.equal(now.text, serverText);
      assert.equal(firstClient, now.text, `round ${round}`);
      assert.equal(secondClient, now.text, `round ${round}`);
      assert.ok(now.text.isWellFormed());
      expected.push({ version: version + 1, user: first.user, ops: first.res.ops, cursor: first.res.cursor });
      expected.push({ version: version + 2, user: second.user, ops: second.res.ops, cursor: second.res.cursor });
    }
    // The history is linear: versions start..start+2R, each once, and replaying the broadcast ops
    // in version order from the starting text gives the final text, on both kinds of socket.
    const last = start.version + 2 * ROUNDS;
    assert.equal((await getOk(a, cid)).version, last);
    await waitUntil('every version on the SDK socket', () => editsByVersion(sdkEvents).size >= last - start.version);
    await waitUntil('every version on the room socket', () => editsByVersion(room.frames).size >= last - start.version);
    const final = (await getOk(a, cid)).text;
    for (const [name, seen] of [['sdk', editsByVersion(sdkEvents)], ['room', editsByVersion(room.frames)]]) {
      let text = start.text;
      for (let v = start.version + 1; v <= last; v += 1) {
        const e = seen.get(v);
        assert.ok(e, `${name}: version ${v} missing`);
        const x = expected[v - start.version - 1];
        assert.equal(e.user.id, x.user, `${name} v${v}`);
        assert.deepEqual(e.ops, x.ops, `${name} v${v}`);
        assert.deepEqual(e.cursor, x.cursor, `${name} v${v}`);
        assert.equal(e.state, 'editing');
        assert.equal(e.cid, cid);
        assert.equal(e.channel_type, 'messaging');
        assert.equal(e.message_id, null);
        assert.match(e.created_at, /Z$/);
        text = TextOperation.fromJSON(e.ops).apply(text);
      }
      assert.equal(text, final, name);
    }
  });

  it('a burst of calls on one base version gets consecutive versions, each op transformed past the earlier ones', async () => {
    const ch = server.channel('messaging', uniqueId('edit-burst'), { members: [owner, peer], created_by_id: owner });
    await ch.create();
    await postOk(owner, { cid: ch.cid, state: 'editing', base_version: 0, ops: ['one two three'] });
    const { version, text } = await getOk(owner, ch.cid);
    const BURST = 10;
    const ops = Array.from({ length: BURST }, (_, i) => {
      const p = (i * 3) % (text.length + 1);
      // Mostly inserts of a tag; every fourth also deletes the character after it.
      const op = new TextOperation().retain(p).insert(`<${i}>`);
      return i % 4 === 3 && p < text.length ? op.delete(1).retain(text.length - p - 1) : op.retain(text.length - p);
    });
    const answers = await Promise.all(ops.map((op, i) =>
      post(i % 2 ? peer : owner, { cid: ch.cid, state: 'editing', base_version: version, ops: op.toJSON() })));
    for (const a of answers) assert.equal(a.status, 200, a.text);
    const byVersion = answers.map((a, i) => ({ ...a.json, op: ops[i], tag: `<${i}>` })).sort((x, y) => x.version - y.version);
    assert.deepEqual(byVersion.map((a) => a.version), Array.from({ length: BURST }, (_, k) => version + 1 + k));
    // What ot.js's Server does with the same arrivals: each op past every earlier one, in turn.
    let replay = text;
    const applied = [];
    for (const a of byVersion) {
      let expected = a.op;
      for (const h of applied) [expected] = TextOperation.transform(expected, h);
      assert.deepEqual(a.ops, expected.toJSON(), `version ${a.version}`);
      applied.push(TextOperation.fromJSON(a.ops));
      replay = applied.at(-1).apply(replay);
    }
    const doc = await getOk(peer, ch.cid);
    assert.equal(doc.version, version + BURST);
    assert.equal(doc.text, replay);
    for (const a of byVersion) assert.equal(doc.text.split(a.tag).length, 2, `${a.tag} once in ${doc.text}`);
  });

  it('other participants\' cursors follow accepted ops, and so does the caller\'s last one', async () => {
    const { message } = await channel.sendMessage({ text: 'abcdef', user_id: peer });
    const mid = message.id;
    // The peer selects "de"; the owner (who may edit any message) places a caret after "c".
    await postOk(peer, { cid, state: 'editing', message_id: mid, cursor: { anchor: 3, head: 5 } });
    await postOk(owner, { cid, state: 'editing', message_id: mid, cursor: { anchor: 3, head: 3 } });
    // The owner types at its caret without sending a new one: "abc>>def".
    const typed = await postOk(owner, { cid, state: 'editing', message_id: mid, base_version: 0, ops: [3, '>>', 3] });
    assert.deepEqual(typed, { version: 1, ops: [3, '>>', 3], cursor: null });
    const doc = await getOk(watcher, cid, mid);
    assert.equal(doc.text, 'abc>>def');
    const cursors = Object.fromEntries(doc.participants.map((p) => [p.user.id, p.cursor]));
    // The peer's selection: its start stays in front of text someone else typed exactly there, so
    // it now spans ">>de". The owner's stored caret moved past its own typing, as an editor's does.
    assert.deepEqual(cursors, { [peer]: { anchor: 3, head: 7 }, [owner]: { anchor: 5, head: 5 } });
  });

  it('a stale base gets 409, and the client resyncs with GET and goes on', async () => {
    const ch = server.channel('messaging', uniqueId('edit-409'), { members: [owner, peer], created_by_id: owner });
    await ch.create();
    // 201 ops: the history keeps the last 200, so base 0 can no longer be caught up.
    let version = 0;
    for (let i = 0; i < 201; i += 1) {
      const res = await postOk(owner, { cid: ch.cid, state: 'typing', base_version: version, ops: i === 0 ? ['x'] : [i, 'x'] });
      version = res.version;
    }
    assert.equal(version, 201);
    const caughtUp = await postOk(peer, { cid: ch.cid, state: 'editing', base_version: 1, ops: ['P', 1] });
    assert.equal(caughtUp.version, 202);
    assert.deepEqual(caughtUp.ops, ['P', 201]);
    const stale = await post(peer, { cid: ch.cid, state: 'editing', base_version: 0, ops: ['Q'] });
    assert.equal(stale.status, 409, stale.text);
    assert.ok(stale.json.exception_fields.base_version, stale.text);
    assert.match(stale.json.message, /older than the kept history/);
    const newer = await post(peer, { cid: ch.cid, state: 'editing', base_version: 500, ops: [202] });
    assert.equal(newer.status, 409, newer.text);
    // Resync: read the document, rebase the edit on it, send again.
    const doc = await getOk(peer, ch.cid);
    assert.equal(doc.version, 202);
    assert.equal(doc.text, 'P' + 'x'.repeat(201));
    const retried = await postOk(peer, {
      cid: ch.cid, state: 'editing', base_version: doc.version, ops: ['Q', doc.text.length],
    });
    assert.equal(retried.version, 203);
    assert.equal((await getOk(owner, ch.cid)).text, 'QP' + 'x'.repeat(201));
  });

  it('only members who may send messages, on messages they may edit', async () => {
    // Not a member: 403 code 17, for POST and for GET of a members-only room.
    const outsider = await post(stranger, { cid, state: 'typing' });
    assert.equal(outsider.status, 403, outsider.text);
    assert.equal(outsider.json.code, 17);
    assert.equal((await get(stranger, cid)).status, 403);
    // Unknown room, unknown message, a message of another room.
    assert.equal((await post(owner, { cid: 'messaging:no-such-room-e', state: 'typing' })).status, 404);
    const unknown = await post(owner, { cid, state: 'editing', message_id: 'no-such-message-e' });
    assert.equal(unknown.status, 404, unknown.text);
    assert.equal((await get(owner, cid, 'no-such-message-e')).status, 404);
    const { message: elsewhere } = await other.sendMessage({ text: 'elsewhere', user_id: owner });
    const wrongRoom = await post(owner, { cid, state: 'editing', message_id: elsewhere.id });
    assert.equal(wrongRoom.status, 403, wrongRoom.text);
    // Someone else's message: the peer may not; the owner (channel owner: update-any-message) may.
    const { message: ownersMessage } = await channel.sendMessage({ text: 'owned', user_id: owner });
    const { message: peersMessage } = await channel.sendMessage({ text: 'peer text', user_id: peer });
    const notYours = await post(peer, { cid, state: 'editing', message_id: ownersMessage.id, base_version: 0, ops: [5, '!'] });
    assert.equal(notYours.status, 403, notYours.text);
    assert.equal(notYours.json.code, 17);
    assert.equal((await getOk(peer, cid, ownersMessage.id)).version, 0);  // reading is allowed
    const own = await postOk(peer, { cid, state: 'editing', message_id: peersMessage.id, base_version: 0, ops: [9, '!'] });
    assert.equal(own.version, 1);
    const moderated = await postOk(owner, { cid, state: 'editing', message_id: peersMessage.id, base_version: 1, ops: ['[', 10] });
    assert.equal(moderated.version, 2);
    assert.equal((await getOk(peer, cid, peersMessage.id)).text, '[peer text!');
    // A frozen room: nobody below admin may send messages there, so nobody edits.
    const frozen = server.channel('messaging', uniqueId('edit-frozen'), { members: [owner, peer], created_by_id: owner });
    await frozen.create();
    await frozen.update({ frozen: true });
    const refused = await post(peer, { cid: frozen.cid, state: 'typing' });
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.json.code, 17);
  });

  it('typing emits typing.start and idle typing.stop, on both sockets, besides editing.state', async () => {
    const fromSdk = sdkEvents.length;
    const sdkSaw = (type) => sdkEvents.slice(fromSdk).some((x) => x.type === type && x.user?.id === peer);
    const startOnRoom = nextFrame(room, (f) => f.type === 'typing.start' && f.user.id === peer);
    const editingOnRoom = nextFrame(room, (f) => f.type === 'editing.state' && f.user.id === peer && f.state === 'typing');
    await postOk(peer, { cid, state: 'typing' });
    const start = await startOnRoom;
    assert.equal(start.cid, cid);
    assert.equal(start.parent_id, undefined);
    const e = await editingOnRoom;
    assert.equal(e.ops, null);
    assert.equal(e.cursor, null);
    assert.equal(typeof e.version, 'number');
    await waitUntil('typing.start on the SDK', () => sdkSaw('typing.start'));
    await waitUntil('editing.state on the SDK', () => sdkSaw('editing.state'));
    const stopOnRoom = nextFrame(room, (f) => f.type === 'typing.stop' && f.user.id === peer);
    await postOk(peer, { cid, state: 'idle' });
    await stopOnRoom;
    await waitUntil('typing.stop on the SDK', () => sdkSaw('typing.stop'));
    // editing emits neither (the owner never types in this room).
    const ownTyping = () => room.frames.filter((f) => f.type.startsWith('typing.') && f.user?.id === owner).length;
    const before = ownTyping();
    const marker = nextFrame(room, (f) => f.type === 'editing.state' && f.user.id === owner && f.state === 'editing');
    await postOk(owner, { cid, state: 'editing' });
    await marker;
    assert.equal(ownTyping(), before);
  });

  it(`a participant silent for STREAMBED_EDITING_IDLE_TIMEOUT (${IDLE_TIMEOUT_S} s here) drops out with typing.stop`, async () => {
    const ch = server.channel('messaging', uniqueId('edit-idle'), { members: [owner, peer, watcher], created_by_id: owner });
    await ch.create();
    const ws = await openRoomSocket(watcher, ch.cid);
    try {
      const started = ws.waitFor((f) => f.type === 'typing.start' && f.user.id === owner);
      // Taken before the call: the server's deadline is its commit time (later) plus the timeout.
      const t0 = Date.now();
      await postOk(owner, { cid: ch.cid, state: 'typing', base_version: 0, ops: ['hi'], cursor: { anchor: 2, head: 2 } });
      await started;
      // The peer keeps calling (every third of the timeout) and so stays listed.
      await postOk(peer, { cid: ch.cid, state: 'editing' });
      let keepGoing = true;
      const keeper = (async () => {
        while (keepGoing) {
          await new Promise((res) => setTimeout(res, (IDLE_TIMEOUT_S * 1000) / 3));
          await postOk(peer, { cid: ch.cid, state: 'editing' });
        }
      })();
      const listed = await getOk(watcher, ch.cid);
      assert.deepEqual(listed.participants.map((p) => p.user.id).sort(), [owner, peer].sort());
      // The sweep runs every second on every gateway: the stop comes within timeout + ~1 s.
      const stop = await ws.waitFor((f) => f.type === 'typing.stop' && f.user.id === owner, IDLE_TIMEOUT_S * 1000 + 4000);
      const elapsed = Date.now() - t0;
      assert.ok(elapsed >= IDLE_TIMEOUT_S * 1000 - 20, `typing.stop after ${elapsed} ms`);
      assert.equal(stop.cid, ch.cid);
      const later = await getOk(watcher, ch.cid);
      assert.deepEqual(later.participants.map((p) => p.user.id), [peer]);
      assert.equal(later.text, 'hi');  // the document stays; only the participant left
      keepGoing = false;
      await keeper;
      // Exactly one typing.stop for it, though every gateway sweeps.
      await new Promise((res) => setTimeout(res, 1500));
      assert.equal(ws.frames.filter((f) => f.type === 'typing.stop' && f.user.id === owner).length, 1);
      // The peer never typed (editing): it never gets a typing.stop of its own while it calls.
      assert.equal(ws.frames.filter((f) => f.type === 'typing.stop' && f.user.id === peer).length, 0);
    } finally {
      ws.close();
    }
  });

  it('bad input is 400 naming the field, and nothing is applied', async () => {
    const ch = server.channel('messaging', uniqueId('edit-bad'), { members: [owner], created_by_id: owner });
    await ch.create();
    const c = ch.cid;
    const text = 'a😀b';  // 4 UTF-16 units
    await postOk(owner, { cid: c, state: 'editing', base_version: 0, ops: [text], cursor: { anchor: 4, head: 4 } });
    const baseline = await getOk(owner, c);
    assert.equal(baseline.version, 1);
    const ok = { cid: c, state: 'editing', base_version: 1 };
    const cases = [
      ['missing cid', { state: 'typing' }, 'cid', /cid is required/],
      ['malformed cid', { cid: 'nocolon', state: 'typing' }, 'cid', /cid must be/],
      ['missing state', { cid: c }, 'state', /state is required/],
      ['unknown state', { cid: c, state: 'dancing' }, 'state', /typing, editing or idle/],
      ['ops not an array', { ...ok, ops: 'abc' }, 'ops', /ops must be an array/],
      ['ops too short', { ...ok, ops: [3] }, 'ops', /covers 3 of the document's 4/],
      ['retain past the end', { ...ok, ops: [1, 'x', 9] }, 'ops', /ops\[2\]/],
      ['delete past the end', { ...ok, ops: [1, -2, -5] }, 'ops', /ops\[1\]|ops\[2\]/],
      ['retain into a surrogate pair', { ...ok, ops: [2, 2] }, 'ops', /ops\[0\].*surrogate/],
      ['zero count', { ...ok, ops: [0, 4] }, 'ops', /ops\[0\]: a count must not be zero/],
      ['fractional count', { ...ok, ops: [1.5, 2.5] }, 'ops', /ops\[0\]: counts must be integers/],
      ['huge count', { ...ok, ops: [4, 1e12] }, 'ops', /ops\[1\]: counts must be within/],
      ['huge negative count', { ...ok, ops: [-1e12] }, 'ops', /ops\[0\]: counts must be within/],
      ['an object in ops', { ...ok, ops: [4, { x: 1 }] }, 'ops', /ops\[1\]: must be a positive integer/],
      ['an empty insert', { ...ok, ops: [4, ''] }, 'ops', /ops\[1\]: an insert must not be empty/],
      ['insert over 64 KiB', { ...ok, ops: [4, 'x'.repeat(70000)] }, 'ops', /exceeds 65536 bytes/],
      ['a 1 MB insert', { ...ok, ops: ['y'.repeat(1000000), 4] }, 'ops', /ops\[0\]: inserted text exceeds/],
      ['result over the message length', { ...ok, ops: [4, 'z'.repeat(4998)] }, 'ops', /over this channel's limit of 5000/],
      ['ops without base_version', { cid: c, state: 'editing', ops: [4, '!'] }, 'base_version', /required with ops/],
      ['negative base_version', { ...ok, base_version: -1, ops: [4] }, 'base_version', /between 0 and/],
      ['huge base_version', { ...ok, base_version: 1e300, ops: [4] }, 'base_version', /base_version/],
      ['base_version not a number', { ...ok, base_version: 'one', ops: [4] }, 'base_version', /base_version/],
      ['cursor outside the document', { ...ok, ops: [4, '!'], cursor: { anchor: 0, head: 9 } }, 'cursor', /head 9 is outside/],
      ['cursor outside without ops', { ...ok, cursor: { anchor: 5, head: 5 } }, 'cursor', /anchor 5 is outside/],
      ['negative cursor', { ...ok, cursor: { anchor: -1, head: 0 } }, 'cursor', /cursor.anchor must be between/],
      ['cursor inside a surrogate pair', { ...ok, cursor: { anchor: 2, head: 2 } }, 'cursor', /surrogate pair/],
      ['cursor without head', { ...ok, cursor: { anchor: 1 } }, 'cursor', /cursor.head is required/],
      ['cursor of the wrong type', { ...ok, cursor: { anchor: 'x', head: 1 } }, 'cursor.anchor', /cursor.anchor/],
      ['message_id too long', { ...ok, message_id: 'm'.repeat(300) }, 'message_id', /at most 255/],
    ];
    for (const [name, body, field, message] of cases) {
      const res = await post(owner, body);
      assert.equal(res.status, 400, `${name}: ${res.status} ${res.text.slice(0, 300)}`);
      assert.ok(res.json.exception_fields?.[field], `${name}: field ${field} not named in ${res.text.slice(0, 300)}`);
      assert.match(res.json.message, message, name);
      assert.equal(res.json.StatusCode, 400);
    }
    // Invalid UTF-8 inside an insert (raw bytes: JSON.stringify cannot write them). Every route
    // validates the encoding while it parses the body, so the body itself is what is refused.
    const raw = Buffer.concat([
      Buffer.from(`{"cid":"${c}","state":"editing","base_version":1,"ops":[4,"x`),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"]}'),
    ]);
    const badUtf8 = await postRaw(owner, raw);
    assert.equal(badUtf8.status, 400, badUtf8.text);
    assert.ok(badUtf8.json.exception_fields['request body'], badUtf8.text);
    assert.match(badUtf8.json.message, /not valid JSON: Invalid encoding in string/);
    // A lone surrogate escape never reaches the operation: the body is refused as it is parsed.
    const lone = await postRaw(owner, Buffer.from(`{"cid":"${c}","state":"editing","base_version":1,"ops":[4,"\\ud83d"]}`));
    assert.equal(lone.status, 400, lone.text);
    // Nothing was applied, and no participant was added or moved (one may have fallen silent).
    const now = await getOk(owner, c);
    assert.equal(now.version, baseline.version);
    assert.equal(now.text, baseline.text);
    for (const p of now.participants) assert.deepEqual(p, baseline.participants.find((q) => q.user.id === p.user.id));
  });

  it('randomized: N ot.js clients editing at once end with the server\'s text', async () => {
    const N = 4;
    const EDITS = 12;
    const ids = Array.from({ length: N }, (_, i) => uniqueId(`er${i}`));
    await upsertUsers(...ids);
    const ch = server.channel('messaging', uniqueId('edit-random'), { members: ids, created_by_id: ids[0] });
    await ch.create();
    const r = rng(424242);
    const failures = [];

    // An ot.js client: one op in flight, later edits buffered (composed) until its ack. The room
    // socket delivers every accepted op; the client applies them in version order, and its own
    // op coming back is the acknowledgement (the HTTP answer is only checked for its status).
    class Editor extends ot.Client {
      constructor(user, socket) {
        super(0);
        this.user = user;
        this.doc = '';
        this.socket = socket;
        this.seen = new Map();
        this.applied = 0;
        this.requests = [];
        socket.on('message', (data) => {
          const f = JSON.parse(data.toString());
          if (f.type !== 'editing.state' || f.ops === null) return;
          this.seen.set(f.version, f);
          this.drain();
        });
      }
      drain() {
        while (this.seen.has(this.applied + 1)) {
          const f = this.seen.get(this.applied + 1);
          this.applied += 1;
          if (f.user.id === this.user) this.serverAck();
          else this.applyServer(TextOperation.fromJSON(f.ops));
        }
      }
      sendOperation(revision, operation) {
        this.requests.push(
          post(this.user, { cid: ch.cid, state: 'editing', base_version: revision, ops: operation.toJSON() }).then((res) => {
            if (res.status !== 200) failures.push(`${this.user}: ${res.status} ${res.text}`);
          }),
        );
      }
      applyOperation(operation) {
        this.doc = operation.apply(this.doc);
      }
      edit() {
        const op = randomOp(r, this.doc);
        this.doc = op.apply(this.doc);
        this.applyClient(op);
      }
    }

    const sockets = await Promise.all(ids.map((id) => openRoomSocket(id, ch.cid)));
    try {
      const editors = ids.map((id, i) => new Editor(id, sockets[i]));
      await Promise.all(
        editors.map(async (editor) => {
          for (let k = 0; k < EDITS; k += 1) {
            editor.edit();
            await new Promise((res) => setTimeout(res, r(25)));
          }
        }),
      );
      // Quiet once every client has nothing in flight and has applied every version.
      await waitUntil('every editor synchronized', () => {
        const version = Math.max(...editors.map((e) => e.applied));
        return editors.every((e) => e.state instanceof ot.Client.Synchronized && e.applied === version);
      }, 20000);
      await Promise.all(editors.flatMap((e) => e.requests));
      assert.deepEqual(failures, []);
      const doc = await getOk(ids[0], ch.cid);
      assert.equal(doc.version, editors[0].applied);
      assert.ok(doc.version >= EDITS, `only ${doc.version} versions`);
      for (const e of editors) {
        assert.equal(e.doc, doc.text, `${e.user} diverged`);
        // Linear: every version from 1 to the last arrived exactly once.
        assert.deepEqual([...e.seen.keys()].sort((x, y) => x - y), Array.from({ length: doc.version }, (_, i) => i + 1));
      }
      assert.ok(doc.text.isWellFormed());
    } finally {
      for (const s of sockets) s.close();
    }
  });
});
