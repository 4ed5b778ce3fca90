// Users and channels made for one test through the server-side SDK, so tests never share state
// (the seeded demo data is only read, by the tests about it).

import { connectUser, serverClient, uniqueId } from '../../contracts/lib/streambed.mjs';

export { connectUser, serverClient, uniqueId };

const server = serverClient();

// Users with unique ids; `names` are display names ("Pat Page"), one user per name.
export async function makeUsers(...names) {
  const users = names.map((name) => ({ id: uniqueId(name.split(' ')[0].toLowerCase()), name }));
  await server.upsertUsers(users.map((u) => ({ ...u, role: 'user' })));
  return users;
}

// A channel type of the test's own, messaging's settings with `settings` over them (the shared
// types keep getstream.io's defaults, which other tests rely on); returns its name.
export async function makeChannelType(settings) {
  const name = uniqueId('type');
  await server.createChannelType({ name, ...settings });
  return name;
}

// A channel (messaging unless `type` says) with members and history; messages are sent in order,
// one user each.
export async function makeChannel({ name, members, createdBy = members[0], messages = [], type = 'messaging' }) {
  const data = { members, created_by_id: createdBy };
  if (name) data.name = name;
  const channel = server.channel(type, uniqueId('ch'), data);
  await channel.create();
  for (const m of messages) await channel.sendMessage({ text: m.text, user_id: m.user });
  return channel;
}

// Waits (bounded) until `predicate(event)` holds for an event of `type` on the SDK client.
// Subscribe before acting, await after; until awaited, a timeout is not an unhandled rejection
// (so a test that fails earlier reports its own error, not this one).
export function nextEvent(client, type, predicate = () => true, timeoutMs = 15000) {
  const promise = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.unsubscribe();
      reject(new Error(`no ${type} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const sub = client.on(type, (event) => {
      if (!predicate(event)) return;
      clearTimeout(timer);
      sub.unsubscribe();
      resolve(event);
    });
  });
  promise.catch(() => {});
  return promise;
}
