// Issue 3, moderation (STREAM-PROTOCOL.md §4.7, §5): muting users and channels (with the
// notification.*_updated events and me.mutes / channel_mutes), blocks, flags, and bans in a
// channel and app-wide.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  TIME_RE, api, connectUser, createUsers, expectError, recordEvents, serverClient, uniqueId, userToken, uuid,
  watchingPair,
} from './lib/streambed.mjs';

const room = () => watchingPair();

describe('muting users', () => {
  it('mute: the reply has mute and own_user; notification.mutes_updated carries me.mutes; unmute empties it', async () => {
    const r = await room();
    try {
      const events = recordEvents(r.ca);
      const res = await r.ca.muteUser(r.bob);
      assert.equal(res.mute.user.id, r.alice);
      assert.equal(res.mute.target.id, r.bob);
      assert.match(res.mute.created_at, TIME_RE);
      assert.match(res.mute.updated_at, TIME_RE);
      assert.equal(res.mute.expires, undefined);
      assert.deepEqual(res.own_user.mutes.map((m) => m.target.id), [r.bob]);
      assert.deepEqual(res.own_user.channel_mutes, []);
      const ev = await events.waitFor('notification.mutes_updated');
      assert.deepEqual(ev.me.mutes.map((m) => m.target.id), [r.bob]);
      assert.ok(Array.isArray(ev.me.channel_mutes));
      assert.equal(r.ca.userMuteStatus(r.bob), true, 'the SDK took the new mutes');
      const mark = events.mark();
      await r.ca.unmuteUser(r.bob);
      const ev2 = await events.waitFor('notification.mutes_updated', { since: mark });
      assert.deepEqual(ev2.me.mutes, []);
      assert.equal(r.ca.userMuteStatus(r.bob), false);
    } finally {
      await r.close();
    }
  });

  it('a timed mute has expires; mutes come back in me on the next connect', async () => {
    const r = await room();
    try {
      const res = await r.ca.muteUser(r.bob, undefined, { timeout: 60 });
      assert.match(res.mute.expires, TIME_RE);
      const expires = new Date(res.mute.expires).getTime();
      assert.ok(expires > Date.now() + 55 * 60 * 1000 && expires < Date.now() + 65 * 60 * 1000, 'timeout is in minutes');
      const again = await connectUser(r.alice);
      try {
        assert.deepEqual(again.user.mutes.map((m) => m.target.id), [r.bob]);
        assert.equal(again.userMuteStatus(r.bob), true);
      } finally {
        await again.disconnectUser();
      }
    } finally {
      await r.close();
    }
  });

  it('muting yourself is 400, an unknown user 404, no target 400', async () => {
    const r = await room();
    try {
      await expectError(r.ca.muteUser(r.alice), 400, 4);
      await expectError(r.ca.muteUser(uniqueId('ghost')), 404, 16);
      const res = await api('POST', '/api/moderation/mute/', { token: userToken(r.alice), query: { user_id: r.alice }, body: {} });
      await expectError(Promise.resolve(res), 400, 4);
      assert.deepEqual((await r.ca.muteUser(r.bob)).own_user.mutes.length, 1, 'nothing half-written before');
    } finally {
      await r.close();
    }
  });
});

describe('muting channels', () => {
  it('mute: channel_mute and own_user; notification.channel_mutes_updated; muteStatus; the muted filter; unmute', async () => {
    const r = await room();
    try {
      const events = recordEvents(r.ca);
      const res = await r.chA.mute();
      assert.equal(res.channel_mute.user.id, r.alice);
      assert.equal(res.channel_mute.channel.cid, r.cid);
      assert.match(res.channel_mute.created_at, TIME_RE);
      assert.deepEqual(res.own_user.channel_mutes.map((m) => m.channel.cid), [r.cid]);
      const ev = await events.waitFor('notification.channel_mutes_updated');
      assert.deepEqual(ev.me.channel_mutes.map((m) => m.channel.cid), [r.cid]);
      assert.ok(Array.isArray(ev.me.mutes));
      assert.equal(r.chA.muteStatus().muted, true);
      assert.deepEqual((await r.ca.queryChannels({ cid: { $in: [r.cid] }, muted: true })).map((c) => c.cid), [r.cid]);
      assert.deepEqual(await r.ca.queryChannels({ cid: { $in: [r.cid] }, muted: false }), []);
      // A muted channel's new messages do not count as unread in the SDK.
      await r.chB.sendMessage({ text: 'shh' });
      const mark = events.mark();
      await r.chA.unmute();
      const ev2 = await events.waitFor('notification.channel_mutes_updated', { since: mark });
      assert.deepEqual(ev2.me.channel_mutes, []);
      assert.equal(r.chA.muteStatus().muted, false);
      assert.deepEqual(await r.ca.queryChannels({ cid: { $in: [r.cid] }, muted: true }), []);
    } finally {
      await r.close();
    }
  });

  it('a channel mute with expiration (ms) has expires', async () => {
    const r = await room();
    try {
      const res = await r.chA.mute({ expiration: 3600 * 1000 });
      const expires = new Date(res.channel_mute.expires).getTime();
      assert.ok(Math.abs(expires - (Date.now() + 3600 * 1000)) < 60000);
    } finally {
      await r.close();
    }
  });

  it('muting a channel you cannot read is 403; an unknown channel 404; a malformed cid 400', async () => {
    const r = await room();
    const stranger = await connectUser(uniqueId('stranger'));
    try {
      const mute = (client, id, cid) => api('POST', '/api/moderation/mute/channel/', { token: userToken(id), query: { user_id: id }, body: { channel_cid: cid } });
      await expectError(mute(stranger, stranger.userID, r.cid), 403, 17);
      await expectError(mute(r.ca, r.alice, `messaging:${uniqueId('none')}`), 404, 16);
      await expectError(mute(r.ca, r.alice, 'no-colon'), 400, 4);
      assert.deepEqual(stranger.mutedChannels, []);
    } finally {
      await r.close();
      await stranger.disconnectUser();
    }
  });
});

describe('blocks', () => {
  it('block, list, unblock; blocked_user_ids in me', async () => {
    const r = await room();
    try {
      const res = await r.ca.blockUser(r.bob);
      assert.equal(res.blocked_by_user_id, r.alice);
      assert.equal(res.blocked_user_id, r.bob);
      assert.match(res.blocked_at, TIME_RE);
      const list = await r.ca.getBlockedUsers();
      assert.equal(list.blocks.length, 1);
      const [b] = list.blocks;
      assert.equal(b.user_id, r.alice);
      assert.equal(b.user.id, r.alice);
      assert.equal(b.blocked_user_id, r.bob);
      assert.equal(b.blocked_user.id, r.bob);
      assert.match(b.created_at, TIME_RE);
      const again = await connectUser(r.alice);
      try {
        assert.deepEqual(again.user.blocked_user_ids, [r.bob]);
      } finally {
        await again.disconnectUser();
      }
      await r.ca.unBlockUser(r.bob);
      assert.deepEqual((await r.ca.getBlockedUsers()).blocks, []);
      await expectError(r.ca.blockUser(r.alice), 400, 4);
      await expectError(r.ca.blockUser(uniqueId('ghost')), 404, 16);
    } finally {
      await r.close();
    }
  });
});

describe('flags', () => {
  it('flag a message or a user, with a reason; flagging twice is not an error', async () => {
    const r = await room();
    try {
      const msg = (await r.chB.sendMessage({ text: 'rude' })).message;
      const res = await r.ca.flagMessage(msg.id, { reason: 'spam' });
      assert.equal(res.flag.target_message_id, msg.id);
      assert.equal(res.flag.created_by_id, r.alice);
      assert.equal(res.flag.reason, 'spam');
      assert.match(res.flag.created_at, TIME_RE);
      const twice = await r.ca.flagMessage(msg.id);
      assert.equal(twice.flag.target_message_id, msg.id);
      const user = await r.ca.flagUser(r.bob, { reason: 'annoying' });
      assert.equal(user.flag.target_user_id, r.bob);
      await expectError(r.ca.flagMessage(uuid()), 404, 16);
      await expectError(r.ca.flagUser(uniqueId('ghost')), 404, 16);
      const both = await api('POST', '/api/moderation/flag/', { token: userToken(r.alice), query: { user_id: r.alice }, body: { target_message_id: msg.id, target_user_id: r.bob } });
      await expectError(Promise.resolve(both), 400, 4);
      const stranger = uniqueId('stranger');
      const hidden = await api('POST', '/api/moderation/flag/', { token: userToken(stranger), query: { user_id: stranger }, body: { target_message_id: msg.id } });
      await expectError(Promise.resolve(hidden), 403, 17);
    } finally {
      await r.close();
    }
  });
});

describe('flagged messages for review (queryMessageFlags)', () => {
  it('admins list flagged messages, the newest flag first, with who flagged and the message; filters and pages; others get 403', async () => {
    const server = serverClient();
    const r = await room();
    const other = await room();
    try {
      const rude = (await r.chB.sendMessage({ text: 'rude' })).message;
      const spam = (await r.chB.sendMessage({ text: 'spam' })).message;
      const elsewhere = (await other.chB.sendMessage({ text: 'elsewhere' })).message;
      const gone = (await r.chB.sendMessage({ text: 'deleted since' })).message;
      await r.ca.flagMessage(rude.id, { reason: 'rude' });
      await r.ca.flagMessage(spam.id);
      await other.ca.flagMessage(elsewhere.id, { reason: 'off topic' });
      await r.ca.flagMessage(gone.id);
      await r.cb.deleteMessage(gone.id, true);
      await r.ca.flagUser(r.bob);  // a user flag: not a message flag

      const mine = await server.queryMessageFlags({ channel_cid: r.cid });
      assert.deepEqual(mine.flags.map((f) => f.message.text), ['spam', 'rude'], 'newest flag first; a hard-deleted message is gone');
      const [spamFlag, rudeFlag] = mine.flags;
      assert.equal(spamFlag.user.id, r.alice);
      assert.equal(spamFlag.message.user.id, r.bob);
      assert.equal(spamFlag.created_by_automod, false);
      assert.match(spamFlag.created_at, TIME_RE);
      assert.equal(rudeFlag.reason, 'rude');
      assert.deepEqual((await server.queryMessageFlags({ channel_cid: { $in: [r.cid, other.cid] } })).flags.map((f) => f.message.text),
        ['elsewhere', 'spam', 'rude']);
      assert.deepEqual((await server.queryMessageFlags({ channel_cid: other.cid, user_id: other.alice })).flags.map((f) => f.message.text), ['elsewhere']);
      assert.equal((await server.queryMessageFlags({ channel_cid: r.cid, user_id: other.alice })).flags.length, 0);
      assert.equal((await server.queryMessageFlags({ channel_cid: r.cid, is_reviewed: true })).flags.length, 0, 'nothing is reviewed');
      assert.equal((await server.queryMessageFlags({ channel_cid: r.cid, is_reviewed: false })).flags.length, 2);
      const page = await server.queryMessageFlags({ channel_cid: r.cid }, { limit: 1, offset: 1 });
      assert.deepEqual(page.flags.map((f) => f.message.text), ['rude']);

      await expectError(r.ca.queryMessageFlags({ channel_cid: r.cid }), 403, 17);
      await expectError(server.queryMessageFlags({ text: 'x' }), 400, 4);
      await expectError(server.queryMessageFlags({}, { limit: 101 }), 400, 4, /limit/);
    } finally {
      await r.close();
      await other.close();
    }
  });
});

describe('bans for review (queryBannedUsers)', () => {
  it('admins list channel and app-wide bans, the newest first, with who banned, why and until when; filters; others get 403', async () => {
    const server = serverClient();
    const r = await room();
    const [carol, dave] = await createUsers(2, 'bq');
    try {
      await r.chA.addMembers([carol]);
      await r.chA.banUser(carol, { reason: 'spam', timeout: 60 });
      await server.banUser(dave, { reason: 'abuse', banned_by_id: r.alice });
      const mine = { user_id: { $in: [carol, dave] } };
      const all = await server.queryBannedUsers(mine);
      assert.deepEqual(all.bans.map((b) => b.user.id), [dave, carol], 'the newest first');
      const [app, channel] = all.bans;
      assert.equal(app.channel, undefined, 'an app-wide ban names no channel');
      assert.equal(app.reason, 'abuse');
      assert.equal(app.banned_by.id, r.alice);
      assert.equal(app.expires, undefined);
      assert.match(app.created_at, TIME_RE);
      assert.equal(channel.channel.cid, r.cid);
      assert.equal(channel.reason, 'spam');
      assert.equal(channel.banned_by.id, r.alice);
      assert.equal(channel.shadow, false);
      assert.ok(Date.parse(channel.expires) > Date.now() + 50 * 60 * 1000, 'about an hour from now');
      assert.deepEqual((await server.queryBannedUsers({ ...mine, channel_cid: r.cid })).bans.map((b) => b.user.id), [carol]);
      assert.deepEqual((await server.queryBannedUsers({ ...mine, reason: 'abuse' })).bans.map((b) => b.user.id), [dave]);
      assert.deepEqual((await server.queryBannedUsers(mine, { created_at: 1 })).bans.map((b) => b.user.id), [carol, dave]);
      assert.deepEqual((await server.queryBannedUsers(mine, [], { exclude_expired_bans: true })).bans.map((b) => b.user.id), [dave, carol],
        'bans in force stay');
      assert.deepEqual((await server.queryBannedUsers(mine, [], { limit: 1, offset: 1 })).bans.map((b) => b.user.id), [carol]);

      await server.unbanUser(dave);
      await r.chA.unbanUser(carol);
      assert.equal((await server.queryBannedUsers(mine)).bans.length, 0, 'lifted bans are gone');

      await expectError(r.ca.queryBannedUsers(mine), 403, 17);
      await expectError(server.queryBannedUsers({ text: 'x' }), 400, 4);
      await expectError(server.queryBannedUsers(mine, { name: 1 }), 400, 4, /sort/);
    } finally {
      await r.close();
    }
  });
});

describe('bans', () => {
  it('a channel ban: user.banned to watchers; the banned user can neither read (403 code 17) nor send; unban restores', async () => {
    const [carol] = await createUsers(1, 'carol');
    const r = await room();
    try {
      await r.chA.addMembers([carol]);
      const before = (await r.chA.sendMessage({ text: 'before the ban' })).message;
      const watcher = recordEvents(r.ca);
      await r.chA.banUser(r.bob, { reason: 'rude', timeout: 60 });
      const ev = await watcher.waitFor('user.banned');
      assert.equal(ev.cid, r.cid);
      assert.equal(ev.user.id, r.bob);
      assert.equal(ev.reason, 'rude');
      assert.equal(ev.created_by.id, r.alice);
      assert.equal(ev.shadow, false);
      const ends = new Date(ev.expiration).getTime();
      assert.ok(Math.abs(ends - (Date.now() + 60 * 60 * 1000)) < 60000, 'a timed ban carries its expiration (timeout in minutes)');
      await expectError(r.chB.query({}), 403, 17);
      await expectError(r.chB.sendMessage({ text: 'still here?' }), 403, 17);
      await expectError(r.chB.sendReaction(before.id, { type: 'like' }), 403, 17);
      await expectError(r.cb.getMessage(before.id), 403, 17);
      assert.deepEqual(await r.cb.queryChannels({ cid: { $in: [r.cid] } }), [], 'banned: not in the list');
      const members = await r.chA.queryMembers({ banned: true });
      assert.deepEqual(members.members.map((m) => m.user_id), [r.bob]);
      assert.equal(members.members[0].banned, true);
      assert.match(members.members[0].ban_expires, TIME_RE);
      const state = await r.chA.query({ messages: { limit: 5 } });
      assert.deepEqual(state.messages.map((m) => m.id), [before.id], 'the refused send left nothing');
      assert.deepEqual(state.messages[0].reaction_counts, {});
      await r.chA.unbanUser(r.bob);
      const un = await watcher.waitFor('user.unbanned');
      assert.equal(un.user.id, r.bob);
      const back = await r.chB.query({});
      assert.equal(back.channel.cid, r.cid);
      await r.chB.sendMessage({ text: 'sorry' });
    } finally {
      await r.close();
    }
  });

  it('a plain member cannot ban (403 code 17); banning yourself is 400; an unknown user 404', async () => {
    const r = await room();
    try {
      await expectError(r.chB.banUser(r.alice, {}), 403, 17);
      await expectError(r.chA.banUser(r.alice, {}), 400, 4);
      await expectError(r.chA.banUser(uniqueId('ghost'), {}), 404, 16);
      await r.chB.sendMessage({ text: 'bob is fine' });
    } finally {
      await r.close();
    }
  });

  it('a channel ban also keeps a non-member out of a livestream', async () => {
    const [owner] = await createUsers(1, 'ls');
    const id = uniqueId('live');
    const srvCh = serverClient().channel('livestream', id, { created_by_id: owner, members: [owner] });
    await srvCh.create();
    const viewerId = uniqueId('viewer');
    const viewer = await connectUser(viewerId);
    try {
      await viewer.channel('livestream', id).watch();
      await srvCh.banUser(viewerId, { banned_by_id: owner });
      await expectError(viewer.channel('livestream', id).query({}), 403, 17);
    } finally {
      await viewer.disconnectUser();
    }
  });

  it('an app-wide ban (server token only) keeps the user from sending anywhere until lifted', async () => {
    const r = await room();
    try {
      await expectError(r.ca.banUser(r.bob), 403, 17);
      const srv = serverClient();
      await srv.banUser(r.bob);
      await expectError(r.chB.sendMessage({ text: 'banned' }), 403, 17);
      const found = await srv.queryUsers({ id: r.bob });
      assert.equal(found.users[0].banned, true);
      await srv.unbanUser(r.bob);
      await r.chB.sendMessage({ text: 'free' });
      assert.equal((await srv.queryUsers({ id: r.bob })).users[0].banned, false);
    } finally {
      await r.close();
    }
  });
});
