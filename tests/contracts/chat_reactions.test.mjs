// Issue 3, reactions (STREAM-PROTOCOL.md §3.5, §3.6, §4.3, §5): add and remove, enforce_unique,
// reaction_groups / counts / scores, latest_reactions with users, own_reactions personalised in
// REST, and query reactions with `next` only while more pages exist.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

import {
  TIME_RE, api, connectUser, createUsers, expectError, recordEvents, serverClient, uniqueId, userToken, uuid,
  watchingPair,
} from './lib/streambed.mjs';

// The pair, with a message of Alice's to react to.
async function room() {
  const r = await watchingPair();
  r.msg = (await r.chA.sendMessage({ text: 'react to me' })).message;
  return r;
}

function assertReaction(r, { messageId, userId, type, score = 1 }) {
  assert.equal(r.message_id, messageId);
  assert.equal(r.user_id, userId);
  assert.equal(r.user.id, userId);
  assert.match(r.user.created_at, TIME_RE);
  assert.equal(r.type, type);
  assert.equal(r.score, score);
  assert.match(r.created_at, TIME_RE);
  assert.match(r.updated_at, TIME_RE);
}

describe('sending and removing reactions', () => {
  it('a reaction: the full message (original created_at, groups, counts, scores, latest with users, own) and reaction.new', async () => {
    const r = await room();
    try {
      const events = recordEvents(r.cb);
      const res = await r.chA.sendReaction(r.msg.id, { type: 'love', emoji_code: '❤️' });
      assertReaction(res.reaction, { messageId: r.msg.id, userId: r.alice, type: 'love' });
      assert.equal(res.reaction.emoji_code, '❤️', 'custom reaction fields are flattened');
      const m = res.message;
      assert.equal(m.id, r.msg.id);
      assert.equal(m.text, 'react to me');
      assert.equal(m.created_at, r.msg.created_at);
      assert.ok(m.updated_at > r.msg.updated_at, 'a reaction bumps updated_at');
      assert.deepEqual(Object.keys(m.reaction_groups), ['love']);
      assert.equal(m.reaction_groups.love.count, 1);
      assert.equal(m.reaction_groups.love.sum_scores, 1);
      assert.match(m.reaction_groups.love.first_reaction_at, TIME_RE);
      assert.match(m.reaction_groups.love.last_reaction_at, TIME_RE);
      assert.deepEqual(m.reaction_counts, { love: 1 });
      assert.deepEqual(m.reaction_scores, { love: 1 });
      assert.equal(m.latest_reactions.length, 1);
      assertReaction(m.latest_reactions[0], { messageId: r.msg.id, userId: r.alice, type: 'love' });
      assert.deepEqual(m.own_reactions.map((x) => x.type), ['love']);
      const ev = await events.waitFor('reaction.new');
      assert.equal(ev.cid, r.cid);
      assert.equal(ev.user.id, r.alice);
      assert.equal(ev.reaction.user_id, r.alice);
      assert.equal(ev.reaction.type, 'love');
      assert.equal(new Date(ev.message.created_at).getTime(), new Date(r.msg.created_at).getTime());
      assert.deepEqual(ev.message.reaction_counts, { love: 1 });
      assert.equal(ev.message.latest_reactions[0].user.id, r.alice);
      const local = r.chB.state.messages.find((x) => x.id === r.msg.id);
      assert.deepEqual(local.reaction_counts, { love: 1 });
    } finally {
      await r.close();
    }
  });

  it('own_reactions in REST are the caller\'s own; counts and scores add up across users', async () => {
    const r = await room();
    try {
      await r.chA.sendReaction(r.msg.id, { type: 'love' });
      const bobs = await r.chB.sendReaction(r.msg.id, { type: 'love', score: 3 });
      await r.chB.sendReaction(r.msg.id, { type: 'fire' });
      assert.deepEqual(bobs.message.own_reactions.map((x) => x.user_id), [r.bob]);
      assert.equal(bobs.message.reaction_groups.love.count, 2);
      assert.equal(bobs.message.reaction_groups.love.sum_scores, 4);
      const aliceView = await r.chA.query({ messages: { limit: 5 } });
      const m = aliceView.messages.find((x) => x.id === r.msg.id);
      assert.deepEqual(m.reaction_counts, { love: 2, fire: 1 });
      assert.deepEqual(m.reaction_scores, { love: 4, fire: 1 });
      assert.deepEqual(m.own_reactions.map((x) => [x.user_id, x.type]), [[r.alice, 'love']]);
      assert.equal(m.latest_reactions.length, 3);
      for (const x of m.latest_reactions) assert.ok(x.user?.id);
      const bobView = (await r.cb.getMessage(r.msg.id)).message;
      assert.deepEqual(bobView.own_reactions.map((x) => x.type).sort(), ['fire', 'love']);
    } finally {
      await r.close();
    }
  });

  it('enforce_unique replaces the user\'s other reactions and emits reaction.updated', async () => {
    const r = await room();
    try {
      await r.chA.sendReaction(r.msg.id, { type: 'love' });
      await r.chB.sendReaction(r.msg.id, { type: 'love' });
      const events = recordEvents(r.cb);
      const res = await r.chA.sendReaction(r.msg.id, { type: 'haha' }, { enforce_unique: true });
      assert.deepEqual(res.message.reaction_counts, { love: 1, haha: 1 });
      assert.deepEqual(res.message.own_reactions.map((x) => x.type), ['haha']);
      const ev = await events.waitFor((e) => e.type.startsWith('reaction.') && e.reaction.type === 'haha');
      assert.equal(ev.type, 'reaction.updated');
      assert.equal(ev.reaction.type, 'haha');
      // enforce_unique when nothing is replaced is a plain new reaction.
      const mark = events.mark();
      const fresh = await r.chB.sendReaction(r.msg.id, { type: 'wow' }, { enforce_unique: false });
      assert.deepEqual(fresh.message.reaction_counts, { love: 1, haha: 1, wow: 1 });
      assert.equal((await events.waitFor((e) => e.type.startsWith('reaction.') && e.reaction.type === 'wow', { since: mark })).type, 'reaction.new');
    } finally {
      await r.close();
    }
  });

  it('removing a reaction: reaction.deleted, the group disappears at zero; removing one you do not have is 404', async () => {
    const r = await room();
    try {
      await r.chA.sendReaction(r.msg.id, { type: 'love' });
      await r.chA.sendReaction(r.msg.id, { type: 'sad' });
      const events = recordEvents(r.cb);
      const res = await r.chA.deleteReaction(r.msg.id, 'sad');
      assert.deepEqual(res.message.reaction_counts, { love: 1 });
      assert.equal(res.message.reaction_groups.sad, undefined);
      assert.equal(res.message.created_at, r.msg.created_at);
      assert.equal(res.reaction.type, 'sad');
      const ev = await events.waitFor('reaction.deleted');
      assert.equal(ev.reaction.type, 'sad');
      assert.equal(ev.reaction.user_id, r.alice);
      assert.deepEqual(ev.message.reaction_counts, { love: 1 });
      await expectError(r.chA.deleteReaction(r.msg.id, 'sad'), 404, 16);
      await expectError(r.chB.deleteReaction(r.msg.id, 'love'), 404, 16, /no love reaction/);
      assert.deepEqual((await r.ca.getMessage(r.msg.id)).message.reaction_counts, { love: 1 }, 'bob did not remove alice\'s reaction');
    } finally {
      await r.close();
    }
  });

  it('invalid reactions are 400, reacting without access is 403, on a missing message 404, on a deleted one 400', async () => {
    const r = await room();
    const stranger = await connectUser(uniqueId('stranger'));
    try {
      for (const type of ['', 'with space', 'x'.repeat(65), '<b>']) {
        const res = await api('POST', `/api/messages/${r.msg.id}/reaction/`, {
          token: userToken(r.alice), query: { user_id: r.alice }, body: { reaction: { type } },
        });
        await expectError(Promise.resolve(res), 400, 4);
      }
      const bigScore = await api('POST', `/api/messages/${r.msg.id}/reaction/`, {
        token: userToken(r.alice), query: { user_id: r.alice }, body: { reaction: { type: 'like', score: 1e9 } },
      });
      await expectError(Promise.resolve(bigScore), 400, 4);
      const noReaction = await api('POST', `/api/messages/${r.msg.id}/reaction/`, { token: userToken(r.alice), query: { user_id: r.alice }, body: {} });
      await expectError(Promise.resolve(noReaction), 400, 4);
      await expectError(stranger.channel('messaging', r.id).sendReaction(r.msg.id, { type: 'like' }), 403, 17);
      await expectError(r.chA.sendReaction(uuid(), { type: 'like' }), 404, 16);
      await r.ca.deleteMessage(r.msg.id);
      await expectError(r.chA.sendReaction(r.msg.id, { type: 'like' }), 400, 4);
      assert.deepEqual((await r.ca.getMessage(r.msg.id)).message.reaction_counts, {}, 'nothing half-written');
    } finally {
      await r.close();
      await stranger.disconnectUser();
    }
  });

  it('a livestream viewer who is not a member reads but may not react', async () => {
    const [owner] = await createUsers(1, 'ls');
    const id = uniqueId('live');
    const srv = serverClient().channel('livestream', id, { created_by_id: owner, members: [owner] });
    await srv.create();
    const msg = (await srv.sendMessage({ text: 'live', user_id: owner })).message;
    const viewer = await connectUser(uniqueId('viewer'));
    try {
      const ch = viewer.channel('livestream', id);
      const state = await ch.watch();
      assert.ok(!state.channel.own_capabilities.includes('send-reaction'));
      await expectError(ch.sendReaction(msg.id, { type: 'like' }), 403, 17);
    } finally {
      await viewer.disconnectUser();
    }
  });
});

describe('many reactions', () => {
  // Each reaction's event is logged in the transaction of its change, which holds the message's
  // row: by seq, every event carries the message as its own change left it, after all earlier ones.
  it('reactions sent at once: by seq, each reaction.new carries one more reaction than the one before', async () => {
    const r = await room();
    try {
      const reactors = await createUsers(24, 'rc');
      await serverClient().channel('messaging', r.id).addMembers(reactors);
      const events = recordEvents(r.cb);
      const srv = serverClient().channel('messaging', r.id);
      await Promise.all(reactors.map((u) => srv.sendReaction(r.msg.id, { type: 'like', user_id: u })));
      await events.waitFor(() => events.of('reaction.new').length >= reactors.length, { timeout: 10000 });
      const bySeq = events.of('reaction.new').sort((a, b) => a.seq - b.seq);
      assert.equal(new Set(bySeq.map((e) => e.seq)).size, reactors.length, 'one seq each');
      assert.deepEqual(bySeq.map((e) => e.message.reaction_counts.like), reactors.map((_, i) => i + 1));
      assert.deepEqual(bySeq.map((e) => e.reaction.user_id).sort(), [...reactors].sort());
    } finally {
      await r.close();
    }
  });

  it('replies and reactions to one message at once: every one lands, and no transaction deadlocks', async () => {
    // A reply locks its parent's row and then its channel's (to log its events), as a reaction
    // does; were the orders opposite, PostgreSQL would break the cycles by failing one side, which
    // the worker runs again (logged as pg.retry, SQLSTATE 40P01).
    const r = await room();
    try {
      const people = await createUsers(24, 'rr');
      const srv = serverClient().channel('messaging', r.id);
      await srv.addMembers(people);
      const retries = () => fs.readFileSync(path.join(process.env.STREAMBED_RUN_DIR, 'logs', 'api.log'), 'utf8')
        .split('\n').filter((l) => l.includes('"pg.retry"') && l.includes('40P01')).length;
      const before = retries();
      await Promise.all(people.map((u, i) => (i % 2
        ? srv.sendReaction(r.msg.id, { type: 'like', user_id: u })
        : srv.sendMessage({ text: `reply ${i}`, parent_id: r.msg.id, user_id: u }))));
      const m = (await r.ca.getMessage(r.msg.id)).message;
      assert.equal(m.reply_count, 12);
      assert.equal(m.reaction_counts.like, 12);
      assert.equal(retries() - before, 0, 'deadlocks broken by PostgreSQL and rerun');
    } finally {
      await r.close();
    }
  });

  it('latest_reactions keeps the newest ten with users; query reactions pages with `next` only while more exist', async () => {
    const r = await room();
    try {
      const reactors = await createUsers(30, 'rx');
      await serverClient().channel('messaging', r.id).addMembers(reactors);
      const srv = serverClient().channel('messaging', r.id);
      for (const [i, u] of reactors.entries()) await srv.sendReaction(r.msg.id, { type: i < 20 ? 'like' : 'love', user_id: u });
      const m = (await r.ca.getMessage(r.msg.id)).message;
      assert.deepEqual(m.reaction_counts, { like: 20, love: 10 });
      assert.equal(m.latest_reactions.length, 10);
      assert.deepEqual(m.latest_reactions.map((x) => x.user_id), reactors.slice(20).reverse(), 'the newest first');
      for (const x of m.latest_reactions) assert.equal(x.user.id, x.user_id);
      assert.deepEqual(m.own_reactions, []);

      const first = await r.ca.queryReactions(r.msg.id, {}, [], { limit: 25 });
      assert.equal(first.reactions.length, 25);
      assert.equal(typeof first.next, 'string');
      const second = await r.ca.queryReactions(r.msg.id, {}, [], { limit: 25, next: first.next });
      assert.equal(second.reactions.length, 5);
      assert.equal(second.next, undefined, 'no next on the last page');
      const seen = [...first.reactions, ...second.reactions].map((x) => x.user_id);
      assert.deepEqual([...seen].sort(), [...reactors].sort(), 'every reaction once');
      const exact = await r.ca.queryReactions(r.msg.id, { type: 'love' }, [], { limit: 10 });
      assert.equal(exact.reactions.length, 10);
      assert.equal(exact.next, undefined, 'exactly a full last page has no next');
      assert.ok(exact.reactions.every((x) => x.type === 'love'));
      const mine = await r.ca.queryReactions(r.msg.id, { user_id: reactors[3] });
      assert.deepEqual(mine.reactions.map((x) => x.type), ['like']);
      const listed = await r.chA.getReactions(r.msg.id, { limit: 7, offset: 28 });
      assert.equal(listed.reactions.length, 2);
      await expectError(r.ca.queryReactions(r.msg.id, {}, [], { next: 'not-a-cursor' }), 400, 4);
      await expectError(r.ca.queryReactions(r.msg.id, { score: 1 }), 400, 4);
    } finally {
      await r.close();
    }
  });
});
