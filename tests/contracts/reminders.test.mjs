// Message reminders (getstream.io's "Remind me" and "Save for later"): the SDK's createReminder,
// updateReminder, deleteReminder, queryReminders and its ReminderManager state, the reminder on
// each message as its user reads it, reminder.* events to the user alone, and
// notification.reminder_due when the time comes (sent by streambed-push). Only in channel types
// with user_message_reminders; only the user's own; only on messages the user can still read.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  TIME_RE, api, connectUser, createUsers, expectError, recordEvents, serverClient, uniqueId, userToken, watchingPair,
} from './lib/streambed.mjs';

const server = serverClient();
const TYPE = uniqueId('remind').replace(/[^A-Za-z0-9_-]/g, '_').slice(-40);
const inSeconds = (s) => new Date(Date.now() + s * 1000).toISOString();

// Alice and Bob in a channel of a type with reminders, both connected and watching, three messages.
async function room() {
  const r = await watchingPair({ type: TYPE });
  const messages = [];
  for (const text of ['one', 'two', 'three']) messages.push((await r.chB.sendMessage({ text })).message);
  return { ...r, messages };
}

before(async () => {
  await server.createChannelType({ name: TYPE, user_message_reminders: true });
});

describe('reminders', () => {
  let r;
  before(async () => { r = await room(); });
  after(() => r.close());

  it('creates a reminder with a time: the reply, reminder.created to the user only, the SDK\'s state, and the message as its user reads it', async () => {
    const [m] = r.messages;
    const aliceEvents = recordEvents(r.ca);
    const bobEvents = recordEvents(r.cb);
    const remindAt = inSeconds(3600);
    await r.ca.reminders.createReminder({ messageId: m.id, remind_at: remindAt });
    const state = r.ca.reminders.getFromState(m.id).state.getLatestValue();
    assert.equal(state.message_id, m.id);
    assert.equal(state.channel_cid, r.cid);
    assert.equal(state.user_id, r.alice);
    assert.equal(state.remind_at.toISOString(), remindAt);
    assert.equal(state.message.text, 'one');
    assert.equal(state.user.id, r.alice);
    const event = await aliceEvents.waitFor((e) => e.type === 'reminder.created' && e.message_id === m.id);
    assert.equal(event.reminder.user_id, r.alice);
    assert.equal(event.cid, r.cid);
    assert.match(event.reminder.created_at, TIME_RE);

    const { messages } = await r.chA.query({ messages: { limit: 10 } });
    const seen = messages.find((x) => x.id === m.id);
    assert.equal(seen.reminder.remind_at, event.reminder.remind_at);
    assert.equal(seen.reminder.message_id, m.id);
    assert.ok(!messages.find((x) => x.id === r.messages[1].id).reminder, 'only where there is one');
    const theirs = (await r.chB.query({ messages: { limit: 10 } })).messages.find((x) => x.id === m.id);
    assert.equal(theirs.reminder, undefined, 'Bob does not see Alice\'s reminder');
    assert.equal((await r.ca.getMessage(m.id)).message.reminder.message_id, m.id);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(bobEvents.of('reminder.created').length, 0);

    // A second client of Alice's hydrates its ReminderManager from the channel's messages.
    const again = await connectUser(r.alice);
    try {
      await again.channel(TYPE, r.id).watch();
      assert.equal(again.reminders.getFromState(m.id)?.state.getLatestValue().remind_at.toISOString(), remindAt);
    } finally {
      await again.disconnectUser();
    }
  });

  it('one per user and message: a second create is refused as getstream.io words it, upsertReminder updates; save for later is no time', async () => {
    const [, m] = r.messages;
    await r.ca.createReminder({ messageId: m.id });
    await expectError(r.ca.createReminder({ messageId: m.id }), 400, 4, /already has reminder created for this message_id/);
    const events = recordEvents(r.ca);
    const remindAt = inSeconds(7200);
    await r.ca.reminders.upsertReminder({ messageId: m.id, remind_at: remindAt });
    await events.waitFor((e) => e.type === 'reminder.updated' && e.message_id === m.id && e.reminder.remind_at);
    assert.equal(r.ca.reminders.getFromState(m.id).state.getLatestValue().remind_at.toISOString(), remindAt);
    const { reminder } = await r.ca.updateReminder({ messageId: m.id, remind_at: null });
    assert.equal(reminder.remind_at ?? null, null, 'saved for later');
    // Bob has none on it: his create works, his own.
    const bobs = await r.cb.createReminder({ messageId: m.id, remind_at: inSeconds(60) });
    assert.equal(bobs.reminder.user_id, r.bob);
    await r.cb.deleteReminder(m.id);
    await expectError(r.cb.updateReminder({ messageId: m.id, remind_at: null }), 404, 16, /reminder does not exist/);
    await expectError(r.cb.deleteReminder(m.id), 404, 16, /reminder does not exist/);
  });

  it('queryReminders lists the user\'s own, soonest first and the saved ones last, filters, sorts and pages', async () => {
    const [a, b, c] = r.messages;
    await r.ca.createReminder({ messageId: c.id, remind_at: inSeconds(60) });
    // a: in an hour (first test), b: saved for later (second test), c: in a minute.
    const { reminders, next } = await r.ca.queryReminders({});
    assert.deepEqual(reminders.map((x) => x.message_id), [c.id, a.id, b.id]);
    assert.equal(next, undefined);
    assert.equal(reminders[0].message.text, 'three');
    assert.equal(reminders[0].message.reminder.message_id, c.id);

    const saved = await r.ca.queryReminders({ filter: { remind_at: { $exists: false } } });
    assert.deepEqual(saved.reminders.map((x) => x.message_id), [b.id]);
    const soon = await r.ca.queryReminders({ filter: { remind_at: { $lte: inSeconds(120) } } });
    assert.deepEqual(soon.reminders.map((x) => x.message_id), [c.id]);
    const here = await r.ca.queryReminders({ filter: { channel_cid: r.cid, message_id: { $in: [a.id, b.id] } } });
    assert.deepEqual(here.reminders.map((x) => x.message_id).sort(), [a.id, b.id].sort());
    const newest = await r.ca.queryReminders({ sort: [{ created_at: -1 }] });
    assert.deepEqual(newest.reminders.map((x) => x.message_id), [c.id, b.id, a.id]);

    const first = await r.ca.queryReminders({ limit: 2 });
    assert.equal(first.reminders.length, 2);
    assert.ok(first.next);
    const second = await r.ca.queryReminders({ limit: 2, next: first.next });
    assert.deepEqual(second.reminders.map((x) => x.message_id), [b.id]);
    assert.ok(second.prev);

    assert.deepEqual((await r.cb.queryReminders({})).reminders, [], 'Bob has none');
    await expectError(r.ca.queryReminders({ filter: { colour: 'red' } }), 400, 4);
    await expectError(r.ca.queryReminders({ next: 'threads:2' }), 400, 4, /cursor/);
  });

  it('deleteReminder: reminder.deleted, gone from the list, the state and the message', async () => {
    const [, , c] = r.messages;
    const events = recordEvents(r.ca);
    await r.ca.reminders.deleteReminder(c.id);
    const event = await events.waitFor((e) => e.type === 'reminder.deleted' && e.message_id === c.id);
    assert.equal(event.reminder.message_id, c.id);
    assert.equal(r.ca.reminders.getFromState(c.id), undefined);
    assert.ok(!(await r.ca.queryReminders({})).reminders.some((x) => x.message_id === c.id));
    assert.equal((await r.ca.getMessage(c.id)).message.reminder, undefined);
  });

  it('sends notification.reminder_due to the user when the time comes, once', async () => {
    const m = (await r.chB.sendMessage({ text: 'soon' })).message;
    const events = recordEvents(r.ca);
    const bobEvents = recordEvents(r.cb);
    await r.ca.createReminder({ messageId: m.id, remind_at: inSeconds(1) });
    const due = await events.waitFor((e) => e.type === 'notification.reminder_due' && e.message_id === m.id, { timeout: 8000 });
    assert.equal(due.reminder.user_id, r.alice);
    assert.equal(due.reminder.message.text, 'soon');
    assert.equal(due.cid, r.cid);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(events.of('notification.reminder_due').filter((e) => e.message_id === m.id).length, 1, 'once');
    assert.equal(bobEvents.of('notification.reminder_due').length, 0);

    // A new time starts the wait over.
    await r.ca.updateReminder({ messageId: m.id, remind_at: inSeconds(1) });
    await events.waitFor((e) => e.type === 'notification.reminder_due' && e.message_id === m.id && events.of('notification.reminder_due').length >= 2, { timeout: 8000 });
  });
});

describe('reminders: who and where', () => {
  let r;
  before(async () => { r = await room(); });
  after(() => r.close());

  it('needs a channel type with user_message_reminders, a message that is not deleted, and a readable channel', async () => {
    const [stranger] = await createUsers(1, 'str');
    const cs = await connectUser(stranger);
    try {
      const [m] = r.messages;
      for (const call of [() => cs.createReminder({ messageId: m.id }), () => cs.updateReminder({ messageId: m.id }), () => cs.deleteReminder(m.id)]) {
        let err;
        try { await call(); } catch (e) { err = e; }
        assert.ok(err && [403, 404].includes(err.status ?? err.response?.status), `refused: ${err?.message}`);
      }
      const plain = r.ca.channel('messaging', uniqueId('plain'), { members: [r.alice] });
      await plain.create();
      const { message } = await plain.sendMessage({ text: 'no reminders here' });
      await expectError(r.ca.createReminder({ messageId: message.id }), 400, 4, /not enabled/);
      const gone = (await r.chA.sendMessage({ text: 'deleted soon' })).message;
      await r.ca.deleteMessage(gone.id);
      await expectError(r.ca.createReminder({ messageId: gone.id }), 400, 4, /deleted/);
      await expectError(r.ca.createReminder({ messageId: m.id, remind_at: 'tomorrow' }), 400, 4, /remind_at/);
      await expectError(r.ca.createReminder({ messageId: uniqueId('none') }), 404, 16);
      const anonymous = await api('POST', '/api/reminders/query/', { body: {} });
      assert.equal(anonymous.status, 401);
    } finally {
      await cs.disconnectUser();
    }
  });

  it('a reminder stops being listed, and does not fall due, when its message is deleted or its user leaves the channel; the server side acts for a user', async () => {
    const [a, b] = r.messages;
    await r.cb.createReminder({ messageId: a.id });
    await r.cb.createReminder({ messageId: b.id });
    await server.deleteMessage(a.id);
    assert.deepEqual((await r.cb.queryReminders({})).reminders.map((x) => x.message_id), [b.id]);
    const viaServer = await server.createReminder({ messageId: r.messages[2].id, user_id: r.bob });
    assert.equal(viaServer.reminder.user_id, r.bob);
    // Due in a second, but Bob leaves first: he is not sent what the message says.
    const bobEvents = recordEvents(r.cb);
    await r.cb.updateReminder({ messageId: b.id, remind_at: inSeconds(1.5) });
    await server.channel(TYPE, r.id).removeMembers([r.bob]);
    assert.deepEqual((await r.cb.queryReminders({})).reminders, []);
    await new Promise((resolve) => setTimeout(resolve, 3500));
    assert.deepEqual(bobEvents.of('notification.reminder_due'), []);
    const direct = await api('POST', '/api/reminders/query/', { token: userToken(r.bob), query: { user_id: r.bob }, body: {} });
    assert.deepEqual(direct.json.reminders, []);
  });
});
