// Issue 3, permissions (STREAM-PROTOCOL.md §3.2, issue 3 §2): own_capabilities per role and
// channel type, enforced on every route — whatever the list does not grant is refused with 403
// (code 17). messaging/team: members read and write; livestream: anyone reads, members write;
// moderators and owners get the moderation extras; frozen channels stop writes; slow mode.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  api, connectUser, connectUsers, createUsers, expectError, recordEvents, serverClient, uniqueId, userToken, uuid,
} from './lib/streambed.mjs';

const MEMBER_CAPS = ['send-message', 'send-reply', 'send-reaction', 'read-events', 'typing-events', 'send-typing-events',
  'connect-events', 'send-links', 'quote-message', 'update-own-message', 'delete-own-message', 'flag-message',
  'mute-channel', 'pin-message', 'leave-channel', 'send-custom-events', 'upload-file', 'search-messages'];
const MODERATOR_EXTRAS = ['update-any-message', 'delete-any-message', 'ban-channel-members', 'update-channel',
  'update-channel-members', 'delete-channel', 'freeze-channel', 'set-channel-cooldown', 'skip-slow-mode'];
const sorted = (a) => [...a].sort();

// A channel of `type` owned by `owner` with `members` (all created through the server token).
async function channelOf(type, owner, members, data = {}) {
  const id = uniqueId('ch');
  const ch = serverClient().channel(type, id, { created_by_id: owner, members: [owner, ...members], ...data });
  await ch.create();
  return { id, cid: `${type}:${id}`, srv: ch };
}

async function capsOf(userId, type, id) {
  const res = await api('POST', `/api/channels/${type}/${id}/query/`, { token: userToken(userId), query: { user_id: userId }, body: { state: true } });
  return res;
}

describe('own_capabilities by role and channel type', () => {
  for (const type of ['messaging', 'team']) {
    it(`${type}: owner, moderator, member and non-member`, async () => {
      const [owner, mod, member, outsider] = await createUsers(4, type.slice(0, 2));
      const c = await channelOf(type, owner, [mod, member]);
      await c.srv.addModerators([mod]);
      const of = async (u) => (await capsOf(u, type, c.id)).json?.channel?.own_capabilities;
      assert.deepEqual(sorted(await of(owner)), sorted([...MEMBER_CAPS, ...MODERATOR_EXTRAS]));
      assert.deepEqual(sorted(await of(mod)), sorted([...MEMBER_CAPS, ...MODERATOR_EXTRAS]));
      assert.deepEqual(sorted(await of(member)), sorted(MEMBER_CAPS));
      await expectError(capsOf(outsider, type, c.id), 403, 17);
    });
  }

  it('livestream: anyone reads (connect-events only), members write, no typing or read events', async () => {
    const [owner, member, viewer] = await createUsers(3, 'ls');
    const c = await channelOf('livestream', owner, [member]);
    const viewerCaps = (await capsOf(viewer, 'livestream', c.id)).json.channel.own_capabilities;
    assert.deepEqual(viewerCaps, ['connect-events']);
    const memberCaps = (await capsOf(member, 'livestream', c.id)).json.channel.own_capabilities;
    const expected = MEMBER_CAPS.filter((x) => !['read-events', 'typing-events', 'send-typing-events'].includes(x));
    assert.deepEqual(sorted(memberCaps), sorted(expected));
    const send = (u) => api('POST', `/api/channels/livestream/${c.id}/message/`, { token: userToken(u), query: { user_id: u }, body: { message: { text: 'hi' } } });
    await expectError(send(viewer), 403, 17);
    assert.equal((await send(member)).status, 200);
  });

  it('an app admin reads and moderates any channel without being a member', async () => {
    const [owner, member] = await createUsers(2, 'adm');
    const admin = uniqueId('admin');
    await serverClient().upsertUser({ id: admin, role: 'admin' });
    const c = await channelOf('messaging', owner, [member]);
    const msg = (await c.srv.sendMessage({ text: 'by member', user_id: member })).message;
    const res = await capsOf(admin, 'messaging', c.id);
    assert.equal(res.status, 200, res.text);
    for (const cap of MODERATOR_EXTRAS) assert.ok(res.json.channel.own_capabilities.includes(cap), cap);
    assert.equal(res.json.membership, null);
    const del = await api('DELETE', `/api/messages/${msg.id}/`, { token: userToken(admin), query: { user_id: admin } });
    assert.equal(del.status, 200, del.text);
  });
});

describe('non-members of a messaging channel', () => {
  it('every read and write is 403 code 17, and nothing is written', async () => {
    const [owner, member] = await createUsers(2, 'nm');
    const stranger = uniqueId('stranger');
    const c = await channelOf('messaging', owner, [member]);
    const msg = (await c.srv.sendMessage({ text: 'private', user_id: member })).message;
    const t = userToken(stranger);
    const q = { user_id: stranger };
    const calls = [
      api('POST', `/api/channels/messaging/${c.id}/query/`, { token: t, query: q, body: { state: true, watch: true } }),
      api('POST', `/api/channels/messaging/${c.id}/message/`, { token: t, query: q, body: { message: { id: uuid(), text: 'intrude' } } }),
      api('GET', `/api/messages/${msg.id}/`, { token: t, query: q }),
      api('GET', `/api/messages/${msg.id}/replies/`, { token: t, query: q }),
      api('GET', `/api/channels/messaging/${c.id}/messages/`, { token: t, query: { ...q, ids: msg.id } }),
      api('POST', `/api/messages/${msg.id}/`, { token: t, query: q, body: { message: { text: 'edited' } } }),
      api('PUT', `/api/messages/${msg.id}/`, { token: t, query: q, body: { set: { pinned: true } } }),
      api('DELETE', `/api/messages/${msg.id}/`, { token: t, query: q }),
      api('POST', `/api/messages/${msg.id}/reaction/`, { token: t, query: q, body: { reaction: { type: 'like' } } }),
      api('POST', `/api/messages/${msg.id}/reactions/`, { token: t, query: q, body: {} }),
      api('POST', `/api/channels/messaging/${c.id}/read/`, { token: t, query: q, body: {} }),
      api('POST', `/api/channels/messaging/${c.id}/event/`, { token: t, query: q, body: { event: { type: 'typing.start' } } }),
      api('POST', `/api/channels/messaging/${c.id}/`, { token: t, query: q, body: { add_members: [stranger] } }),
      api('PATCH', `/api/channels/messaging/${c.id}/`, { token: t, query: q, body: { set: { name: 'x' } } }),
      api('DELETE', `/api/channels/messaging/${c.id}/`, { token: t, query: q }),
      api('POST', `/api/channels/messaging/${c.id}/truncate/`, { token: t, query: q, body: {} }),
      api('GET', '/api/members/', { token: t, query: { ...q, payload: { type: 'messaging', id: c.id, filter_conditions: {} } } }),
      api('POST', `/api/channels/messaging/${c.id}/draft/`, { token: t, query: q, body: { message: { text: 'd' } } }),
    ];
    const results = await Promise.all(calls);
    for (const [i, res] of results.entries()) {
      await expectError(Promise.resolve(res), 403, 17).catch((e) => { throw new Error(`call ${i}: ${e.message}`); });
    }
    const state = await c.srv.query({ state: true, messages: { limit: 10 } });
    assert.deepEqual(state.messages.map((m) => [m.id, m.text, m.type]), [[msg.id, 'private', 'regular']]);
    assert.equal(state.channel.name, undefined);
    assert.deepEqual(state.members.map((m) => m.user_id).sort(), [owner, member].sort());
    assert.deepEqual(state.messages[0].reaction_counts, {});
  });
});

describe('frozen channels', () => {
  it('freezing withholds the write capabilities; writes are 403 code 17; admins still write; unfreezing restores', async () => {
    const [owner, member] = await createUsers(2, 'fz');
    const c = await channelOf('messaging', owner, [member]);
    const msg = (await c.srv.sendMessage({ text: 'before', user_id: member })).message;
    const ownerClient = await connectUser(owner);
    const memberClient = await connectUser(member);
    try {
      const ownerCh = ownerClient.channel('messaging', c.id);
      await ownerCh.watch();
      const memberCh = memberClient.channel('messaging', c.id);
      await memberCh.watch();
      const events = recordEvents(memberClient);
      await expectError(memberCh.updatePartial({ set: { frozen: true } }), 403, 17);
      const res = await ownerCh.updatePartial({ set: { frozen: true } });
      assert.equal(res.channel.frozen, true);
      const ev = await events.waitFor('channel.updated');
      assert.equal(ev.channel.frozen, true);
      const caps = (await memberCh.query({})).channel.own_capabilities;
      for (const cap of ['send-message', 'send-reaction', 'send-reply', 'quote-message']) assert.ok(!caps.includes(cap), cap);
      assert.ok(caps.includes('read-events'));
      await expectError(memberCh.sendMessage({ text: 'frozen?' }), 403, 17);
      await expectError(memberCh.sendReaction(msg.id, { type: 'like' }), 403, 17);
      await expectError(memberCh.sendMessage({ text: 'reply', parent_id: msg.id }), 403, 17);
      await c.srv.sendMessage({ text: 'admin speaks', user_id: owner, type: 'system' });
      await ownerCh.updatePartial({ set: { frozen: false } });
      await memberCh.sendMessage({ text: 'thawed' });
      const state = await ownerCh.query({ messages: { limit: 10 } });
      assert.deepEqual(state.messages.map((m) => m.text), ['before', 'admin speaks', 'thawed']);
    } finally {
      await ownerClient.disconnectUser();
      await memberClient.disconnectUser();
    }
  });
});

describe('slow mode', () => {
  it('cooldown: a second message within it is 429 code 60; moderators skip it; only moderators set it', async () => {
    const [owner, member] = await createUsers(2, 'sm');
    const c = await channelOf('messaging', owner, [member]);
    const ownerClient = await connectUser(owner);
    const memberClient = await connectUser(member);
    try {
      const ownerCh = ownerClient.channel('messaging', c.id);
      await ownerCh.watch();
      const memberCh = memberClient.channel('messaging', c.id);
      await memberCh.watch();
      await expectError(memberCh.enableSlowMode(30), 403, 17);
      await ownerCh.enableSlowMode(30);
      assert.equal((await memberCh.query({})).channel.cooldown, 30);
      await memberCh.sendMessage({ text: 'one' });
      await expectError(memberCh.sendMessage({ text: 'two' }), 429, 60);
      await ownerCh.sendMessage({ text: 'owner one' });
      await ownerCh.sendMessage({ text: 'owner two' });
      await ownerCh.disableSlowMode();
      await memberCh.sendMessage({ text: 'three' });
      await expectError(ownerCh.updatePartial({ set: { cooldown: 1000 } }), 400, 4);
    } finally {
      await ownerClient.disconnectUser();
      await memberClient.disconnectUser();
    }
  });
});

describe('moderator and owner extras', () => {
  it('a channel moderator edits and deletes others\' messages, bans, and updates the channel; a member cannot', async () => {
    const [owner, mod, member] = await createUsers(3, 'mx');
    const c = await channelOf('messaging', owner, [mod, member]);
    await c.srv.addModerators([mod]);
    const msg = (await c.srv.sendMessage({ text: 'member text', user_id: member })).message;
    const modClient = await connectUser(mod);
    const memberClient = await connectUser(member);
    try {
      const memberCh = memberClient.channel('messaging', c.id);
      await memberCh.watch();
      const ownerMsg = (await c.srv.sendMessage({ text: 'owner text', user_id: owner })).message;
      await expectError(memberClient.updateMessage({ id: ownerMsg.id, text: 'nope' }), 403, 17);
      await expectError(memberClient.deleteMessage(ownerMsg.id), 403, 17);
      await expectError(memberCh.update({ name: 'nope' }), 403, 17);
      await expectError(memberCh.addModerators([member]), 403, 17);
      const modCh = modClient.channel('messaging', c.id);
      await modCh.watch();
      assert.equal((await modClient.updateMessage({ id: msg.id, text: 'moderated' })).message.text, 'moderated');
      assert.equal((await modClient.deleteMessage(ownerMsg.id)).message.type, 'deleted');
      assert.equal((await modCh.update({ name: 'Renamed' })).channel.name, 'Renamed');
      await modCh.banUser(member, { reason: 'test' });
      await expectError(memberCh.sendMessage({ text: 'x' }), 403, 17);
      await expectError(memberCh.delete(), 403, 17);
      assert.equal((await modCh.delete()).channel.cid, c.cid, 'delete-channel is a moderator extra');
    } finally {
      await modClient.disconnectUser();
      await memberClient.disconnectUser();
    }
  });
});
