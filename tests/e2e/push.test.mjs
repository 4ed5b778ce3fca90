// Issue 6, the browser's side of Web Push: the demo app subscribes after sign-in (web/src/push.js)
// and its service worker (web/public/sw.js) shows a notification for each push.
//
// Headless Chromium has no push service of its own here (the network is closed, and Google's
// GCM/FCM servers behind Chromium's Web Push are out of reach), and Chromium refuses push in
// incognito-like contexts. So the browser runs with a profile on disk (launchProfile), and its
// GCM switches point at lib/push-service.mjs, a local stand-in that does what FCM does for
// Chromium. pushManager.subscribe() then resolves for real, with keys Chromium generated and
// keeps to itself, and Chromium decrypts what arrives with them. Two ways in for a push:
// - the DevTools protocol (ServiceWorker.deliverPushMessage, what DevTools' "Push" button does):
//   a payload straight to the registered service worker;
// - end to end: a message sent by a second user (the SDK in Node) while the page's user has no
//   live socket, encrypted by streambed-push for the browser's subscription keys, POSTed to the
//   stand-in (RFC 8030) and handed by it, byte for byte, to the browser over its push connection.
// What the browser then did is read from its own record, DevTools' Background services: the push
// event with the payload the service worker got, and the notification it displayed.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import {
  BASE_URL, assertNoProblems, channelHeaderTitle, launchBrowser, launchProfile, openApp, screenshot,
} from './lib/browser.mjs';
import { connectUser, makeChannel, makeUsers } from './lib/fixtures.mjs';
import { startPushService } from './lib/push-service.mjs';
import { api, serverClient, userToken } from '../contracts/lib/streambed.mjs';

const RUN = process.env.STREAMBED_RUN_DIR;
const BUILD = process.env.STREAMBED_BUILD_DIR;
if (!RUN || !BUILD) throw new Error('run through scripts/test (STREAMBED_RUN_DIR/_BUILD_DIR unset)');

const ROUTE = '/api/register-subscriptions/';
// Generous: subscribing goes through the push service, and two cores run everything.
const TIMEOUT = 30000;

let service;
let browser;
before(async () => {
  // The MCS connection is TLS: the stand-in uses the test stack's self-signed pair, and Chromium
  // is told to accept exactly that key.
  service = await startPushService({ tls: { key: `${RUN}/tls/key.pem`, cert: `${RUN}/tls/cert.pem` } });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await service?.close();
});

async function listSubscriptions(userId) {
  const res = await api('GET', ROUTE, { token: userToken(userId) });
  assert.equal(res.status, 200, res.text);
  return res.json;
}

// The demo signed in as `user` in a browser with its own profile and the notification permission
// granted (as if the user had said yes earlier), once the app says notifications are on: the
// service worker is registered and the subscription POSTed. `browserLog` records from the start.
async function subscribedApp(user) {
  const context = await launchProfile({ args: service.chromiumArgs });
  try {
    await context.grantPermissions(['notifications'], { origin: BASE_URL });
    const browserLog = await recordBackgroundServices(context);
    const app = await openApp(context, user);
    await pushStatus(app.page, 'on').waitFor({ timeout: TIMEOUT });
    return { ...app, browserLog, subscription: await pageSubscription(app.page) };
  } catch (err) {
    await context.close();
    throw err;
  }
}

function pushStatus(page, state) {
  return page.locator(`[data-testid="push-status"][data-state="${state}"]`);
}

// The page's subscription as the browser has it, with the key it was made with.
function pageSubscription(page) {
  return page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    const subscription = await registration.pushManager.getSubscription();
    if (!subscription) return null;
    const key = btoa(String.fromCharCode(...new Uint8Array(subscription.options.applicationServerKey)));
    return { ...subscription.toJSON(), applicationServerKey: key.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') };
  });
}

// What the browser does with the app's pushes and notifications, as DevTools records it
// (Application → Background services): each push event with the payload the service worker got
// (already decrypted) and its outcome, and each notification displayed (title, body, and the tag
// as instance id). Read from the browser itself rather than from getNotifications() alone: without
// a notification center (Linux), Chromium drops a notification when its popup times out. Observed
// from the profile's first tab, which stays open while the app's tabs come and go.
async function recordBackgroundServices(context) {
  const cdp = await context.newCDPSession(context.pages()[0]);
  const events = [];
  cdp.on('BackgroundService.backgroundServiceEventReceived', ({ backgroundServiceEvent: e }) => {
    if (e.origin !== `${BASE_URL}/`) return;
    const metadata = Object.fromEntries(e.eventMetadata.map((m) => [m.key, m.value]));
    events.push({ event: e.eventName, ...(e.instanceId ? { tag: e.instanceId } : {}), ...metadata });
  });
  for (const service of ['pushMessaging', 'notifications']) {
    await cdp.send('BackgroundService.startObserving', { service });
    await cdp.send('BackgroundService.setRecording', { shouldRecord: true, service });
  }
  return {
    cdp,
    events,
    // Waits (bounded) until `count` events match `predicate`; returns them.
    async waitFor(what, predicate, count = 1) {
      for (const deadline = Date.now() + TIMEOUT; ; ) {
        const found = events.filter(predicate);
        if (found.length >= count) return found;
        if (Date.now() > deadline) throw new Error(`browser: no ${what} within ${TIMEOUT} ms; recorded: ${JSON.stringify(events)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

// The `data` of the notification the service worker shows under `tag`, read from the worker
// (DevTools does not record it) right after it was displayed.
async function notificationData(context, tag) {
  const worker = context.serviceWorkers().find((w) => w.url() === `${BASE_URL}/sw.js`);
  assert.ok(worker, 'the service worker is running');
  return worker.evaluate(async (t) => (await self.registration.getNotifications({ tag: t })).map((n) => n.data), tag);
}

// The service worker registration id DevTools knows the app's worker by.
async function serviceWorkerRegistrationId(cdp) {
  const registrations = new Map();
  let resolveFound;
  const found = new Promise((resolve) => (resolveFound = resolve));
  cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations: updated }) => {
    for (const r of updated) registrations.set(r.registrationId, r);
    const app = [...registrations.values()].find((r) => r.scopeURL === `${BASE_URL}/` && !r.isDeleted);
    if (app) resolveFound(app.registrationId);
  });
  await cdp.send('ServiceWorker.enable');
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no service worker registration for ${BASE_URL}/ in DevTools`)), TIMEOUT);
  });
  try {
    return await Promise.race([found, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('Web Push in the demo app', () => {
  it('after sign-in the browser is subscribed with the served VAPID key, and the server lists that subscription', async () => {
    const [me] = await makeUsers('Pia Push');
    const app = await subscribedApp(me);
    try {
      const sub = app.subscription;
      assert.ok(sub, 'the page has a push subscription');
      const served = await listSubscriptions(me.id);
      assert.equal(sub.applicationServerKey, served.vapid_public_key, 'subscribed with the served VAPID key');
      assert.deepEqual(served.subscriptions.map((s) => s.endpoint), [sub.endpoint], 'the server lists the page’s subscription');
      // Chromium asked its push service for a subscription bound to that key, and made the keys.
      assert.equal(service.registrationOf(sub.endpoint)?.sender, served.vapid_public_key);
      assert.match(sub.endpoint, /^https:\/\/[^/]+\/fcm\/send\/[A-Za-z0-9_-]+$/);
      assert.equal(Buffer.from(sub.keys.p256dh, 'base64url').length, 65);
      assert.equal(Buffer.from(sub.keys.auth, 'base64url').length, 16);
      await screenshot(app.page, 'push-notifications-on');
      assertNoProblems(app);
    } finally {
      await app.context.close();
    }
  });

  it('a push delivered through the DevTools protocol shows the sender’s name and the text, with cid and message id; a reminder shows as one', async () => {
    const [me, other] = await makeUsers('Pia Push', 'Sid Sender');
    const app = await subscribedApp(me);
    try {
      const log = app.browserLog;
      const registrationId = await serviceWorkerRegistrationId(log.cdp);
      assert.deepEqual(log.events, [], 'no push and no notification yet');

      // The payload exactly as streambed-push sends it (API.md §3).
      const payload = {
        type: 'message.new',
        cid: 'messaging:push-devtools',
        message_id: crypto.randomUUID(),
        text: 'Are we still on for Friday?',
        user: { id: other.id, name: other.name },
      };
      await log.cdp.send('ServiceWorker.deliverPushMessage', { origin: BASE_URL, registrationId, data: JSON.stringify(payload) });
      const [shown] = await log.waitFor('notification', (e) => e.event === 'Notification displayed');
      assert.deepEqual(shown, { event: 'Notification displayed', tag: payload.cid, Title: other.name, Body: payload.text });
      assert.deepEqual(await notificationData(app.context, payload.cid), [{ cid: payload.cid, message_id: payload.message_id }]);
      await log.waitFor('completed push event', (e) => e.event === 'Push event completed' && e.Status === 'Success');

      // Whatever else arrives still shows something (the subscription promised userVisibleOnly).
      await log.cdp.send('ServiceWorker.deliverPushMessage', { origin: BASE_URL, registrationId, data: 'not json' });
      await log.waitFor('second notification', (e) => e.event === 'Notification displayed', 2);
      assert.deepEqual(log.events.filter((e) => e.event === 'Notification displayed')[1], {
        event: 'Notification displayed',
        Title: 'streambed chat',
        Body: 'New activity',
      });
      await log.waitFor('second completed push event', (e) => e.event === 'Push event completed' && e.Status === 'Success', 2);

      // A reminder whose time has come: titled as one, the author and the text as its body.
      const reminder = { ...payload, type: 'notification.reminder_due', message_id: crypto.randomUUID() };
      await log.cdp.send('ServiceWorker.deliverPushMessage', { origin: BASE_URL, registrationId, data: JSON.stringify(reminder) });
      await log.waitFor('third notification', (e) => e.event === 'Notification displayed', 3);
      assert.deepEqual(log.events.filter((e) => e.event === 'Notification displayed')[2], {
        event: 'Notification displayed',
        tag: `reminder:${reminder.message_id}`,
        Title: 'Reminder',
        Body: `${other.name}: ${payload.text}`,
      });
      await log.waitFor('third completed push event', (e) => e.event === 'Push event completed' && e.Status === 'Success', 3);
      assertNoProblems(app);
    } finally {
      await app.context.close();
    }
  });

  it('a message sent while the user is offline reaches the service worker: streambed-push → push service → browser', async () => {
    const [me, other] = await makeUsers('Pia Push', 'Sid Sender');
    const spec = await makeChannel({ name: 'Push end to end', members: [me.id, other.id] });
    const app = await subscribedApp(me);
    const sdk = await connectUser(other.id, { name: other.name });
    try {
      const sub = app.subscription;
      const registration = service.registrationOf(sub.endpoint);
      assert.ok(registration, 'the push service has the browser’s subscription');
      // The one stand-in: the browser's endpoint is FCM's address (https://jmt17.google.com/…),
      // out of reach here, so the same subscription (same token, the browser's own keys) is
      // registered at the stand-in's loopback address, which development mode accepts, and the
      // unreachable one is removed.
      const local = await api('POST', ROUTE, {
        token: userToken(me.id),
        body: { endpoint: service.localEndpoint(sub.endpoint), expirationTime: null, keys: sub.keys },
      });
      assert.equal(local.status, 201, local.text);
      const removed = await api('DELETE', ROUTE, { token: userToken(me.id), query: { endpoint: sub.endpoint } });
      assert.equal(removed.status, 200, removed.text);

      // The user leaves: the tab closes, the browser (and its service worker) stays.
      assertNoProblems(app);
      await app.page.close();
      const server = serverClient();
      for (const deadline = Date.now() + TIMEOUT; ; ) {
        const { users } = await server.queryUsers({ id: { $eq: me.id } });
        if (users[0]?.online === false) break;
        if (Date.now() > deadline) throw new Error(`${me.id} still online ${TIMEOUT} ms after closing the page`);
        await new Promise((r) => setTimeout(r, 100));
      }

      const channel = sdk.channel('messaging', spec.id);
      const { message } = await channel.sendMessage({ text: 'Lunch at noon? 🍜' });

      // streambed-push's request, as the push service gets it.
      const push = await service.waitForPush(registration.token);
      assert.equal(push.headers['content-encoding'], 'aes128gcm');
      assert.match(push.headers.authorization, new RegExp(`^vapid t=[\\w-]+\\.[\\w-]+\\.[\\w-]+, k=${registration.sender}$`));
      await service.waitForDelivery(registration.token);

      // The browser decrypted it into API.md §3's payload, and the service worker showed it.
      const log = app.browserLog;
      const [event] = await log.waitFor('push event', (e) => e.event === 'Push event dispatched');
      assert.deepEqual(JSON.parse(event.Payload), {
        type: 'message.new',
        cid: channel.cid,
        message_id: message.id,
        text: 'Lunch at noon? 🍜',
        user: { id: other.id, name: other.name },
      });
      const [shown] = await log.waitFor('notification', (e) => e.event === 'Notification displayed');
      assert.deepEqual(shown, { event: 'Notification displayed', tag: channel.cid, Title: other.name, Body: 'Lunch at noon? 🍜' });
      assert.deepEqual(await notificationData(app.context, channel.cid), [{ cid: channel.cid, message_id: message.id }]);
      await log.waitFor('completed push event', (e) => e.event === 'Push event completed' && e.Status === 'Success');
      assert.deepEqual(service.problems, []);
    } finally {
      await sdk.disconnectUser();
      await app.context.close();
    }
  });

  it('a notification’s channel opens: the app at /?cid= shows it, and an open app switches to it', async () => {
    const [me, other] = await makeUsers('Pia Push', 'Sid Sender');
    const older = await makeChannel({ name: 'Asked for', members: [me.id, other.id], messages: [{ user: other.id, text: 'Ping' }] });
    const newest = await makeChannel({ name: 'Newest', members: [me.id, other.id], messages: [{ user: other.id, text: 'Pong' }] });
    // No tab open: the click opens /?cid=<cid>.
    const app = await openApp(browser, me, { path: `/?cid=${encodeURIComponent(older.cid)}` });
    try {
      await channelHeaderTitle(app.page, 'Asked for').waitFor();
      assert.equal(new URL(app.page.url()).search, '', 'the address is the app’s again');
      // A tab open: the click posts {type: 'open-channel', cid} to it, from the service worker.
      const worker = app.context.serviceWorkers()[0] ?? (await app.context.waitForEvent('serviceworker'));
      await worker.evaluate(async (cid) => {
        const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
        windows.forEach((w) => w.postMessage({ type: 'open-channel', cid }));
      }, newest.cid);
      await channelHeaderTitle(app.page, 'Newest').waitFor();
      assertNoProblems(app);
    } finally {
      await app.context.close();
    }
  });

  it('with notifications blocked, or without push support, the chat works and nothing is registered', async () => {
    const [me] = await makeUsers('Pia Push');
    await makeChannel({ name: 'Still chatting', members: [me.id], messages: [{ user: me.id, text: 'Hello?' }] });
    // Every request of the context to the subscription route, from the first page load on.
    const watchRoute = (context) => {
      const requests = [];
      context.on('request', (r) => r.url().includes(ROUTE) && requests.push(`${r.method()} ${r.url()}`));
      return requests;
    };

    // Blocked: the user said no earlier (set through DevTools, as the browser's settings would;
    // the setting lasts as long as the DevTools session).
    const context = await browser.newContext();
    const requests = watchRoute(context);
    const { targetInfo } = await (await context.newCDPSession(await context.newPage())).send('Target.getTargetInfo');
    const cdp = await browser.newBrowserCDPSession();
    await cdp.send('Browser.setPermission', {
      permission: { name: 'notifications' },
      setting: 'denied',
      origin: BASE_URL,
      browserContextId: targetInfo.browserContextId,
    });
    const blocked = await openApp(context, me);
    try {
      await pushStatus(blocked.page, 'denied').waitFor();
      await channelHeaderTitle(blocked.page, 'Still chatting').waitFor();
      assert.deepEqual(requests, [], 'no subscription registered');
      assertNoProblems(blocked);
    } finally {
      await context.close();
      await cdp.detach();
    }

    // No Push API at all (older browsers, iOS Safari outside a home-screen app).
    const plain = await browser.newContext();
    const plainRequests = watchRoute(plain);
    await plain.addInitScript(() => delete window.PushManager);
    const bare = await openApp(plain, me);
    try {
      await channelHeaderTitle(bare.page, 'Still chatting').waitFor();
      assert.equal(await bare.page.getByTestId('push-status').count(), 0, 'no notification controls');
      assert.equal(await bare.page.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).length), 0);
      assert.deepEqual(plainRequests, []);
      assertNoProblems(bare);
    } finally {
      await plain.close();
    }
  });

  // Last: the rotation replaces the VAPID key for everyone.
  it('after a VAPID key rotation the app subscribes again, with the new key, on its next load', async () => {
    const [me] = await makeUsers('Pia Push');
    const app = await subscribedApp(me);
    try {
      const old = app.subscription;
      const { stdout } = await promisify(execFile)(`${BUILD}/fcgi-app/streambed-api`, ['rotate-vapid'], { env: process.env });
      const newKey = /new VAPID public key: ([A-Za-z0-9_-]{87})/.exec(stdout)?.[1];
      assert.ok(newKey, stdout);
      assert.notEqual(newKey, old.applicationServerKey);
      assert.deepEqual((await listSubscriptions(me.id)).subscriptions, [], 'the rotation removed the subscription');

      await app.page.reload();
      await pushStatus(app.page, 'on').waitFor({ timeout: TIMEOUT });
      const fresh = await pageSubscription(app.page);
      assert.equal(fresh.applicationServerKey, newKey);
      assert.notEqual(fresh.endpoint, old.endpoint);
      assert.equal(service.registrationOf(fresh.endpoint)?.sender, newKey);
      // The old subscription was given up at the push service too.
      await service.waitForUnregistration(service.registrationOf(old.endpoint).appId);
      const served = await listSubscriptions(me.id);
      assert.equal(served.vapid_public_key, newKey);
      assert.deepEqual(served.subscriptions.map((s) => s.endpoint), [fresh.endpoint]);
      assertNoProblems(app);
    } finally {
      await app.context.close();
    }
  });
});
