// A user's privacy settings (getstream.io's privacy_settings): set by upsert and partial update,
// shown to the user itself (`me`, user.updated), checked on input; and what each keeps from the
// others in the user's channels: typing (typing.* not relayed), reads (no message.read, the read
// row hidden from others) and deliveries (reports confirm nothing). Each "not told" is shown with
// a marker: an event sent after it through the same channel arrives, and nothing before it did.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  api, connectUsers, expectError, openRoomSocket, recordEvents, serverClient, uniqueId, upsertUsers, userToken,
} from './lib/streambed.mjs';

const server = serverClient();
const OFF = { enabled: false };

// Alice, Bob (with `bobPrivacy`) and Carol, connected, in a channel of `type` that all watch.
async function trio(bobPrivacy, type = 'messaging') {
  const [alice, bob, carol] = [uniqueId('alice'), uniqueId('bob'), uniqueId('carol')];
  await server.upsertUsers([{ id: alice }, { id: bob, privacy_settings: bobPrivacy }, { id: carol }]);
  const clients = await connectUsers([alice, bob, carol]);
  const [ca, cb, cc] = clients;
  const id = uniqueId('ch');
  const chA = ca.channel(type, id, { members: [alice, bob, carol] });
  await chA.watch();
  const chB = cb.channel(type, id);
  await chB.watch();
  const chC = cc.channel(type, id);
  await chC.watch();
  return { alice, bob, carol, ca, cb, cc, chA, chB, chC, cid: chA.cid, close: clients.close };
}

// The events of `type` from `userId` that `recorder` got between `mark` and the marker event.
async function toldBeforeMarker(recorder, mark, isMarker, type, userId) {
  await recorder.waitFor(isMarker, { since: mark, timeout: 8000 });
  const until = recorder.events.findIndex((e, i) => i >= mark && isMarker(e));
  return recorder.events.slice(mark, until).filter((e) => e.type === type && e.user?.id === userId);
}

describe('privacy settings: stored and shown', () => {
  it('upsert sets them, a partial update merges or clears them; the user\'s own client is told each time', async () => {
    const id = uniqueId('priv');
    const { users } = await server.upsertUsers([{ id, privacy_settings: { read_receipts: OFF } }]);
    assert.deepEqual(users[id].privacy_settings, { read_receipts: OFF });
    const [client] = await connectUsers([id]);
    try {
      assert.deepEqual(client.user.privacy_settings, { read_receipts: OFF }, 'me carries them');
      const events = recordEvents(client);
      // The user itself, through the SDK: a partial update merges one setting in.
      const merged = await client.partialUpdateUser({ id, set: { privacy_settings: { typing_indicators: OFF } } });
      assert.deepEqual(merged.users[id].privacy_settings, { read_receipts: OFF, typing_indicators: OFF });
      await events.waitFor((e) => e.type === 'user.updated' && e.user?.privacy_settings?.typing_indicators);
      assert.deepEqual(client.user.privacy_settings, { read_receipts: OFF, typing_indicators: OFF });
      // Cleared: the user.updated says so, and the client forgets the old ones.
      const mark = events.mark();
      const cleared = await client.partialUpdateUser({ id, unset: ['privacy_settings'] });
      assert.equal(cleared.users[id].privacy_settings, undefined, 'not shown when none is set');
      const e = await events.waitFor((x) => x.type === 'user.updated', { since: mark });
      assert.deepEqual(e.user.privacy_settings, {});
      assert.deepEqual(client.user.privacy_settings, {});
      // Another user's settings are not theirs to change.
      const other = uniqueId('other');
      await upsertUsers(other);
      await expectError(client.partialUpdateUser({ id: other, set: { privacy_settings: { read_receipts: OFF } } }), 403, 17);
    } finally {
      await client.disconnectUser();
    }
  });

  it('refuses what is not a privacy setting (400 in getstream.io\'s envelope)', async () => {
    const id = uniqueId('bad');
    await upsertUsers(id);
    const bad = [
      ['not an object', 'off'],
      ['an unknown setting', { presence: OFF }],
      ['enabled not a boolean', { read_receipts: { enabled: 'no' } }],
      ['a setting without enabled', { read_receipts: {} }],
      ['more than enabled', { read_receipts: { enabled: false, until: 'tomorrow' } }],
    ];
    for (const [what, value] of bad) {
      await expectError(api('PATCH', '/api/users/', { token: userToken(id), query: { user_id: id }, body: { users: [{ id, set: { privacy_settings: value } }] } }),
        400, 4, /privacy_settings/);
      await expectError(api('POST', '/api/users/', { token: userToken(id), query: { user_id: id }, body: { users: { [id]: { id, privacy_settings: value } } } }),
        400, 4, /privacy_settings/).catch((err) => { throw new Error(`${what}: ${err.message}`); });
    }
  });
});

describe('privacy settings: what the others are not told', () => {
  it('typing_indicators off: the typing events are answered and relayed to nobody', async () => {
    const t = await trio({ typing_indicators: OFF });
    try {
      assert.deepEqual(t.cb.user.privacy_settings, { typing_indicators: OFF });
      const seen = recordEvents(t.ca);
      const mark = seen.mark();
      // Straight to the route: the SDK itself sends nothing for such a user.
      const res = await api('POST', `/api/channels/messaging/${t.chB.id}/event/`, {
        token: userToken(t.bob), query: { user_id: t.bob }, body: { event: { type: 'typing.start' } },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.event.type, 'typing.start');
      await t.chC.keystroke();
      const told = await toldBeforeMarker(seen, mark, (e) => e.type === 'typing.start' && e.user?.id === t.carol, 'typing.start', t.bob);
      assert.deepEqual(told, []);
    } finally {
      await t.close();
    }
  });

  it('typing_indicators off: typing on a room socket is not relayed either', async () => {
    const t = await trio({ typing_indicators: OFF });
    const bobRoom = await openRoomSocket(t.bob, t.cid);
    const carolRoom = await openRoomSocket(t.carol, t.cid);
    try {
      const seen = recordEvents(t.ca);
      const mark = seen.mark();
      bobRoom.send(JSON.stringify({ type: 'typing.start' }));
      // The gateway hands room frames to the workers through a first-in first-out pool: by the
      // time bob's next frame, a (slower) message.send, has come back as message.new, his typing
      // frame has been handled.
      bobRoom.send(JSON.stringify({ type: 'message.send', text: 'after typing' }));
      await seen.waitFor((e) => e.type === 'message.new' && e.message?.text === 'after typing', { since: mark, timeout: 8000 });
      carolRoom.send(JSON.stringify({ type: 'typing.start' }));
      const told = await toldBeforeMarker(seen, mark, (e) => e.type === 'typing.start' && e.user?.id === t.carol, 'typing.start', t.bob);
      assert.deepEqual(told, []);
    } finally {
      bobRoom.close();
      carolRoom.close();
      await t.close();
    }
  });

  it('read_receipts off: bob reads for himself (his badge clears), nobody gets message.read, his read row is his alone', async () => {
    const t = await trio({ read_receipts: OFF });
    try {
      await t.chA.sendMessage({ text: 'one' });
      await t.chA.sendMessage({ text: 'two' });
      const seen = recordEvents(t.ca);
      const own = recordEvents(t.cb);
      const mark = seen.mark();
      await t.chB.markRead();
      const n = await own.waitFor('notification.mark_read');
      assert.equal(n.cid, t.cid);
      await t.chC.markRead();
      const told = await toldBeforeMarker(seen, mark, (e) => e.type === 'message.read' && e.user?.id === t.carol, 'message.read', t.bob);
      assert.deepEqual(told, []);
      // Mark all read tells nobody either.
      const mark2 = seen.mark();
      await t.cb.markChannelsRead();
      await t.chC.markRead();
      assert.deepEqual(await toldBeforeMarker(seen, mark2, (e) => e.type === 'message.read' && e.user?.id === t.carol, 'message.read', t.bob), []);
      // The channel's state: alice sees carol's read row and not bob's; bob sees his own.
      const [asAlice] = await t.ca.queryChannels({ cid: t.cid }, {}, { watch: false, state: true });
      assert.equal(asAlice.state.read[t.bob], undefined, JSON.stringify(Object.keys(asAlice.state.read)));
      assert.ok(asAlice.state.read[t.carol]);
      const [asBob] = await t.cb.queryChannels({ cid: t.cid }, {}, { watch: false, state: true });
      assert.equal(asBob.state.read[t.bob].unread_messages, 0);
      assert.equal(asBob.countUnread(), 0);
    } finally {
      await t.close();
    }
  });

  it('delivery_receipts off: reports confirm nothing, and no message.delivered is sent', async () => {
    const type = uniqueId('prv');
    await server.createChannelType({ name: type, delivery_events: true });
    const t = await trio({ delivery_receipts: OFF }, type);
    try {
      const seen = recordEvents(t.ca);
      const mark = seen.mark();
      const { message } = await t.chA.sendMessage({ text: 'delivered?' });
      // Bob's SDK reports nothing for such a user; a report sent anyway is answered and ignored.
      await t.cb.markChannelsDelivered({ latest_delivered_messages: [{ cid: t.cid, id: message.id }] });
      // Carol's SDK reports on its own: her message.delivered is the marker.
      const told = await toldBeforeMarker(seen, mark, (e) => e.type === 'message.delivered' && e.user?.id === t.carol, 'message.delivered', t.bob);
      assert.deepEqual(told, []);
      const [asAlice] = await t.ca.queryChannels({ cid: t.cid }, {}, { watch: false, state: true });
      assert.equal(asAlice.state.read[t.bob].last_delivered_message_id, undefined);
      assert.equal(asAlice.state.read[t.carol].last_delivered_message_id, message.id);
    } finally {
      await t.close();
    }
  });
});
