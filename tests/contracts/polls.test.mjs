// Polls (getstream.io's polls, the channel type setting `polls`): the SDK's createPoll and its
// PollManager, a poll sent in a message, castPollVote / removePollVote with the SDK's Poll state
// following the poll.* events, answers, closing, suggested options, anonymous polls, queryPolls
// and queryPollVotes; and who may do what: only the creator changes a poll, only those who can
// read its channel see it once sent, only its creator before.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  TIME_RE, api, connectUser, expectError, recordEvents, serverClient, uniqueId, upsertUsers, userToken, watchingPair,
} from './lib/streambed.mjs';

const server = serverClient();
const TYPE = uniqueId('poll').replace(/[^A-Za-z0-9_-]/g, '_').slice(-40);

// A poll of the client's user, sent in a message of channel `ch`: [Poll, message].
async function sendPoll(client, ch, data) {
  const poll = await client.polls.createPoll({ options: [{ text: 'Pizza' }, { text: 'Sushi' }], ...data });
  const { message } = await ch.sendMessage({ text: '', poll_id: poll.id });
  return [poll, message];
}

// The Poll of `client`'s PollManager, once message.new has brought it (the REST reply of the send
// may come first).
async function pollOf(client, id) {
  for (let i = 0; i < 100; i++) {
    const poll = client.polls.fromState(id);
    if (poll) return poll;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`poll ${id} never reached the SDK's PollManager`);
}

const optionIds = (poll) => Object.fromEntries(poll.data.options.map((o) => [o.text, o.id]));

before(async () => {
  await server.createChannelType({ name: TYPE, polls: true });
});

describe('polls', () => {
  let r;
  before(async () => {
    r = await watchingPair({ type: TYPE });
    // As the kit's <Chat> does: the SDK's PollManager follows messages and poll events from then on.
    r.ca.polls.registerSubscriptions();
    r.cb.polls.registerSubscriptions();
  });
  after(() => r.close());

  it('a poll sent in a message reaches the watchers with message.new, and the SDK keeps its state', async () => {
    const caps = (await r.chB.query({})).channel.own_capabilities;
    for (const c of ['send-poll', 'cast-poll-vote', 'query-poll-votes']) assert.ok(caps.includes(c), c);
    const bobEvents = recordEvents(r.cb);
    const poll = await r.ca.polls.createPoll({ name: 'Lunch?', description: 'Friday', options: [{ text: 'Pizza' }, { text: 'Sushi' }] });
    assert.equal(poll.data.name, 'Lunch?');
    assert.equal(poll.data.description, 'Friday');
    assert.equal(poll.data.created_by_id, r.alice);
    assert.equal(poll.data.created_by.id, r.alice);
    assert.equal(poll.data.voting_visibility, 'public');
    assert.deepEqual(poll.data.options.map((o) => o.text), ['Pizza', 'Sushi']);
    assert.match(poll.data.created_at, TIME_RE);
    assert.equal(poll.data.vote_count, 0);

    const { message } = await r.chA.sendMessage({ text: '', poll_id: poll.id });
    assert.equal(message.poll_id, poll.id);
    assert.equal(message.poll.name, 'Lunch?');
    const event = await bobEvents.waitFor((e) => e.type === 'message.new' && e.message.id === message.id);
    assert.equal(event.message.poll.id, poll.id);
    assert.deepEqual(event.message.poll.own_votes, []);
    assert.deepEqual((await pollOf(r.cb, poll.id)).data.options.map((o) => o.text), ['Pizza', 'Sushi'], 'hydrated from message.new');

    const { messages } = await r.chB.query({ messages: { limit: 5 } });
    const seen = messages.find((m) => m.id === message.id);
    assert.equal(seen.poll.id, poll.id);
    assert.deepEqual(seen.poll.vote_counts_by_option, {});
    assert.equal((await r.cb.getPoll(poll.id)).poll.name, 'Lunch?');
  });

  it('votes: poll.vote_casted to the watchers, a unique vote moves (poll.vote_changed), removal (poll.vote_removed)', async () => {
    const [poll, message] = await sendPoll(r.ca, r.chA, { name: 'Where?', enforce_unique_vote: true });
    const { Pizza, Sushi } = optionIds(poll);
    const aliceEvents = recordEvents(r.ca);
    const bobEvents = recordEvents(r.cb);
    const bobPoll = await pollOf(r.cb, poll.id);

    const { vote } = await bobPoll.castVote(Pizza, message.id);
    assert.equal(vote.option_id, Pizza);
    assert.equal(vote.user_id, r.bob);
    const casted = await aliceEvents.waitFor((e) => e.type === 'poll.vote_casted' && e.poll.id === poll.id);
    assert.equal(casted.poll_vote.user.id, r.bob);
    assert.equal(casted.poll.vote_counts_by_option[Pizza], 1);
    assert.deepEqual(casted.poll.own_votes, [], 'an event carries no one\'s own votes');
    await bobEvents.waitFor((e) => e.type === 'poll.vote_casted' && e.poll.id === poll.id);
    assert.equal(poll.data.vote_counts_by_option[Pizza], 1, 'Alice\'s Poll state follows the event');
    assert.equal(bobPoll.data.ownVotesByOptionId[Pizza].id, vote.id, 'Bob\'s Poll knows his vote');
    assert.deepEqual(poll.data.maxVotedOptionIds, [Pizza]);
    const again = await bobPoll.castVote(Pizza, message.id);
    assert.equal(again.vote.id, vote.id, 'the same choice again changes nothing');

    const moved = await bobPoll.castVote(Sushi, message.id);
    assert.equal(moved.vote.id, vote.id, 'a unique vote moves');
    const changed = await aliceEvents.waitFor((e) => e.type === 'poll.vote_changed' && e.poll.id === poll.id);
    assert.deepEqual(changed.poll.vote_counts_by_option, { [Sushi]: 1 });
    await bobEvents.waitFor((e) => e.type === 'poll.vote_changed' && e.poll.id === poll.id);
    assert.deepEqual(Object.keys(bobPoll.data.ownVotesByOptionId), [Sushi]);

    await bobPoll.removeVote(vote.id, message.id);
    const removed = await aliceEvents.waitFor((e) => e.type === 'poll.vote_removed' && e.poll.id === poll.id);
    assert.equal(removed.poll_vote.id, vote.id);
    assert.equal(removed.poll.vote_count, 0);
    await bobEvents.waitFor((e) => e.type === 'poll.vote_removed' && e.poll.id === poll.id);
    assert.deepEqual(bobPoll.data.ownVotesByOptionId, {});
    await expectError(bobPoll.removeVote(vote.id, message.id), 404, 16, /vote/);
  });

  it('several votes up to max_votes_allowed, answers in words (one per user, replaced by the next)', async () => {
    const [poll, message] = await sendPoll(r.ca, r.chA, {
      name: 'Toppings', options: [{ text: 'Ham' }, { text: 'Olives' }, { text: 'Corn' }], enforce_unique_vote: false,
      max_votes_allowed: 2, allow_answers: true,
    });
    const { Ham, Olives, Corn } = optionIds(poll);
    await r.cb.castPollVote(message.id, poll.id, { option_id: Ham });
    await r.cb.castPollVote(message.id, poll.id, { option_id: Olives });
    await expectError(r.cb.castPollVote(message.id, poll.id, { option_id: Corn }), 400, 4, /most votes this poll allows \(2\)/);
    const aliceEvents = recordEvents(r.ca);
    const { vote: answer } = await r.cb.addPollAnswer(message.id, poll.id, 'Pineapple');
    assert.equal(answer.answer_text, 'Pineapple');
    assert.equal(answer.is_answer, true);
    const casted = await aliceEvents.waitFor((e) => e.type === 'poll.vote_casted' && e.poll_vote.is_answer);
    assert.equal(casted.poll.answers_count, 1);
    const { vote: second } = await r.cb.addPollAnswer(message.id, poll.id, 'Mushrooms');
    assert.equal(second.id, answer.id, 'one answer per user');
    await aliceEvents.waitFor((e) => e.type === 'poll.vote_changed' && e.poll_vote.answer_text === 'Mushrooms');

    const answers = await r.ca.queryPollAnswers(poll.id);
    assert.deepEqual(answers.votes.map((v) => [v.answer_text, v.user.id]), [['Mushrooms', r.bob]]);
    const votes = await r.ca.queryPollVotes(poll.id, { option_id: Ham });
    assert.deepEqual(votes.votes.map((v) => v.user_id), [r.bob]);
    const { poll: read } = await r.cb.getPoll(poll.id);
    assert.equal(read.vote_count, 2);
    assert.equal(read.answers_count, 1);
    assert.deepEqual(read.vote_counts_by_option, { [Ham]: 1, [Olives]: 1 });
    assert.equal(read.latest_votes_by_option[Ham][0].user.id, r.bob);
    assert.equal(read.latest_answers[0].answer_text, 'Mushrooms');
    assert.equal(read.own_votes.length, 3, 'Bob\'s two votes and his answer');
    assert.deepEqual((await r.ca.getPoll(poll.id)).poll.own_votes, [], 'Alice has none');

    const plain = await sendPoll(r.ca, r.chA, { name: 'No answers' });
    await expectError(r.cb.addPollAnswer(plain[1].id, plain[0].id, 'x'), 400, 4, /does not take answers/);
  });

  it('only the creator changes the poll; suggested options where allowed; poll.updated and poll.closed; a closed poll takes no votes', async () => {
    const [poll, message] = await sendPoll(r.ca, r.chA, { name: 'Team name?' });
    const bobEvents = recordEvents(r.cb);
    await expectError(r.cb.partialUpdatePoll(poll.id, { set: { name: 'Mine now' } }), 403, 17, /creator/);
    await expectError(r.cb.createPollOption(poll.id, { text: 'Burgers' }), 403, 17, /allow_user_suggested_options/);

    await r.ca.partialUpdatePoll(poll.id, { set: { allow_user_suggested_options: true, description: 'Be creative' } });
    const updated = await bobEvents.waitFor((e) => e.type === 'poll.updated' && e.poll.description === 'Be creative');
    assert.equal(updated.poll.allow_user_suggested_options, true);
    const { poll_option: option } = await r.cb.createPollOption(poll.id, { text: 'Burgers' });
    assert.equal(option.text, 'Burgers');
    await bobEvents.waitFor((e) => e.type === 'poll.updated' && e.poll.options.some((o) => o.text === 'Burgers'));
    await expectError(r.cb.createPollOption(poll.id, { text: 'Burgers' }), 400, 4, /already/);
    await expectError(r.cb.deletePollOption(poll.id, option.id), 403, 17);
    await r.ca.updatePollOption(poll.id, { id: option.id, text: 'Burgers and fries' });
    assert.equal((await r.cb.getPollOption(poll.id, option.id)).poll_option.text, 'Burgers and fries');

    const bobPoll = await pollOf(r.cb, poll.id);
    await r.ca.closePoll(poll.id);
    await bobEvents.waitFor((e) => e.type === 'poll.closed' && e.poll.id === poll.id);
    assert.equal(bobPoll.data.is_closed, true, 'the SDK\'s Poll state is closed');
    await expectError(r.cb.castPollVote(message.id, poll.id, { option_id: option.id }), 400, 4, /closed/);

    // A full update: every setting, and the options kept by id.
    const { poll: full } = await r.ca.updatePoll({
      id: poll.id, name: 'Team name, again', options: [{ id: option.id, text: 'Burgers' }, { text: 'Pasta' }],
    });
    assert.equal(full.is_closed, false, 'left out: reset');
    assert.deepEqual(full.options.map((o) => o.text), ['Burgers', 'Pasta']);
    assert.equal(full.options[0].id, option.id);
  });

  it('an anonymous poll tells no one who voted, but the voter still sees its own vote', async () => {
    const [poll, message] = await sendPoll(r.ca, r.chA, { name: 'Secret?', voting_visibility: 'anonymous' });
    const { Pizza } = optionIds(poll);
    const aliceEvents = recordEvents(r.ca);
    const bobEvents = recordEvents(r.cb);
    const bobPoll = await pollOf(r.cb, poll.id);
    await bobPoll.castVote(Pizza, message.id);
    const seen = await aliceEvents.waitFor((e) => e.type === 'poll.vote_casted' && e.poll.id === poll.id);
    assert.equal(seen.poll_vote.user_id, undefined);
    assert.equal(seen.poll_vote.user, undefined);
    assert.equal(seen.user, undefined);
    assert.equal(seen.poll.vote_counts_by_option[Pizza], 1);
    assert.deepEqual(seen.poll.latest_votes_by_option, {});
    await bobEvents.waitFor((e) => e.type === 'poll.vote_casted' && e.poll_vote.user_id === r.bob);
    assert.ok(bobPoll.data.ownVotesByOptionId[Pizza], 'Bob\'s Poll marks his vote');
    const { votes } = await r.ca.queryPollVotes(poll.id);
    assert.equal(votes.length, 1);
    assert.equal(votes[0].user_id, undefined);
    await expectError(r.ca.queryPollVotes(poll.id, { user_id: r.bob }), 400, 4, /anonymous/);
    assert.equal((await r.cb.queryPollVotes(poll.id)).votes[0].user_id, r.bob, 'one\'s own vote keeps its user');
    // Made public now, it would name its voters: refused once anyone voted.
    await expectError(r.ca.partialUpdatePoll(poll.id, { set: { voting_visibility: 'public' } }), 400, 4, /voting_visibility/);
    await expectError(r.ca.updatePoll({ id: poll.id, name: 'Secret?' }), 400, 4, /voting_visibility/);
    assert.equal((await r.ca.getPoll(poll.id)).poll.voting_visibility, 'anonymous');
  });

  it('a poll is its creator\'s until sent, then its channel\'s: others get 404 or 403; one poll, one message, in a channel with polls', async () => {
    const carol = uniqueId('carol');
    await upsertUsers(carol);
    const cc = await connectUser(carol);
    try {
      const unsent = await r.ca.polls.createPoll({ name: 'Draft', options: [{ text: 'a' }] });
      await expectError(r.cb.getPoll(unsent.id), 404, 16);
      await expectError(r.chB.sendMessage({ text: 'mine', poll_id: unsent.id }), 400, 4, /user who created it/);
      const { message } = await r.chA.sendMessage({ text: 'vote', poll_id: unsent.id });
      await expectError(r.chA.sendMessage({ text: 'again', poll_id: unsent.id }), 400, 4, /sent already/);
      await expectError(cc.getPoll(unsent.id), 403, 17);
      await expectError(cc.castPollVote(message.id, unsent.id, { option_id: unsent.data.options[0].id }), 403, 17);
      await expectError(cc.queryPollVotes(unsent.id), 403, 17);
      assert.deepEqual((await cc.queryPolls({ id: unsent.id })).polls, [], 'queryPolls lists only what one may see');
      assert.deepEqual((await r.cb.queryPolls({ id: unsent.id })).polls.map((p) => p.id), [unsent.id]);
      await expectError(r.cb.castPollVote(message.id, 'no-such-poll', { option_id: 'x' }), 404, 16);
      await expectError(r.cb.castPollVote(message.id, unsent.id, { option_id: 'no-such-option' }), 400, 4, /option/);

      const plain = r.ca.channel('messaging', uniqueId('plain'), { members: [r.alice] });
      await plain.create();
      const elsewhere = await r.ca.polls.createPoll({ name: 'Off', options: [{ text: 'a' }] });
      await expectError(plain.sendMessage({ text: 'x', poll_id: elsewhere.id }), 400, 4, /not enabled/);
      assert.ok(!(await plain.query({})).channel.own_capabilities.includes('send-poll'));
    } finally {
      await cc.disconnectUser();
    }
  });

  it('refuses bad polls and votes with 400 naming the field', async () => {
    const p = (body) => api('POST', '/api/polls/', { token: userToken(r.alice), body });
    const expect400 = async (body, field) => {
      const res = await p(body);
      assert.equal(res.status, 400, res.text);
      assert.equal(res.json.code, 4);
      assert.match(res.json.message, field);
    };
    await expect400({ options: [{ text: 'a' }] }, /name/);
    await expect400({ name: 'x', options: Array.from({ length: 101 }, (_, i) => ({ text: `o${i}` })) }, /100 options/);
    await expect400({ name: 'x', options: [{ text: 'same' }, { text: 'same' }] }, /unique/);
    await expect400({ name: 'x', options: [{ text: '' }] }, /text/);
    await expect400({ name: 'x', max_votes_allowed: 11 }, /max_votes_allowed/);
    await expect400({ name: 'x', enforce_unique_vote: true, max_votes_allowed: 3 }, /enforce_unique_vote/);
    await expect400({ name: 'x', voting_visibility: 'secret' }, /voting_visibility/);
    await expect400({ name: 'n'.repeat(256) }, /name/);
    await expect400({ name: 'x', options: 'a' }, /options/);
    const { poll } = (await p({ name: 'ok', id: uniqueId('poll') })).json;
    await expect400({ name: 'dup', id: poll.id }, /already exists/);
    const [sent, message] = await sendPoll(r.ca, r.chA, { name: 'Input' });
    await expectError(r.cb.castPollVote(message.id, sent.id, { option_id: sent.data.options[0].id, answer_text: 'both' }), 400, 4, /either/);
    await expectError(r.cb.castPollVote(message.id, sent.id, {}), 400, 4, /either/);
    const res = await api('POST', `/api/messages/${message.id}/polls/${sent.id}/vote/`, { token: userToken(r.bob), body: {} });
    assert.equal(res.status, 400, res.text);
  });

  it('an edit keeps the message\'s poll; a deleted message takes no more votes', async () => {
    const [poll, message] = await sendPoll(r.ca, r.chA, { name: 'Edited?' });
    const bobEvents = recordEvents(r.cb);
    await r.ca.updateMessage({ id: message.id, text: 'now with words', poll_id: 'another' });
    const updated = await bobEvents.waitFor((e) => e.type === 'message.updated' && e.message.id === message.id);
    assert.equal(updated.message.text, 'now with words');
    assert.equal(updated.message.poll_id, poll.id, 'poll_id is the message\'s own: an edit cannot move it');
    assert.equal(updated.message.poll.name, 'Edited?');
    await r.ca.partialUpdateMessage(message.id, { set: { text: 'once more' } });
    assert.equal((await r.cb.getMessage(message.id)).message.poll.id, poll.id);
    await r.ca.deleteMessage(message.id);
    await expectError(r.cb.castPollVote(message.id, poll.id, { option_id: poll.data.options[0].id }), 400, 4, /deleted/);
  });

  it('deleting a poll: poll.deleted to the channel, the message stays without it', async () => {
    const [poll, message] = await sendPoll(r.ca, r.chA, { name: 'Gone soon' });
    const bobEvents = recordEvents(r.cb);
    await expectError(r.cb.deletePoll(poll.id), 403, 17);
    await r.ca.deletePoll(poll.id);
    await bobEvents.waitFor((e) => e.type === 'poll.deleted' && e.poll.id === poll.id);
    const { message: after } = await r.cb.getMessage(message.id);
    assert.equal(after.poll_id, undefined);
    assert.equal(after.poll, undefined);
    await expectError(r.cb.getPoll(poll.id), 404, 16);
  });

  it('queryPolls: the caller\'s and its channels\' polls, filtered, sorted and paged', async () => {
    const dave = uniqueId('dave');
    await upsertUsers(dave);
    const cd = await connectUser(dave);
    try {
      const made = [];
      for (const name of ['q1', 'q2', 'q3']) made.push(await cd.polls.createPoll({ name, options: [{ text: 'a' }] }));
      await cd.closePoll(made[0].id);
      const open = await cd.queryPolls({ is_closed: false }, [{ created_at: 1 }]);
      assert.deepEqual(open.polls.map((p) => p.name), ['q2', 'q3']);
      const first = await cd.queryPolls({}, [{ created_at: -1 }], { limit: 2 });
      assert.deepEqual(first.polls.map((p) => p.name), ['q3', 'q2']);
      assert.ok(first.next);
      const rest = await cd.queryPolls({}, [{ created_at: -1 }], { limit: 2, next: first.next });
      assert.deepEqual(rest.polls.map((p) => p.name), ['q1']);
      assert.deepEqual((await r.cb.queryPolls({ created_by_id: dave })).polls, [], 'not sent: Dave\'s alone');
      const all = await server.queryPolls({ created_by_id: dave });
      assert.equal(all.polls.length, 3, 'a server token sees every poll');
    } finally {
      await cd.disconnectUser();
    }
  });
});
