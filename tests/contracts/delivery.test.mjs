// Gapless delivery (docs/delivery.md): the room socket's resume with ?since_seq=N replays the
// room's persisted events after N, then goes live, with no gap and no duplicate at the seam.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { api, openSocket, uniqueId, upsertUsers, userToken } from './lib/streambed.mjs';

async function ticket(userId, cid) {
  const res = await api('GET', '/api/ws-auth/', { token: userToken(userId), query: { cid } });
  assert.equal(res.status, 200, res.text);
  return res.json.auth;
}

async function resumeSocket(userId, cid, sinceSeq) {
  const ws = await openSocket(`/ws/${cid}/?auth=${encodeURIComponent(await ticket(userId, cid))}&since_seq=${sinceSeq}`);
  await ws.waitFor((f) => f.type === 'connection.ok');
  return ws;
}

// Every persisted event of the room after `after`, read back through /api/sync/.
async function logAfter(userId, cid, after) {
  const events = [];
  for (;;) {
    const res = await api('POST', '/api/sync/', { token: userToken(userId), body: { channel_cids: [cid], since_seq: { [cid]: after } } });
    assert.equal(res.status, 200, res.text);
    events.push(...res.json.events);
    if (!res.json.truncated) return events;
    after = events.at(-1).seq;
  }
}

const seqsOf = (frames) => frames.filter((f) => typeof f.seq === 'number').map((f) => f.seq);

// A channel whose one member is its owner, made through the server-side client.
async function ownedChannel(prefix) {
  const owner = uniqueId(`${prefix}-owner`);
  const server = await upsertUsers(owner);
  const ch = server.channel('messaging', uniqueId(prefix), { members: [owner], created_by_id: owner });
  await ch.create();
  return { owner, server, ch };
}

describe('room socket resume ?since_seq=N', () => {
  it('replays the events after N, then live ones: every seq once, none missing, under a steady load', async () => {
    const owner = uniqueId('rs-owner');
    const reader = uniqueId('rs-reader');
    const server = await upsertUsers(owner, reader);
    const ch = server.channel('messaging', uniqueId('resume'), { members: [owner, reader], created_by_id: owner });
    await ch.create();
    for (let i = 0; i < 10; i++) await ch.sendMessage({ text: `before ${i}`, user_id: owner });
    const before = await logAfter(reader, ch.cid, 0);
    const since = before.filter((e) => e.type === 'message.new')[4].seq;  // resume from the 5th message

    // Messages keep coming while the socket opens and replays: the seam is under load.
    let sending = true;
    let sent = 0;
    const load = (async () => {
      while (sending) {
        await ch.sendMessage({ text: `during ${sent}`, user_id: owner });
        sent += 1;
      }
    })();
    await new Promise((r) => setTimeout(r, 150));
    const ws = await resumeSocket(reader, ch.cid, since);
    await new Promise((r) => setTimeout(r, 600));
    sending = false;
    await load;
    for (let i = 0; i < 5; i++) await ch.sendMessage({ text: `after ${i}`, user_id: owner });

    const expected = (await logAfter(reader, ch.cid, since)).map((e) => e.seq);
    const last = expected.at(-1);
    await ws.waitFor((f) => f.seq === last, 10000);
    const got = seqsOf(ws.frames);
    assert.equal(new Set(got).size, got.length, `a duplicate seq: ${got}`);
    assert.deepEqual([...got].sort((a, b) => a - b), expected, 'every event after since_seq, and only those');
    // connection.ok comes first, then the events that existed before the socket opened, in order.
    assert.equal(ws.frames[0].type, 'connection.ok');
    const preexisting = before.filter((e) => e.seq > since).map((e) => e.seq);
    assert.deepEqual(got.slice(0, preexisting.length), preexisting);
    assert.ok(sent > 0, 'the load ran during the resume');
    ws.close();
  });

  it('pages through a long log (more than one page of 200 events)', async () => {
    const { owner, ch } = await ownedChannel('resume-long');
    for (let round = 0; round < 9; round++) {
      await Promise.all(Array.from({ length: 25 }, (_, i) => ch.sendMessage({ text: `m ${round}-${i}`, user_id: owner })));
    }
    const expected = (await logAfter(owner, ch.cid, 0)).map((e) => e.seq);
    assert.ok(expected.length > 200, `${expected.length} events`);
    const ws = await resumeSocket(owner, ch.cid, 0);
    await ws.waitFor((f) => f.seq === expected.at(-1), 10000);
    assert.deepEqual(seqsOf(ws.frames), expected);
    ws.close();
  });

  it('since_seq at the head replays nothing and then delivers live events', async () => {
    const { owner, ch } = await ownedChannel('resume-head');
    await ch.sendMessage({ text: 'old', user_id: owner });
    const head = (await logAfter(owner, ch.cid, 0)).at(-1).seq;
    const ws = await resumeSocket(owner, ch.cid, head);
    const { message } = await ch.sendMessage({ text: 'new', user_id: owner });
    const live = await ws.waitFor((f) => f.type === 'message.new' && f.message.id === message.id);
    assert.equal(live.seq, head + 1);
    assert.equal(ws.frames.filter((f) => f.type === 'message.new').length, 1);
    ws.close();
  });

  // message.new is written before the message is stored, with tokens for its time and seq that the
  // storing statement fills in (fcgi-app/store/messages.cpp, Append): what the log keeps, what the
  // socket delivers and what the REST reply says must agree to the byte where they overlap.
  it('a message.new as delivered, as logged and as answered: one time, one seq, no token left', async () => {
    const { owner, server, ch } = await ownedChannel('resume-log');
    await ch.sendMessage({ text: 'first', user_id: owner });
    const head = (await logAfter(owner, ch.cid, 0)).at(-1).seq;
    const ws = await resumeSocket(owner, ch.cid, head);
    // Text that looks like a token, and custom data with a raw control character, stay text.
    const text = 'stamp \u0001stamp\u0001 seq \u0001seq\u0001 "2026-01-01T00:00:00.000000Z"';
    const { message } = await ch.sendMessage({ text, user_id: owner, note: '\u0001seq\u0001' });
    const live = await ws.waitFor((f) => f.type === 'message.new' && f.message.id === message.id);
    const [logged] = (await logAfter(owner, ch.cid, head)).filter((e) => e.type === 'message.new');
    assert.deepEqual(logged, live, 'the log replays exactly the event that was delivered');
    assert.equal(live.seq, head + 1);
    assert.equal(live.message.text, text);
    assert.equal(live.message.note, '\u0001seq\u0001');
    assert.equal(live.created_at, message.created_at, "the event's time is the message's");
    assert.equal(live.message.created_at, message.created_at);
    assert.equal(live.message.updated_at, message.updated_at);
    assert.match(live.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const stored = await server.getMessage(message.id);
    assert.equal(stored.message.created_at, message.created_at);
    ws.close();
  });

  it('a malformed since_seq is refused with 400 before the upgrade', async () => {
    const { owner, ch } = await ownedChannel('resume-bad');
    const auth = encodeURIComponent(await ticket(owner, ch.cid));
    for (const bad of ['-1', 'abc', '1e3', '99999999999999999999', '']) {
      await assert.rejects(openSocket(`/ws/${ch.cid}/?auth=${auth}&since_seq=${bad}`), (e) => e.status === 400, bad);
    }
  });
});
