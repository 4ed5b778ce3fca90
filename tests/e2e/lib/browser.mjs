// What every browser test needs: Debian's Chromium driven by playwright-core, the demo app (web/)
// signed in as a user, a watch on the console and the network that fails the test on anything
// unexpected, and screenshots saved with the test run's reports.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { chromium } from 'playwright-core';

import { BASE_URL } from '../../contracts/lib/streambed.mjs';

export { BASE_URL };

// Bounded waits on what a person would see; generous, because two cores run the stack, Chromium
// and the test together.
export const UI_TIMEOUT = 15000;

const REPORTS = path.join(process.env.STREAMBED_TEST_REPORTS ?? path.resolve('.run/e2e-reports'), 'e2e');

// The flags that work on this machine (ENVIRONMENT.md §4): no sandbox as root, no GPU, and no
// background connections (the closed network refuses them and Chromium logs each refusal).
// playwright-core gives every launch a new, empty --user-data-dir of its own and removes it after.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

const EXECUTABLE = process.env.STREAMBED_CHROMIUM ?? '/usr/bin/chromium';
const VIEWPORT = { width: 1280, height: 800 };

export async function launchBrowser() {
  return chromium.launch({ executablePath: EXECUTABLE, headless: true, args: CHROMIUM_ARGS });
}

// A browser with a profile on disk (a temporary one, removed on close), as one browser context:
// Web Push needs it, since Chromium refuses pushManager.subscribe() in the incognito-like contexts
// of launchBrowser() ("Chrome currently does not support the Push API in incognito mode").
export async function launchProfile({ args = [] } = {}) {
  return chromium.launchPersistentContext('', {
    executablePath: EXECUTABLE,
    headless: true,
    args: [...CHROMIUM_ARGS, ...args],
    viewport: VIEWPORT,
  });
}

// Collects what a test must not produce: console errors, uncaught exceptions, failed requests,
// HTTP responses of 400 and above, and WebSocket errors. A test may name messages it expects.
function watch(page, label) {
  const problems = [];
  const add = (kind, text) => problems.push({ kind, text: `[${label}] ${text}` });
  page.on('console', (msg) => {
    if (msg.type() === 'error') add('console.error', `${msg.text()} (${msg.location()?.url ?? ''})`);
  });
  page.on('pageerror', (err) => add('pageerror', err.stack ?? err.message));
  page.on('requestfailed', (req) => add('requestfailed', `${req.method()} ${req.url()}: ${req.failure()?.errorText}`));
  page.on('response', (res) => {
    if (res.status() >= 400) add('http', `${res.request().method()} ${res.url()} → ${res.status()}`);
  });
  page.on('websocket', (ws) => {
    ws.on('socketerror', (err) => add('websocket', `${ws.url().split('?')[0]}: ${err}`));
  });
  return problems;
}

// STREAMBED_E2E_DEBUG=1: every API request, WebSocket frame and console message of every page on
// stdout.
function trace(page, label) {
  page.on('request', (r) => {
    if (r.url().includes('/api/')) console.log(label, '>>', r.method(), r.url().split('?')[0], r.postData()?.slice(0, 300) ?? '');
  });
  page.on('websocket', (ws) => ws.on('framereceived', (f) => console.log(label, '<<', String(f.payload).slice(0, 300))));
  page.on('console', (m) => console.log(label, `console.${m.type()}:`, m.text().slice(0, 300)));
}

// A signed-in page: a browser context of its own (its own storage, so two pages can be two
// users) with the demo app open at `path` (default /). `user` is {id, name}. `target` is a
// browser (a new context is made) or a context to open the page in (launchProfile's).
// How it signs in (`signIn`):
// - 'storage' (default): the session is in the page's storage already, as after an earlier visit;
// - 'form': the sign-in screen, typing the name (the id is made from it: pass a unique name);
// - 'button': the sign-in screen, clicking a seeded user.
// `onSignInScreen(page)` runs while the sign-in screen shows (form and button).
export async function openApp(target, user, { label = user.id, signIn = 'storage', onSignInScreen, path = '/' } = {}) {
  const context = typeof target.newContext === 'function' ? await target.newContext({ viewport: VIEWPORT }) : target;
  if (signIn === 'storage') {
    await context.addInitScript(([key, session]) => localStorage.setItem(key, JSON.stringify(session)), [
      'streambed-demo-session',
      { id: user.id, name: user.name },
    ]);
  }
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT);
  const problems = watch(page, label);
  if (process.env.STREAMBED_E2E_DEBUG) trace(page, label);
  await page.goto(`${BASE_URL}${path}`);
  if (signIn !== 'storage') {
    const name = page.getByLabel('Your name');
    await name.waitFor();
    if (onSignInScreen) await onSignInScreen(page);
    if (signIn === 'form') {
      await name.fill(user.name);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    } else {
      await page.getByRole('list', { name: 'Demo users' }).getByRole('button', { name: user.name }).click();
    }
  }
  await page.getByTestId('me').filter({ hasText: user.name }).waitFor();
  return { page, context, problems, label };
}

// Fails the test on any problem the page collected, except those matching `expected` (RegExps).
export function assertNoProblems(app, expected = []) {
  const unexpected = app.problems.filter((p) => !expected.some((re) => re.test(p.text)));
  assert.deepEqual(
    unexpected.map((p) => `${p.kind}: ${p.text}`),
    [],
    `unexpected console errors or failed requests in ${app.label}`,
  );
}

export async function screenshot(page, name) {
  fs.mkdirSync(REPORTS, { recursive: true });
  await page.screenshot({ path: path.join(REPORTS, `${name}.png`) });
}

// --- The kit's UI, found the way a person finds it (names, labels, the kit's own test ids) ---

export const exactly = (text) => new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);

// The channel-list item whose title is exactly `name`.
export function channelListItem(page, name) {
  return page
    .getByTestId('channel-list-item-button')
    .filter({ has: page.locator('.str-chat__channel-list-item-data__title', { hasText: exactly(name) }) });
}

export function channelHeaderTitle(page, name) {
  return page.locator('.str-chat__channel-header__data__title', { hasText: exactly(name) });
}

export async function openChannel(page, name) {
  await channelListItem(page, name).click();
  await channelHeaderTitle(page, name).waitFor();
}

export function messageList(page) {
  return page.locator('.str-chat__main-panel .str-chat__message-list');
}

// The text of a message as shown (the kit also puts a hidden "Message from X," before it).
export const MESSAGE_TEXT = '[data-testid="message-text-inner-wrapper"]';

// The message (the kit's item) in `scope` (the page, the main list or the thread) whose text is
// exactly `text`.
export function message(scope, text) {
  const page = typeof scope.page === 'function' ? scope.page() : scope;
  return scope.locator('.str-chat__message').filter({ has: page.locator(MESSAGE_TEXT, { hasText: exactly(text) }) });
}

export function composer(scope) {
  return scope.getByTestId('message-input');
}

export async function sendFromPage(scope, text) {
  const input = composer(scope);
  await input.click();
  await input.fill(text);
  await input.press('Enter');
}

// Waits (bounded) until `locator` matches exactly `n` elements.
export async function waitForCount(locator, n) {
  if (n > 0) await locator.nth(n - 1).waitFor({ state: 'attached' });
  await locator.nth(n).waitFor({ state: 'detached' });
  if (n > 0) await locator.nth(n - 1).waitFor({ state: 'attached' });
}

export function headerSubtitle(page, text) {
  return page.locator('.str-chat__channel-header__data__subtitle', { hasText: exactly(text) });
}
