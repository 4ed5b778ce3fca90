// Live messaging between the page (the kit in Chromium) and a second client (the SDK in Node):
// messages both ways, typing, delivery and read receipts, reactions, threads, edit and delete,
// image attachments, saved for later, shared locations, polls, link previews.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';

import {
  BASE_URL, assertNoProblems, channelHeaderTitle, composer, exactly, launchBrowser, message, messageList, openApp, screenshot,
  sendFromPage, waitForCount,
} from './lib/browser.mjs';
import { connectUser, makeChannel, makeChannelType, makeUsers, nextEvent, serverClient } from './lib/fixtures.mjs';
import { png } from '../contracts/lib/images.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

// One conversation per test: the page's user and an SDK user in a channel of their own, the SDK
// side connected and watching; the page open on that channel.
async function conversation(title, history = [], { type = 'messaging' } = {}) {
  const [me, other] = await makeUsers('Pat Page', 'Sam Sdk');
  const spec = await makeChannel({
    name: title,
    type,
    members: [me.id, other.id],
    messages: history.map((text) => ({ user: other.id, text })),
  });
  const sdk = await connectUser(other.id, { name: other.name });
  const channel = sdk.channel(type, spec.id);
  await channel.watch();
  const app = await openApp(browser, me);
  await channelHeaderTitle(app.page, title).waitFor();
  const close = async () => {
    await app.context.close();
    await sdk.disconnectUser();
  };
  return { me, other, sdk, channel, app, page: app.page, close };
}

describe('messages between the page and a second client', () => {
  it('a message sent in the page reaches the second client, and one from it appears in the page', async () => {
    const c = await conversation('Live chat', ['Hello from the SDK']);
    try {
      const list = messageList(c.page);
      await message(list, 'Hello from the SDK').waitFor();

      const received = nextEvent(c.sdk, 'message.new', (e) => e.message?.text === 'Hello from the page');
      await sendFromPage(c.page, 'Hello from the page');
      const event = await received;
      assert.equal(event.message.user.id, c.me.id);
      assert.equal(event.cid, c.channel.cid);
      await message(list, 'Hello from the page').waitFor();

      await c.channel.sendMessage({ text: 'And hello back from the SDK' });
      const back = message(list, 'And hello back from the SDK');
      await back.waitFor();
      await back.getByText(c.other.name).waitFor();
      await screenshot(c.page, 'messages-both-ways');
      assertNoProblems(c.app);
    } finally {
      await c.close();
    }
  });

  it('shows the typing indicator while the second client types, and sends its own', async () => {
    const c = await conversation('Typing', ['Are you there?']);
    try {
      const indicator = c.page.locator('.str-chat__typing-indicator');
      await c.channel.keystroke();
      await indicator.filter({ hasText: c.other.name }).waitFor();
      await screenshot(c.page, 'typing-indicator');
      await c.channel.stopTyping();
      await indicator.filter({ hasText: c.other.name }).waitFor({ state: 'hidden' });

      // And the other way round: typing in the page reaches the SDK.
      const started = nextEvent(c.sdk, 'typing.start', (e) => e.user?.id === c.me.id);
      await composer(c.page).click();
      await composer(c.page).pressSequentially('I am typ');
      await started;
      assertNoProblems(c.app);
    } finally {
      await c.close();
    }
  });

  it('shows a read receipt once the second client has read the message', async () => {
    const c = await conversation('Receipts', ['Ping']);
    try {
      await sendFromPage(c.page, 'Did you read this?');
      const mine = message(messageList(c.page), 'Did you read this?');
      await mine.getByTestId('message-status-sent').waitFor();
      await screenshot(c.page, 'read-receipt-sent');

      await c.channel.markRead();
      await mine.getByTestId('message-status-read-by').waitFor();
      await screenshot(c.page, 'read-receipt-read');
      assertNoProblems(c.app);
    } finally {
      await c.close();
    }
  });

  it('shows Delivered once the second client has the message, then the read receipt (a type with delivery_events)', async () => {
    const type = await makeChannelType({ delivery_events: true });
    const c = await conversation('Delivery', ['Hi there'], { type });
    try {
      // The second client's own SDK confirms delivery about a second after message.new.
      const reported = nextEvent(c.sdk, 'message.delivered', (e) => e.user?.id === c.other.id);
      await sendFromPage(c.page, 'Did this arrive?');
      const mine = message(messageList(c.page), 'Did this arrive?');
      await reported;
      await mine.getByTestId('message-status-delivered').waitFor();
      await screenshot(c.page, 'delivery-receipt-delivered');

      await c.channel.markRead();
      await mine.getByTestId('message-status-read-by').waitFor();
      assertNoProblems(c.app);
    } finally {
      await c.close();
    }
  });

  it('adds and removes a reaction, and shows the second client’s', async () => {
    const c = await conversation('Reactions', ['React to me']);
    try {
      const target = message(messageList(c.page), 'React to me');
      await target.hover();
      const added = nextEvent(c.sdk, 'reaction.new', (e) => e.reaction?.user_id === c.me.id);
      await target.getByTestId('message-reaction-action').click();
      const thumbsUp = c.page.getByRole('button', { name: 'Select Reaction: Thumbs up' });
      await thumbsUp.click();
      const event = await added;
      await thumbsUp.and(c.page.locator('[aria-pressed="true"]')).waitFor();
      await c.page.keyboard.press('Escape');
      await thumbsUp.waitFor({ state: 'hidden' });
      assert.equal(event.reaction.type, 'like');
      const reactions = target.getByTestId('message-reactions-list-item');
      await waitForCount(reactions, 1);

      // The second client's reaction shows up too.
      await c.channel.sendReaction(event.message.id, { type: 'love' });
      await waitForCount(reactions, 2);
      await screenshot(c.page, 'reactions-added');

      // Selecting the same reaction again removes it.
      const removed = nextEvent(c.sdk, 'reaction.deleted', (e) => e.reaction?.user_id === c.me.id);
      await target.hover();
      await target.getByTestId('message-reaction-action').click();
      await thumbsUp.and(c.page.locator('[aria-pressed="true"]')).click();
      const removal = await removed;
      assert.equal(removal.reaction.type, 'like');
      assert.deepEqual(Object.keys(removal.message.reaction_groups ?? {}), ['love']);
      await c.page.keyboard.press('Escape');
      await waitForCount(reactions, 1);
      await screenshot(c.page, 'reactions-removed');
      assertNoProblems(c.app);
    } finally {
      await c.close();
    }
  });

  it('replies in a thread and shows the reply count', async () => {
    const c = await conversation('Threads', ['Start a thread here']);
    try {
      const parent = message(messageList(c.page), 'Start a thread here');
      await parent.hover();
      await parent.getByTestId('thread-action').click();
      const thread = c.page.locator('.str-chat__thread');
      await message(thread, 'Start a thread here').waitFor();

      const reply = nextEvent(c.sdk, 'message.new', (e) => e.message?.text === 'A reply from the page');
      await sendFromPage(thread, 'A reply from the page');
      const event = await reply;
      assert.equal(event.message.parent_id, (await c.channel.query({ messages: { limit: 1 } })).messages[0].id);
      await message(thread, 'A reply from the page').waitFor();
      await parent.getByText('1 reply').waitFor();

      await c.channel.sendMessage({ text: 'A reply from the SDK', parent_id: event.message.parent_id });
      await message(thread, 'A reply from the SDK').waitFor();
      await parent.getByText('2 replies').waitFor();
      // Thread replies stay out of the channel's own list.
      assert.equal(await message(messageList(c.page), 'A reply from the SDK').count(), 0);
      await screenshot(c.page, 'thread-replies');
      assertNoProblems(c.app);
    } finally {
      await c.close();
    }
  });

  it('lists the page user\'s threads: the unread count on the Threads button and the item, cleared by opening the thread', async () => {
    const c = await conversation('Thread list');
    const mine = await connectUser(c.me.id);
    try {
      const parentEvent = nextEvent(c.sdk, 'message.new', (e) => e.message?.text === 'Plans for Friday?');
      await sendFromPage(c.page, 'Plans for Friday?');
      const parentId = (await parentEvent).message.id;
      await c.channel.sendMessage({ text: 'Pizza', parent_id: parentId });
      await c.channel.sendMessage({ text: 'Or tacos', parent_id: parentId });

      // The Threads button counts the page user's unread threads (notification.thread_message_new).
      await c.page.getByRole('button', { name: 'Open threads view, 1 unread thread' }).click();
      const item = c.page.locator(`.str-chat__thread-list-item[data-thread-id="${parentId}"]`);
      await item.getByText('Plans for Friday?').waitFor();
      await item.getByText('2 replies').waitFor();
      await item.locator('.str-chat__badge').getByText('2', { exact: true }).waitFor();
      await screenshot(c.page, 'thread-list');

      // Opening the thread shows its replies and reads it: the badge goes, and so does the count
      // the server keeps.
      await item.click();
      const thread = c.page.locator('.str-chat__chat-view__threads .str-chat__thread');
      await message(thread, 'Pizza').waitFor();
      await message(thread, 'Or tacos').waitFor();
      await item.locator('.str-chat__badge').waitFor({ state: 'detached' });
      await c.page.getByRole('button', { name: 'Open threads view' }).waitFor();
      // The server's count, polled for at most 10 s (the kit marks read within a second).
      let unreadThreads;
      for (let i = 0; i < 50; i++) {
        unreadThreads = (await mine.getUnreadCount()).total_unread_threads_count;
        if (unreadThreads === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.equal(unreadThreads, 0);

      // A reply while it is open arrives live, in the thread and in the list's count.
      await c.channel.sendMessage({ text: 'Tacos it is', parent_id: parentId });
      await message(thread, 'Tacos it is').waitFor();
      await item.getByText('3 replies').waitFor();
      await screenshot(c.page, 'thread-open');
      assertNoProblems(c.app);
    } finally {
      await mine.disconnectUser();
      await c.close();
    }
  });

  it('edits a message (the "Edited" label) and deletes it', async () => {
    const c = await conversation('Edits', ['Hi']);
    try {
      const list = messageList(c.page);
      await sendFromPage(c.page, 'Frist post');
      const mine = message(list, 'Frist post');
      await mine.getByTestId('message-status-sent').waitFor();

      const updated = nextEvent(c.sdk, 'message.updated', (e) => e.message?.text === 'First post');
      await mine.hover();
      await mine.getByTestId('message-actions-toggle-button').click();
      await c.page.getByRole('menuitem', { name: 'Edit Message' }).click();
      const input = composer(c.page);
      await input.fill('First post');
      await input.press('Enter');
      await updated;
      const edited = message(list, 'First post');
      await edited.getByText('Edited').waitFor();
      await screenshot(c.page, 'message-edited');

      const deleted = nextEvent(c.sdk, 'message.deleted');
      await edited.hover();
      await edited.getByTestId('message-actions-toggle-button').click();
      await c.page.getByRole('menuitem', { name: 'Delete Message' }).click();
      // The kit asks first.
      const alert = c.page.getByRole('alertdialog');
      await alert.getByText('Are you sure you want to delete this message?').waitFor();
      await screenshot(c.page, 'message-delete-confirm');
      await alert.getByRole('button', { name: 'Delete message' }).click();
      await deleted;
      await list.getByTestId('message-deleted-bubble').filter({ hasText: 'Message deleted' }).waitFor();
      assert.equal(await message(list, 'First post').count(), 0);
      await screenshot(c.page, 'message-deleted');
      assertNoProblems(c.app);
    } finally {
      await c.close();
    }
  });

  it('attaches an image: uploaded, sent, shown in the page, and the second client gets it; and the other way round', async () => {
    const c = await conversation('Pictures');
    const IMAGE = new RegExp(`^${BASE_URL}/uploads/i/[A-Za-z0-9_-]+\\.png$`);
    // An image element of the list whose source is an upload of ours, once the browser has decoded it.
    const shownImage = async (item) => {
      const img = item.locator(`img[src^="${BASE_URL}/uploads/i/"]`).first();
      await img.waitFor();
      await img.evaluate((el) => (el.complete && el.naturalWidth > 0) || new Promise((resolve, reject) => {
        el.addEventListener('load', resolve, { once: true });
        el.addEventListener('error', () => reject(new Error(`image failed to load: ${el.src}`)), { once: true });
      }));
      return img.evaluate((el) => ({ src: el.src, width: el.naturalWidth, height: el.naturalHeight }));
    };
    try {
      // The kit's composer: the file goes up as soon as it is chosen (POST .../image/), then is sent
      // with the text as the message's attachment.
      const uploadPath = `/api/channels/messaging/${c.channel.id}/image/`;
      const uploaded = c.page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === uploadPath);
      await c.page.getByTestId('file-input').setInputFiles({ name: 'holiday.png', mimeType: 'image/png', buffer: png(320, 180) });
      assert.equal((await uploaded).status(), 200);
      await c.page.locator('.str-chat__attachment-preview-media').waitFor();
      const received = nextEvent(c.sdk, 'message.new', (e) => e.message?.text === 'Look at this');
      await sendFromPage(c.page, 'Look at this');
      const event = await received;
      assert.equal(event.message.attachments.length, 1);
      const [attachment] = event.message.attachments;
      assert.equal(attachment.type, 'image');
      assert.match(attachment.image_url, IMAGE);
      const served = await fetch(attachment.image_url);
      assert.equal(served.status, 200);
      assert.equal(served.headers.get('content-type'), 'image/png');
      const list = messageList(c.page);
      const mine = await shownImage(message(list, 'Look at this'));
      assert.ok(mine.src.startsWith(attachment.image_url), `${mine.src} shows ${attachment.image_url}`);
      assert.ok(mine.width > 0 && mine.height > 0);

      // The second client uploads through the SDK and sends; the page shows the picture.
      const theirs = await c.channel.sendImage(png(200, 200), 'square.png', 'image/png');
      assert.match(theirs.file, IMAGE);
      await c.channel.sendMessage({ text: 'Mine is square', attachments: [{ type: 'image', image_url: theirs.file, thumb_url: theirs.thumb_url, fallback: 'square.png' }] });
      const shown = await shownImage(message(list, 'Mine is square'));
      assert.ok(shown.src.startsWith(BASE_URL + '/uploads/i/'), shown.src);
      await screenshot(c.page, 'image-attachments');
      assertNoProblems(c.app);
    } finally {
      await c.close();
    }
  });

  it('saves a message for later from its actions (a type with user_message_reminders), and removes it again', async () => {
    const type = await makeChannelType({ user_message_reminders: true });
    const c = await conversation('Reminders', ['Read me later'], { type });
    try {
      const list = messageList(c.page);
      const theirs = message(list, 'Read me later');
      await theirs.waitFor();
      const saved = c.page.waitForResponse((r) => r.request().method() === 'POST' && /\/api\/messages\/[^/]+\/reminders\/$/.test(new URL(r.url()).pathname));
      await theirs.hover();
      await theirs.getByTestId('message-actions-toggle-button').click();
      // The item reads "Save for later"; its accessible name is the kit's aria label.
      const item = c.page.getByRole('menuitem', { name: 'Bookmark Message' });
      await item.getByText('Save for later').waitFor();
      await item.click();
      assert.equal((await saved).status(), 200);
      await theirs.locator('.str-chat__message-saved-for-later').getByText('Saved for later').waitFor();
      const server = serverClient();
      const { reminders } = await server.queryReminders({ user_id: c.me.id });
      assert.equal(reminders.length, 1);
      assert.equal(reminders[0].message.text, 'Read me later');
      assert.equal(reminders[0].remind_at ?? null, null);
      await screenshot(c.page, 'saved-for-later');

      await theirs.hover();
      await theirs.getByTestId('message-actions-toggle-button').click();
      const removed = c.page.waitForResponse((r) => r.request().method() === 'DELETE' && /\/reminders\/$/.test(new URL(r.url()).pathname));
      await c.page.getByRole('menuitem', { name: 'Remove Save For Later' }).click();
      assert.equal((await removed).status(), 200);
      await waitForCount(theirs.locator('.str-chat__message-saved-for-later'), 0);
      assert.deepEqual((await server.queryReminders({ user_id: c.me.id })).reminders, []);
      assertNoProblems(c.app);
    } finally {
      await c.close();
    }
  });

  it('shares the page\'s location from the composer (a type with shared_locations); the second client gets it', async () => {
    const type = await makeChannelType({ shared_locations: true });
    const c = await conversation('Where we are', [], { type });
    try {
      await c.app.context.grantPermissions(['geolocation']);
      await c.app.context.setGeolocation({ latitude: 59.3293, longitude: 18.0686 });
      const received = nextEvent(c.sdk, 'message.new', (e) => e.message?.shared_location);
      await c.page.getByRole('button', { name: 'Open Attachment Selector' }).click();
      await c.page.getByRole('menuitem', { name: 'Location' }).click();
      const dialog = c.page.locator('.str-chat__prompt').filter({ hasText: 'Share Location' });
      await dialog.waitFor();
      const share = dialog.getByRole('button', { name: 'Share', exact: true });
      await share.and(c.page.locator(':enabled')).waitFor();
      await share.click();
      const event = await received;
      assert.equal(event.message.user.id, c.me.id);
      assert.equal(event.message.shared_location.latitude, 59.3293);
      assert.equal(event.message.shared_location.longitude, 18.0686);
      assert.equal(event.message.shared_location.channel_cid, c.channel.cid);
      await messageList(c.page).locator('.str-chat__message-attachment-geolocation').waitFor();
      await screenshot(c.page, 'shared-location');
      assertNoProblems(c.app);
    } finally {
      await c.close();
    }
  });

  it('creates a poll from the composer (a type with polls) and votes in it; the second client gets both, and its vote counts live', async () => {
    const type = await makeChannelType({ polls: true });
    const c = await conversation('Lunch poll', [], { type });
    try {
      const post = (re) => (r) => r.request().method() === 'POST' && re.test(new URL(r.url()).pathname);
      const created = c.page.waitForResponse(post(/^\/api\/polls\/$/));
      const sent = c.page.waitForResponse(post(/^\/api\/channels\/[^/]+\/[^/]+\/message\/$/));
      const received = nextEvent(c.sdk, 'message.new', (e) => e.message?.poll_id);
      await c.page.getByRole('button', { name: 'Open Attachment Selector' }).click();
      await c.page.getByRole('menuitem', { name: 'Poll' }).click();
      const dialog = c.page.getByTestId('poll-creation-dialog');
      await dialog.getByLabel('Question', { exact: true }).fill('Lunch?');
      // The kit shows one empty option and adds the next empty one as soon as none is left.
      const options = dialog.getByPlaceholder('Add an option');
      await options.nth(0).fill('Pizza');
      await options.nth(1).fill('Sushi');
      const send = dialog.getByRole('button', { name: 'Send poll' });
      await send.and(c.page.locator(':enabled')).waitFor();
      await send.click();
      const createdRes = await created;
      assert.equal(createdRes.status(), 200);
      const { poll } = await createdRes.json();
      assert.equal(poll.name, 'Lunch?');
      const sentRes = await sent;
      assert.equal(sentRes.status(), 200);
      assert.equal((await sentRes.json()).message.poll_id, poll.id);
      const event = await received;
      assert.equal(event.message.user.id, c.me.id);
      assert.equal(event.message.poll_id, poll.id);
      assert.equal(event.message.poll.id, poll.id);
      assert.equal(event.message.poll.name, 'Lunch?');
      assert.deepEqual(event.message.poll.options.map((o) => o.text), ['Pizza', 'Sushi']);
      const optionId = Object.fromEntries(event.message.poll.options.map((o) => [o.text, o.id]));

      // The poll in the page's message: its question, and each option votable with no votes yet.
      const shown = messageList(c.page).locator('.str-chat__poll')
        .filter({ has: c.page.locator('.str-chat__poll-title', { hasText: exactly('Lunch?') }) });
      await shown.waitFor();
      await waitForCount(shown.locator('.str-chat__poll-option'), 2);
      const option = (text) => shown.locator('.str-chat__poll-option')
        .filter({ has: c.page.locator('.str-chat__poll-option-text', { hasText: exactly(text) }) });
      const votes = (text, n) => option(text).locator('.str-chat__poll-option-vote-count', { hasText: exactly(String(n)) });
      const pressed = (text, yes) => option(text).and(c.page.locator(`[role="button"][aria-pressed="${yes}"]`));
      await votes('Pizza', 0).waitFor();
      await votes('Sushi', 0).waitFor();
      await pressed('Pizza', false).waitFor();

      // The page votes for Pizza.
      const voted = c.page.waitForResponse(post(/^\/api\/messages\/[^/]+\/polls\/[^/]+\/vote\/$/));
      const casted = nextEvent(c.sdk, 'poll.vote_casted', (e) => e.poll?.id === poll.id);
      await option('Pizza').click();
      const votedRes = await voted;
      assert.equal(votedRes.status(), 200);
      assert.equal((await votedRes.json()).vote.option_id, optionId.Pizza);
      const cast = await casted;
      assert.equal(cast.poll_vote.user_id, c.me.id);
      assert.equal(cast.poll_vote.option_id, optionId.Pizza);
      assert.equal(cast.poll.vote_counts_by_option[optionId.Pizza], 1);
      await pressed('Pizza', true).waitFor();
      await option('Pizza').locator('.str-chat__checkbox--checked').waitFor();
      await votes('Pizza', 1).waitFor();
      await votes('Sushi', 0).waitFor();
      await pressed('Sushi', false).waitFor();
      await screenshot(c.page, 'poll-voted');

      // The second client votes for Pizza too; the page counts it live and keeps its own vote marked.
      const { vote } = await c.sdk.castPollVote(event.message.id, poll.id, { option_id: optionId.Pizza });
      assert.equal(vote.user_id, c.other.id);
      await votes('Pizza', 2).waitFor();
      await votes('Sushi', 0).waitFor();
      await pressed('Pizza', true).waitFor();
      await screenshot(c.page, 'poll-two-votes');
      assertNoProblems(c.app);
    } finally {
      await c.close();
    }
  });

  it('shows the preview card of a link sent from the page, with the page\'s title, description and picture', async () => {
    // The linked page, on loopback (the stack runs in development mode, where it may fetch there).
    const picture = png(240, 120);
    const pages = http.createServer((req, res) => {
      if (req.url === '/pic.png') {
        res.writeHead(200, { 'content-type': 'image/png' });
        return res.end(picture);
      }
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<html><head><meta property="og:title" content="The River Guide"><meta property="og:description" '
        + 'content="Where the water goes."><meta property="og:image" content="/pic.png"></head><body></body></html>');
    });
    await new Promise((resolve) => pages.listen(0, '127.0.0.1', resolve));
    const link = `http://127.0.0.1:${pages.address().port}/guide`;
    const c = await conversation('Links');
    try {
      const text = `Read this: ${link}`;
      const received = nextEvent(c.sdk, 'message.new', (e) => e.message?.text === text);
      await sendFromPage(c.page, text);
      const event = await received;
      assert.equal(event.message.attachments[0]?.title, 'The River Guide');
      // The kit shows the link in the text as a link of its own, so the message is found by the words before it.
      const item = messageList(c.page).locator('.str-chat__message').filter({ hasText: 'Read this:' });
      await item.locator(`a[href="${link}"]`).first().waitFor();
      const card = item.locator('.str-chat__message-attachment-card');
      await card.waitFor();
      await card.getByText('The River Guide').waitFor();
      await card.getByText('Where the water goes.').waitFor();
      const img = card.locator('img').first();
      await img.waitFor();
      const loaded = await img.evaluate((el) => (el.complete && el.naturalWidth > 0) || new Promise((resolve, reject) => {
        el.addEventListener('load', () => resolve(true), { once: true });
        el.addEventListener('error', () => reject(new Error(`image failed to load: ${el.src}`)), { once: true });
      }));
      assert.ok(loaded);
      await screenshot(c.page, 'link-preview');
      assertNoProblems(c.app);
    } finally {
      await c.close();
      pages.closeAllConnections();
      await new Promise((resolve) => pages.close(resolve));
    }
  });
});
