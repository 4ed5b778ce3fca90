// Web Push for the signed-in user (API.md §3, docs/push.md "In the browser"): registers the service
// worker (public/sw.js, which shows the notifications), subscribes the browser with the server's
// VAPID key and registers the subscription under the user. Nothing here is needed for the chat:
// without push support or without the permission, the app simply shows no notifications.

const ROUTE = '/api/register-subscriptions/';

export function pushSupported() {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

// The room surface: the user's token in Authorization, no api_key.
async function call(method, token, { query = '', body } = {}) {
  const res = await fetch(ROUTE + query, {
    method,
    headers: body ? { Authorization: token, 'Content-Type': 'application/json' } : { Authorization: token },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${ROUTE} answered ${res.status}`);
  return res.json();
}

function base64url(buffer) {
  return btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

// Makes sure this browser is subscribed and registered for the user; runs on every sign-in and
// page load. `ask`: may show the browser's permission prompt (only from a click: browsers
// ignore or penalise prompts nobody asked for). Returns 'on', or the permission that stops it
// ('default': not asked yet, 'denied'), or 'unsupported'.
export async function syncPush(token, { ask = false } = {}) {
  if (!pushSupported()) return 'unsupported';
  await navigator.serviceWorker.register('/sw.js');
  let permission = Notification.permission;
  if (permission === 'default' && ask) permission = await Notification.requestPermission();
  if (permission !== 'granted') return permission;

  const registration = await navigator.serviceWorker.ready;  // subscribing needs an active worker
  const { vapid_public_key: key } = await call('GET', token);
  let subscription = await registration.pushManager.getSubscription();
  // A subscription is bound to the key it was made with, and the server deletes those of a key
  // it rotated out: made with another key, it is replaced.
  const madeWith = subscription?.options.applicationServerKey;
  if (subscription && (!madeWith || base64url(madeWith) !== key)) {
    await subscription.unsubscribe();
    subscription = null;
  }
  subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  // Registered again on every load: the server may have dropped it (the push service said it is
  // gone), or someone else used this browser since (the endpoint then moves to this user).
  await call('POST', token, { body: subscription.toJSON() });
  return 'on';
}

// Sign-out: this browser stops receiving the user's notifications.
export async function stopPush(token) {
  if (!pushSupported()) return;
  const registration = await navigator.serviceWorker.getRegistration();
  const subscription = await registration?.pushManager.getSubscription();
  if (!subscription) return;
  await call('DELETE', token, { query: `?endpoint=${encodeURIComponent(subscription.endpoint)}` });
  await subscription.unsubscribe();
}

// The channel a notification click asks for: /?cid=<cid> when it opens a new window (sw.js), a
// message from the service worker when the app is open already.
export function cidFromLocation() {
  return new URLSearchParams(window.location.search).get('cid');
}

export function onOpenChannelRequest(handler) {
  if (!('serviceWorker' in navigator)) return () => {};
  const listener = (event) => {
    if (event.data?.type === 'open-channel' && typeof event.data.cid === 'string') handler(event.data.cid);
  };
  navigator.serviceWorker.addEventListener('message', listener);
  return () => navigator.serviceWorker.removeEventListener('message', listener);
}
