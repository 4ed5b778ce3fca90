// Two pages, two people: both sign in through the sign-in screen as new users, one starts a
// direct message from the demo's "message someone" form, and they talk.

import { after, before, describe, it } from 'node:test';

import {
  assertNoProblems, channelHeaderTitle, channelListItem, launchBrowser, message, messageList, openApp, openChannel,
  screenshot, sendFromPage,
} from './lib/browser.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

describe('two pages', () => {
  it('two people sign in on two pages and talk to each other', async () => {
    const suffix = `${process.pid.toString(36)}${Date.now().toString(36)}`;
    // Typed names; the sign-in screen makes the ids from them (tess-<suffix>, ravi-<suffix>).
    const tess = { id: `tess-${suffix}`, name: `Tess ${suffix}` };
    const ravi = { id: `ravi-${suffix}`, name: `Ravi ${suffix}` };
    const a = await openApp(browser, tess, { signIn: 'form' });
    const b = await openApp(browser, ravi, { signIn: 'form' });
    try {
      // Tess starts a direct message with Ravi.
      await a.page.getByLabel('User to message').fill(ravi.id);
      await a.page.getByRole('button', { name: 'Start', exact: true }).click();
      await channelHeaderTitle(a.page, ravi.name).waitFor();
      await sendFromPage(a.page, `Hi Ravi, it's Tess`);
      await message(messageList(a.page), `Hi Ravi, it's Tess`).waitFor();

      // The conversation appears in Ravi's list; he opens it and answers.
      await channelListItem(b.page, tess.name).waitFor();
      await openChannel(b.page, tess.name);
      await message(messageList(b.page), `Hi Ravi, it's Tess`).waitFor();
      await sendFromPage(b.page, 'Hello Tess! Nice to see you here');
      await message(messageList(a.page), 'Hello Tess! Nice to see you here').waitFor();

      // Tess types; Ravi sees it, then her message.
      await a.page.getByTestId('message-input').click();
      await a.page.getByTestId('message-input').pressSequentially('How are');
      await b.page.locator('.str-chat__typing-indicator', { hasText: tess.name }).waitFor();
      await screenshot(b.page, 'two-pages-typing');
      await a.page.getByTestId('message-input').pressSequentially(' you?');
      await a.page.getByTestId('message-input').press('Enter');
      await message(messageList(b.page), 'How are you?').waitFor();
      // Both are watching: each sees the other online.
      await a.page.locator('.str-chat__channel-header__data__subtitle', { hasText: 'Online' }).waitFor();
      await b.page.locator('.str-chat__channel-header__data__subtitle', { hasText: 'Online' }).waitFor();
      await screenshot(a.page, 'two-pages-tess');
      await screenshot(b.page, 'two-pages-ravi');
      assertNoProblems(a);
      assertNoProblems(b);
    } finally {
      await a.context.close();
      await b.context.close();
    }
  });
});
