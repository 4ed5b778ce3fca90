// Delivery receipts (getstream.io's delivery_events) and the channel type routes that turn them
// on: the SDK's own MessageDeliveryReporter reports what a client received (POST
// /channels/delivered), the sender's client gets message.delivered and its receipts tracker counts
// the recipient, and the read rows carry the delivered point. What moves nothing: another type,
// a non-member, a banned member, a thread reply, an older message, a message of another channel.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import {
  TIME_RE, api, connectUsers, expectError, recordEvents, serverClient, uniqueId, upsertUsers, userToken,
} from './lib/streambed.mjs';

const server = serverClient();

// A channel type of this file's own with delivery receipts on: the shared types keep getstream.io's
// default (off), which the other suites rely on. (uniqueId's letters, digits and dashes make a
// valid type name.)
const TYPE = uniqueId('dlv');

// The read row of `userId` in `cid`, as a channel query by the member `asUser` returns it.
async function readRow(cid, userId, asUser) {
  const [type, id] = cid.split(':');
  const res = await api('POST', `/api/channels/${type}/${id}/query/`, {
    token: userToken(asUser), query: { user_id: asUser }, body: { state: true },
  });
  assert.equal(res.status, 200, res.text);
  return res.json.read.find((r) => r.user.id === userId);
}

// Reports deliveries as the SDK does, through the SDK's own request.
const report = (client, entries) => client.markChannelsDelivered({ latest_delivered_messages: entries });

describe('channel types (server tokens)', () => {
  it('createChannelType: 201, messaging\'s settings under the body\'s, listed and readable; a taken name is 400', async () => {
    const created = await server.createChannelType({ name: TYPE, delivery_events: true, max_message_length: 3000 });
    assert.equal(created.name, TYPE);
    assert.equal(created.delivery_events, true);
    assert.equal(created.max_message_length, 3000);
    assert.equal(created.typing_events, true, 'from messaging');
    assert.equal(created.uploads, true, 'from messaging');
    assert.deepEqual(created.commands, [], 'the SDK\'s default ["all"] is every command this server has: none');
    assert.match(created.created_at, TIME_RE);
    const got = await server.getChannelType(TYPE);
    assert.equal(got.delivery_events, true);
    const { channel_types: all } = await server.listChannelTypes();
    assert.equal(all[TYPE].delivery_events, true);
    assert.equal(all.messaging.delivery_events, false, 'getstream.io\'s default');
    await expectError(server.createChannelType({ name: TYPE }), 400, 4, /already exists/);
  });

  it('updateChannelType merges settings and every worker\'s channels report them within 5 s; unknown type 404', async () => {
    const name = uniqueId('upd');
    await server.createChannelType({ name, commands: [] });
    const u = uniqueId('cfg');
    await upsertUsers(u);
    const ch = server.channel(name, uniqueId('c'), { members: [u], created_by_id: u });
    await ch.create();
    const config = async () => {
      const res = await api('POST', `/api/channels/${name}/${ch.id}/query/`, { token: userToken(u), query: { user_id: u }, body: { state: true } });
      assert.equal(res.status, 200, res.text);
      return res.json.channel.config;
    };
    // The workers that answer these hold the type as it is now.
    for (let i = 0; i < 8; i++) assert.equal((await config()).typing_events, true);
    const updated = await server.updateChannelType(name, { typing_events: false, reactions: false });
    const changedAt = Date.now();
    assert.equal(updated.typing_events, false);
    assert.equal(updated.reactions, false);
    assert.equal(updated.replies, true, 'untouched settings stay');
    assert.equal((await server.getChannelType(name)).typing_events, false, 'read afresh, whichever worker answers');
    // Workers re-read types every 5 s: from then on every answer reports the change.
    await sleep(Math.max(0, changedAt + 5500 - Date.now()));
    for (let i = 0; i < 12; i++) {
      const c = await config();
      assert.equal(c.typing_events, false, `answer ${i}`);
      assert.equal(c.reactions, false, `answer ${i}`);
    }
    await expectError(server.updateChannelType(uniqueId('none'), { typing_events: true }), 404, 16);
  });

  it('refuses what this server does not back, unknown settings and bad values (400), and user tokens (403)', async () => {
    await expectError(server.updateChannelType(TYPE, { reminders: true }), 400, 4, /reminders/);
    await expectError(server.updateChannelType(TYPE, { mark_messages_pending: true }), 400, 4, /mark_messages_pending/);
    await expectError(server.updateChannelType(TYPE, { commands: ['giphy'] }), 400, 4, /commands/);
    await expectError(server.updateChannelType(TYPE, { favourite_colour: 'blue' }), 400, 4, /favourite_colour/);
    await expectError(server.updateChannelType(TYPE, { delivery_events: 'yes' }), 400, 4, /delivery_events/);
    await expectError(server.updateChannelType(TYPE, { max_message_length: 0 }), 400, 4, /max_message_length/);
    await expectError(server.createChannelType({ name: 'has space' }), 400, 4, /name/);
    assert.equal((await server.updateChannelType(TYPE, { reminders: false })).reminders, false, 'false is accepted');
    const u = uniqueId('plain');
    await upsertUsers(u);
    const res = await api('PUT', `/api/channeltypes/${TYPE}/`, { token: userToken(u), body: { delivery_events: false } });
    assert.equal(res.status, 403, res.text);
    assert.equal((await server.getChannelType(TYPE)).delivery_events, true, 'unchanged');
  });
});

describe('delivery receipts', () => {
  let alice; let bob; let carol; let ca; let cb; let chA; let chB; let cid; let id;
  before(async () => {
    await server.getChannelType(TYPE).catch(() => server.createChannelType({ name: TYPE, delivery_events: true }));
    alice = uniqueId('alice');
    bob = uniqueId('bob');
    carol = uniqueId('carol');
    await upsertUsers(carol);
    [ca, cb] = await connectUsers([alice, bob]);
    id = uniqueId('ch');
    cid = `${TYPE}:${id}`;
    chA = ca.channel(TYPE, id, { members: [alice, bob, carol] });
    await chA.watch();
    chB = cb.channel(TYPE, id);
    await chB.watch();
    assert.equal(chA.getConfig().delivery_events, true, 'the channel reports the type\'s setting');
  });
  after(async () => { await Promise.all([ca?.disconnectUser(), cb?.disconnectUser()]); });

  it('the recipient\'s SDK reports on its own; the sender gets message.delivered, its read state and receipts tracker count the recipient', async () => {
    const events = recordEvents(ca);
    const { message } = await chA.sendMessage({ text: 'did it arrive?' });
    // stream-chat's MessageDeliveryReporter posts about a second after message.new arrives.
    const delivered = await events.waitFor((e) => e.type === 'message.delivered' && e.user?.id === bob, { timeout: 8000 });
    assert.equal(delivered.cid, cid);
    assert.equal(delivered.last_delivered_message_id, message.id);
    assert.equal(delivered.last_delivered_at, message.created_at, 'the delivered message\'s time');
    assert.match(delivered.created_at, TIME_RE);
    assert.equal(typeof delivered.seq, 'number', 'logged in the channel\'s event log like message.read');
    assert.equal(chA.state.read[bob].last_delivered_message_id, message.id);
    const to = chA.messageReceiptsTracker.deliveredForMessage({ msgId: message.id, timestampMs: new Date(message.created_at).getTime() });
    assert.deepEqual(to.map((u) => u.id).filter((u) => u !== alice), [bob]);
    const row = await readRow(cid, bob, alice);
    assert.equal(row.last_delivered_message_id, message.id);
    assert.equal(row.last_delivered_at, message.created_at);
    // A fresh load of the channel gives the sender the same picture.
    const [fresh] = await ca.queryChannels({ cid }, {}, { watch: false, state: true });
    const tracked = fresh.messageReceiptsTracker.deliveredForMessage({ msgId: message.id, timestampMs: new Date(message.created_at).getTime() });
    assert.ok(tracked.some((u) => u.id === bob), JSON.stringify(fresh.state.read[bob]));
  });

  it('a client that loads its channels later reports what it found (queryChannels)', async () => {
    const events = recordEvents(ca);
    const { message } = await chA.sendMessage({ text: 'for carol' });
    const [cc] = await connectUsers([carol]);
    try {
      await cc.queryChannels({ cid }, {}, { watch: true, state: true });
      const d = await events.waitFor((e) => e.type === 'message.delivered' && e.user?.id === carol, { timeout: 8000 });
      assert.equal(d.last_delivered_message_id, message.id);
    } finally {
      await cc.disconnectUser();
    }
  });

  it('moves nothing for another type, a non-member, a banned member, a reply, an older or foreign message; the point never goes back', async () => {
    const dave = uniqueId('dave');
    const [cd] = await connectUsers([dave]);
    const events = recordEvents(ca);
    try {
      const older = (await chA.sendMessage({ text: 'older' })).message;
      const newer = (await chA.sendMessage({ text: 'newer' })).message;
      const reply = (await chA.sendMessage({ text: 'in a thread', parent_id: newer.id })).message;
      // Bob's own SDK may report `newer` at any moment; report it explicitly and wait for it.
      await report(cb, [{ cid, id: newer.id }]);
      await events.waitFor((e) => e.type === 'message.delivered' && e.user?.id === bob && e.last_delivered_message_id === newer.id, { timeout: 8000 });
      const mark = events.mark();
      // A messaging channel (delivery_events off), with the same users.
      const plain = ca.channel('messaging', uniqueId('plain'), { members: [alice, bob] });
      await plain.watch();
      const plainMsg = (await plain.sendMessage({ text: 'no receipts here' })).message;
      await report(cb, [
        { cid, id: older.id },                        // older than the point: it stays
        { cid: plain.cid, id: plainMsg.id },          // no delivery_events
      ]);
      await report(cb, [{ cid, id: reply.id, parent_id: newer.id }]);  // thread replies are not tracked
      await report(cd, [{ cid, id: newer.id }]);                        // dave is no member
      await report(cb, [{ cid, id: plainMsg.id }]);                     // not a message of this channel
      const carolBefore = (await readRow(cid, carol, alice)).last_delivered_message_id;
      assert.notEqual(carolBefore, newer.id, 'carol has not confirmed `newer` yet');
      await chA.banUser(carol, { reason: 'test' });
      const cc = (await connectUsers([carol]))[0];
      try {
        await report(cc, [{ cid, id: newer.id }]);                      // carol is banned here
      } finally {
        await cc.disconnectUser();
      }
      assert.equal((await readRow(cid, bob, alice)).last_delivered_message_id, newer.id);
      assert.equal((await readRow(plain.cid, bob, alice)).last_delivered_message_id, undefined);
      assert.equal((await readRow(cid, carol, alice)).last_delivered_message_id, carolBefore, 'banned: not moved');
      // A marker through the same channel: a delivery that moves arrives after anything the calls
      // above would have sent, so none of them sent anything.
      await chA.unbanUser(carol);
      const last = (await chA.sendMessage({ text: 'marker' })).message;
      await report(cb, [{ cid, id: last.id }]);
      await events.waitFor((e) => e.type === 'message.delivered' && e.last_delivered_message_id === last.id, { since: mark, timeout: 8000 });
      const between = events.events.slice(mark).filter((e) => e.type === 'message.delivered' && e.last_delivered_message_id !== last.id);
      assert.deepEqual(between.map((e) => `${e.user.id} ${e.cid} ${e.last_delivered_message_id}`), []);
    } finally {
      await cd.disconnectUser();
    }
  });

  it('bad reports are 400 in getstream.io\'s envelope', async () => {
    const token = userToken(bob);
    const post = (body) => api('POST', '/api/channels/delivered/', { token, query: { user_id: bob }, body });
    await expectError(post({}), 400, 4, /latest_delivered_messages/);
    await expectError(post({ latest_delivered_messages: 'x' }), 400, 4, /latest_delivered_messages/);
    await expectError(post({ latest_delivered_messages: ['x'] }), 400, 4, /object/);
    await expectError(post({ latest_delivered_messages: [{ id: 'm' }] }), 400, 4, /cid/);
    await expectError(post({ latest_delivered_messages: [{ cid: 'no-colon', id: 'm' }] }), 400, 4, /cid/);
    await expectError(post({ latest_delivered_messages: [{ cid, id: '' }] }), 400, 4, /id/);
    const many = Array.from({ length: 101 }, (_, i) => ({ cid, id: `m${i}` }));
    await expectError(post({ latest_delivered_messages: many }), 400, 4, /100/);
    const res = await post({ latest_delivered_messages: [] });
    assert.equal(res.status, 200, res.text);
  });
});
