// What the channel list and the header show about other people: the unread badge, and whether the
// other member of a direct message is online.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  assertNoProblems, channelHeaderTitle, channelListItem, headerSubtitle, launchBrowser, message, messageList, openApp,
  openChannel, screenshot,
} from './lib/browser.mjs';
import { connectUser, makeChannel, makeUsers, nextEvent } from './lib/fixtures.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

describe('channel list and header state', () => {
  it('shows the unread badge in the channel list and clears it when the channel is opened', async () => {
    const [me, other] = await makeUsers('Uma Unread', 'Olli Other');
    // Beta first, then Alpha: Alpha has the newest message, heads the list and opens by itself.
    const beta = await makeChannel({ name: 'Beta', members: [me.id, other.id], messages: [{ user: me.id, text: 'Beta starts' }] });
    await makeChannel({ name: 'Alpha', members: [me.id, other.id], messages: [{ user: me.id, text: 'Alpha starts' }] });
    const sdk = await connectUser(other.id, { name: other.name });
    const app = await openApp(browser, me);
    try {
      const { page } = app;
      await channelHeaderTitle(page, 'Alpha').waitFor();
      const betaItem = channelListItem(page, 'Beta');
      await betaItem.waitFor();
      assert.equal(await betaItem.getByTestId('unread-badge').count(), 0);

      const channel = sdk.channel('messaging', beta.id);
      await channel.watch();
      for (const text of ['One', 'Two', 'Three']) await channel.sendMessage({ text });
      await betaItem.getByTestId('unread-badge').filter({ hasText: /^\s*3\s*$/ }).waitFor();
      // The channel with news moves to the top; the open one has no badge.
      await page.getByTestId('channel-list-item-button').first().filter({ hasText: 'Beta' }).waitFor();
      assert.equal(await channelListItem(page, 'Alpha').getByTestId('unread-badge').count(), 0);
      await screenshot(page, 'unread-badge');

      const read = nextEvent(sdk, 'message.read', (e) => e.user?.id === me.id && e.cid === channel.cid);
      await openChannel(page, 'Beta');
      await message(messageList(page), 'Three').waitFor();
      await read;
      await betaItem.getByTestId('unread-badge').waitFor({ state: 'detached' });
      await screenshot(page, 'unread-badge-cleared');
      assertNoProblems(app);
    } finally {
      await app.context.close();
      await sdk.disconnectUser();
    }
  });

  it('shows whether the other member of a direct message is online', async () => {
    const [me, other] = await makeUsers('Dina Direct', 'Otto Online');
    // A DM: two members, no name; the kit titles it with the other member's name.
    const dm = await makeChannel({ members: [me.id, other.id], messages: [{ user: me.id, text: 'Are you around?' }] });
    const app = await openApp(browser, me);
    let sdk;
    try {
      const { page } = app;
      await channelHeaderTitle(page, other.name).waitFor();
      await headerSubtitle(page, 'Offline').waitFor();
      await screenshot(page, 'dm-offline');

      // The other user comes online and opens the conversation.
      sdk = await connectUser(other.id, { name: other.name });
      await sdk.channel('messaging', dm.id).watch();
      await headerSubtitle(page, 'Online').waitFor();
      await screenshot(page, 'dm-online');

      // ... and leaves.
      await sdk.disconnectUser();
      sdk = null;
      await headerSubtitle(page, 'Offline').waitFor();
      assertNoProblems(app);
    } finally {
      await app.context.close();
      await sdk?.disconnectUser();
    }
  });
});
