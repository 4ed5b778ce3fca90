// Shared locations (getstream.io's shared_locations): a message that carries where its author is,
// once (static) or kept moving by the author's device until end_at (live): the SDK's
// sendSharedLocation, updateLocation, stopLiveLocationSharing and getSharedLocations, the
// message.updated the channel hears, and who may move a location.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { TIME_RE, expectError, recordEvents, serverClient, uniqueId, watchingPair } from './lib/streambed.mjs';

const server = serverClient();
const TYPE = uniqueId('loc').replace(/[^A-Za-z0-9_-]/g, '_').slice(-40);
const inSeconds = (s) => new Date(Date.now() + s * 1000).toISOString();

describe('shared locations', () => {
  let r;
  before(async () => {
    await server.createChannelType({ name: TYPE, shared_locations: true });
    r = await watchingPair({ type: TYPE });
  });
  after(() => r.close());

  it('a static location: sent without text, in the reply, the event and the history, as getstream.io shapes it', async () => {
    const events = recordEvents(r.cb);
    const { message } = await r.chA.sendSharedLocation({ latitude: 52.52, longitude: 13.405, created_by_device_id: 'phone-1' });
    const loc = message.shared_location;
    assert.equal(loc.latitude, 52.52);
    assert.equal(loc.longitude, 13.405);
    assert.equal(loc.created_by_device_id, 'phone-1');
    assert.equal(loc.channel_cid, r.cid);
    assert.equal(loc.message_id, message.id);
    assert.equal(loc.user_id, r.alice);
    assert.equal(loc.created_at, message.created_at);
    assert.match(loc.updated_at, TIME_RE);
    assert.equal(loc.end_at, undefined, 'static');
    assert.equal(message.text, '');
    const seen = await events.waitFor((e) => e.type === 'message.new' && e.message.id === message.id);
    assert.deepEqual(seen.message.shared_location, loc);
    const { messages } = await r.chB.query({ messages: { limit: 10 } });
    assert.deepEqual(messages.find((m) => m.id === message.id).shared_location, loc);
    // A static location does not move.
    await expectError(r.ca.updateLocation({ message_id: message.id, latitude: 1, longitude: 1 }), 400, 4, /no live location/);
    // And an edit of the message leaves it alone (the SDK sends it back).
    const { message: edited } = await r.ca.updateMessage({ ...message, text: 'here I am' });
    assert.deepEqual(edited.shared_location.latitude, 52.52);
  });

  it('a live location: listed for its author, moved by the author\'s device (message.updated), stopped, then still', async () => {
    const endAt = inSeconds(3600);
    const { message } = await r.chA.sendSharedLocation({ latitude: 48.85, longitude: 2.35, created_by_device_id: 'phone-1', end_at: endAt });
    assert.equal(message.shared_location.end_at, endAt.replace('Z', '000Z'));
    const { active_live_locations: active } = await r.ca.getSharedLocations();
    assert.ok(active.some((l) => l.message_id === message.id));
    assert.deepEqual((await r.cb.getSharedLocations()).active_live_locations, [], 'only the author\'s own');

    const events = recordEvents(r.cb);
    const moved = await r.ca.updateLocation({ message_id: message.id, latitude: 48.86, longitude: 2.36, created_by_device_id: 'phone-1' });
    assert.equal(moved.latitude, 48.86);
    assert.equal(moved.longitude, 2.36);
    assert.equal(moved.end_at, message.shared_location.end_at, 'end_at kept');
    const updated = await events.waitFor((e) => e.type === 'message.updated' && e.message.id === message.id);
    assert.equal(updated.message.shared_location.latitude, 48.86);
    assert.equal(r.chB.state.messages.find((m) => m.id === message.id).shared_location.longitude, 2.36);

    await expectError(r.cb.updateLocation({ message_id: message.id, latitude: 0, longitude: 0 }), 403, 17);
    await expectError(r.ca.updateLocation({ message_id: message.id, latitude: 91, longitude: 0 }), 400, 4, /latitude/);

    await r.chA.stopLiveLocationSharing(moved);
    assert.ok(!(await r.ca.getSharedLocations()).active_live_locations.some((l) => l.message_id === message.id));
    await expectError(r.ca.updateLocation({ message_id: message.id, latitude: 1, longitude: 1 }), 400, 4, /ended/);
  });

  it('refuses bad locations, and types without shared_locations', async () => {
    for (const bad of [{ latitude: 100, longitude: 0 }, { latitude: 0, longitude: -181 }, { latitude: 'north', longitude: 0 }, { longitude: 1 },
      { latitude: 1, longitude: 1, end_at: inSeconds(-60) }, { latitude: 1, longitude: 1, end_at: 'soon' }]) {
      await expectError(r.chA.sendMessage({ shared_location: bad }), 400, 4, /shared_location/);
    }
    const plain = r.ca.channel('messaging', uniqueId('plain'), { members: [r.alice] });
    await plain.create();
    await expectError(plain.sendSharedLocation({ latitude: 1, longitude: 1, created_by_device_id: 'd' }), 400, 4, /not enabled/);
  });
});
