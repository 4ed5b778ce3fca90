// Issue 11, message search (STREAM-PROTOCOL.md §4.7, docs/uploads.md "Search"): client.search and
// channel.search as the SDK sends them, full-text matching, the channel filter of queryChannels,
// only channels the caller may read (a user must not see results from a members-only channel
// he is not in), message_filter_conditions, sort, and paging with offset or the next cursor.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { api, connectUser, upsertUsers, uniqueId, userToken } from './lib/streambed.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('search', () => {
  let ids, server, alice, bob, carol, dave, chA, chB, chL, word, t0, replyId;

  before(async () => {
    ids = { alice: uniqueId('sa'), bob: uniqueId('sb'), carol: uniqueId('sc'), dave: uniqueId('sd') };
    server = await upsertUsers(ids.alice, ids.bob, ids.carol, ids.dave);
    [alice, bob, carol, dave] = await Promise.all([ids.alice, ids.bob, ids.carol, ids.dave].map((id) => connectUser(id)));
    // A word no other test file uses, so results are only this file's messages.
    word = `zebra${Date.now().toString(36)}`;
    chA = alice.channel('messaging', uniqueId('sA'), { members: [ids.alice, ids.bob] });
    chB = carol.channel('messaging', uniqueId('sB'), { members: [ids.carol] });
    chL = dave.channel('livestream', uniqueId('sL'), { members: [ids.dave] });
    await Promise.all([chA.watch(), chB.watch(), chL.watch()]);
    t0 = new Date().toISOString();
    await sleep(5);
    const first = await chA.sendMessage({ text: `the quick brown ${word} jumps` });
    await chA.sendMessage({ text: `lazy dog sleeps` });
    await bob.channel('messaging', chA.id).sendMessage({ text: `bob saw a ${word} too` });
    replyId = (await chA.sendMessage({ text: `a ${word} in a thread`, parent_id: first.message.id })).message.id;
    await chA.sendMessage({ text: `${word} ${word} ${word} many times over` });
    const gone = await chA.sendMessage({ text: `deleted ${word} message` });
    await alice.deleteMessage(gone.message.id);
    await chB.sendMessage({ text: `carol's private ${word}` });
    await chL.sendMessage({ text: `${word} on the livestream` });
  });
  after(async () => {
    await Promise.all([alice, bob, carol, dave].map((c) => c?.disconnectUser()));
  });

  const texts = (res) => res.results.map((r) => r.message.text);

  it('members get search-messages (and search:true in the config)', () => {
    assert.ok(chA.data.own_capabilities.includes('search-messages'));
    assert.equal(chA.data.config.search, true);
  });

  it('client.search finds words in the caller\'s channels, with full messages', async () => {
    const res = await alice.search({ members: { $in: [ids.alice] } }, word);
    assert.equal(res.results.length, 4, JSON.stringify(texts(res)));
    for (const { message } of res.results) {
      assert.equal(message.cid, chA.cid);
      assert.ok(message.id && message.created_at && message.user?.id, JSON.stringify(message));
      assert.match(message.text, new RegExp(word));
    }
    assert.ok(!texts(res).some((t) => t.startsWith('deleted')), 'deleted messages are not found');
    assert.ok(texts(res).includes(`a ${word} in a thread`), 'thread replies are found');
    // Relevance first: the message with the word three times leads.
    assert.equal(res.results[0].message.text, `${word} ${word} ${word} many times over`);
    assert.equal(res.next, undefined);
  });

  it('a user never sees results from a members-only channel he is not in', async () => {
    const asBob = await bob.search({ cid: chB.cid }, word);
    assert.deepEqual(asBob.results, []);
    const everywhere = await bob.search({ type: 'messaging' }, word);
    assert.ok(!texts(everywhere).some((t) => t.includes('carol')), JSON.stringify(texts(everywhere)));
    assert.equal(everywhere.results.length, 4);
    // Carol sees her channel, and nothing of alice's.
    const asCarol = await carol.search({ type: 'messaging' }, word);
    assert.deepEqual(texts(asCarol), [`carol's private ${word}`]);
    // A public_read (livestream) channel is readable, so searchable, by anyone.
    const live = await bob.search({ type: 'livestream' }, word);
    assert.deepEqual(texts(live), [`${word} on the livestream`]);
    // The server (admin) sees everything.
    const all = await server.search({ type: { $in: ['messaging', 'livestream'] } }, word);
    assert.equal(all.results.length, 6);
  });

  it('channel.search searches one channel', async () => {
    const res = await chA.search('quick');
    assert.deepEqual(texts(res), [`the quick brown ${word} jumps`]);
    const none = await chA.search('carol');
    assert.deepEqual(none.results, []);
  });

  it('message_filter_conditions: text, user_id, created_at, parent_id, type', async () => {
    const filter = { cid: chA.cid };
    const prefix = await alice.search(filter, { text: { $autocomplete: 'qui bro' } });
    assert.deepEqual(texts(prefix), [`the quick brown ${word} jumps`]);
    const q = await alice.search(filter, { text: { $q: 'lazy dog' } });
    assert.deepEqual(texts(q), ['lazy dog sleeps']);
    const byBob = await alice.search(filter, { text: word, user_id: ids.bob });
    assert.deepEqual(texts(byBob), [`bob saw a ${word} too`]);
    const later = await alice.search(filter, { created_at: { $gt: t0 }, user_id: { $eq: ids.alice } });
    assert.equal(later.results.length, 4);
    const none = await alice.search(filter, { created_at: { $lt: t0 }, text: word });
    assert.deepEqual(none.results, []);
    const replies = await alice.search(filter, { text: word, parent_id: { $exists: true } });
    assert.deepEqual(replies.results.map((r) => r.message.id), [replyId]);
    const topLevel = await alice.search(filter, { text: word, parent_id: { $exists: false } });
    assert.equal(topLevel.results.length, 3);
    // The UI kit's message search: {type: 'regular', text: <what was typed>}.
    const kit = await alice.search({ members: { $in: [ids.alice] } }, { type: 'regular', text: word });
    const all = await alice.search({ members: { $in: [ids.alice] } }, word);
    const regular = all.results.filter((r) => r.message.type === 'regular').map((r) => r.message.id).sort();
    assert.ok(regular.length >= 3);
    assert.deepEqual(kit.results.map((r) => r.message.id).sort(), regular);
    const reply = await alice.search(filter, { type: 'reply', text: word });
    assert.deepEqual(reply.results.map((r) => r.message.id), all.results.filter((r) => r.message.type === 'reply').map((r) => r.message.id));
  });

  it('sort by created_at either way', async () => {
    const asc = await alice.search({ cid: chA.cid }, word, { sort: [{ created_at: 1 }] });
    const desc = await alice.search({ cid: chA.cid }, word, { sort: { created_at: -1 } });
    const times = asc.results.map((r) => r.message.created_at);
    assert.deepEqual(times, [...times].sort());
    assert.deepEqual(desc.results.map((r) => r.message.id), asc.results.map((r) => r.message.id).reverse());
  });

  it('pages with limit and next, or limit and offset, with no gaps and no repeats', async () => {
    const sort = [{ created_at: 1 }];
    const all = await alice.search({ cid: chA.cid }, word, { sort });
    const seen = [];
    let next;
    let pages = 0;
    do {
      const page = await alice.search({ cid: chA.cid }, word, { sort, limit: 3, ...(next ? { next } : {}) });
      seen.push(...page.results.map((r) => r.message.id));
      if (pages > 0) assert.ok(page.previous, 'a later page has previous');
      next = page.next;
      pages += 1;
      assert.ok(pages < 5);
    } while (next);
    assert.equal(pages, 2);
    assert.deepEqual(seen, all.results.map((r) => r.message.id));
    const second = await alice.search({ cid: chA.cid }, word, { sort, limit: 3, offset: 3 });
    assert.deepEqual(second.results.map((r) => r.message.id), seen.slice(3));
  });

  it('bad requests are 400 in the error envelope', async () => {
    const token = userToken(ids.alice);
    const bad = [
      { query: word },                                                     // no channel filter
      { filter_conditions: { cid: chA.cid } },                             // nothing to search for
      { filter_conditions: { cid: chA.cid }, query: '  ...  ' },           // no word in the query
      { filter_conditions: { cid: chA.cid }, message_filter_conditions: { text: { $in: ['a'] } } },
      { filter_conditions: { cid: chA.cid }, message_filter_conditions: { 'bad field!': 1 } },
      { filter_conditions: { cid: { $regex: 'x' } }, query: word },
      { filter_conditions: { cid: chA.cid }, query: word, limit: 0 },
      { filter_conditions: { cid: chA.cid }, query: word, limit: 101 },
      { filter_conditions: { cid: chA.cid }, query: word, next: 'not-a-cursor' },
      { filter_conditions: { cid: chA.cid }, query: word, offset: 3, next: Buffer.from('search:3').toString('base64url') },
      { filter_conditions: { cid: chA.cid }, query: word, sort: [{ field: 'secret', direction: 1 }] },
    ];
    for (const payload of bad) {
      const res = await api('GET', '/api/search/', { token, query: { payload, user_id: ids.alice } });
      assert.equal(res.status, 400, `${JSON.stringify(payload)}: ${res.text}`);
      assert.equal(res.json.code, 4);
    }
    const noPayload = await api('GET', '/api/search/', { token });
    assert.equal(noPayload.status, 400);
  });
});
