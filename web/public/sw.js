// The demo's service worker: a notification for each Web Push from streambed-push, and a click on
// it opens the channel. src/push.js registers it after sign-in and subscribes the browser.
// The browser hands over the payload already decrypted (API.md §3, docs/push.md):
//   {"type": "message.new" | "notification.reminder_due", "cid", "message_id", "text",
//    "user": {"id", "name"}}   (a reminder's user is the message's author)

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let message = null;
  try {
    message = event.data?.json() ?? null;
  } catch {
    // Not JSON: the generic notification below.
  }
  // The subscription promised userVisibleOnly: every push shows a notification, or the browser
  // shows one of its own ("This site has been updated in the background").
  const known = message?.type === 'message.new' || message?.type === 'notification.reminder_due';
  if (!known || typeof message.cid !== 'string') {
    event.waitUntil(self.registration.showNotification('streambed chat', { body: 'New activity' }));
    return;
  }
  const author = message.user?.name || message.user?.id || '';
  const reminder = message.type === 'notification.reminder_due';
  event.waitUntil(
    self.registration.showNotification(reminder ? 'Reminder' : author || 'New message', {
      body: reminder ? `${author}: ${message.text ?? ''}` : message.text ?? '',
      // One notification per channel: a newer message replaces the older one, and alerts again.
      // A reminder has its own, one per message.
      tag: reminder ? `reminder:${message.message_id}` : message.cid,
      renotify: true,
      data: { cid: message.cid, message_id: message.message_id },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const cid = event.notification.data?.cid;
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const app = windows.find((w) => new URL(w.url).origin === self.location.origin);
      if (app) {
        // The open app switches channel itself (ChatScreen.jsx listens), keeping its connection.
        if (cid) app.postMessage({ type: 'open-channel', cid });
        return app.focus();
      }
      return self.clients.openWindow(cid ? `/?cid=${encodeURIComponent(cid)}` : '/');
    })(),
  );
});
