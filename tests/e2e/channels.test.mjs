// The demo's first screens on the seeded data: sign-in, the channel list, opening a channel, and
// scrolling back through the 150-message channel until its first message.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  MESSAGE_TEXT, assertNoProblems, channelHeaderTitle, channelListItem, launchBrowser, message, messageList, openApp, openChannel,
  screenshot,
} from './lib/browser.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

describe('the demo on its seeded data', () => {
  it('signs in as a seeded user, lists the channels, and opening one shows its latest messages', async () => {
    const app = await openApp(browser, { id: 'alice', name: 'Alice Andersen' }, {
      signIn: 'button',
      onSignInScreen: (page) => screenshot(page, 'sign-in'),
    });
    const { page } = app;
    try {
      // Every seeded channel of alice's, the DM under the other member's name, newest first.
      for (const name of ['General', 'Random', 'History', 'Bob Brennan']) await channelListItem(page, name).waitFor();
      const titles = await page.locator('.str-chat__channel-list-item-data__title').allInnerTexts();
      assert.deepEqual(titles.map((t) => t.trim()), ['General', 'Random', 'History', 'Bob Brennan']);
      // The first channel opens by itself, at its latest message.
      await channelHeaderTitle(page, 'General').waitFor();
      await message(page, 'Reminder: demo on Friday at 3 pm.').waitFor();
      await screenshot(page, 'channel-list-general');

      await openChannel(page, 'Random');
      await message(page, 'I missed it, I was stuck in a meeting.').waitFor();
      await message(page, 'Did you see the sunset yesterday?').waitFor();
      await page.locator('.str-chat__channel-header__data__subtitle', { hasText: '3 members' }).waitFor();
      await screenshot(page, 'channel-random');
      assertNoProblems(app);
    } finally {
      await app.context.close();
    }
  });

  it('scrolling to the top of the 150-message channel loads older pages until the first message', async () => {
    const app = await openApp(browser, { id: 'dave', name: 'Dave Dimitrov' });
    try {
      const { page } = app;
      await openChannel(page, 'History');
      const list = messageList(page);
      await message(list, 'History message 150 of 150').waitFor();
      const texts = () => list.locator(MESSAGE_TEXT).allInnerTexts();
      const first = message(list, 'History message 1 of 150');
      assert.equal(await first.count(), 0, 'the first message is not loaded before scrolling back');
      const initial = (await texts()).length;
      assert.ok(initial < 150, `only the latest page is loaded at first (got ${initial})`);

      // Scroll up with the mouse wheel, as a person does, until the first message is there. The
      // kit loads an older page (25) whenever the list comes within 250 px of its top; when it
      // sits at the very top after a load, it stays there, so the person scrolls down a little
      // and up again. Each step waits (bounded) for the list to move or grow.
      const box = await list.boundingBox();
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      const state = () => list.evaluate((el) => ({ top: el.scrollTop, n: el.querySelectorAll('.str-chat__message').length }));
      for (let step = 0; step < 150 && (await first.count()) === 0; step += 1) {
        const before = await state();
        await page.mouse.wheel(0, before.top <= 1 ? 300 : -Math.min(300, before.top));
        await list.evaluate(
          (el, b) =>
            new Promise((resolve, reject) => {
              const timer = setTimeout(() => reject(new Error('the list neither moved nor grew')), 5000);
              const check = () => {
                if (el.scrollTop !== b.top || el.querySelectorAll('.str-chat__message').length !== b.n) {
                  clearTimeout(timer);
                  resolve();
                } else requestAnimationFrame(check);
              };
              check();
            }),
          before,
        );
      }
      await first.waitFor();
      await first.scrollIntoViewIfNeeded();
      await screenshot(page, 'scroll-back-first-message');

      // All 150, once each, in order.
      const all = (await texts()).map((t) => t.trim()).filter((t) => t.startsWith('History message'));
      assert.deepEqual(all, Array.from({ length: 150 }, (_, i) => `History message ${i + 1} of 150`));
      assertNoProblems(app);
    } finally {
      await app.context.close();
    }
  });
});
