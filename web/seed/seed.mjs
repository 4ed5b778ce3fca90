#!/usr/bin/env node
// Seeds the demo (users, channels with members and history) through the server-side SDK, the way
// an application's back end would. Idempotent: messages have fixed ids, and a channel whose last
// seed message is already there is left alone, so running it again changes nothing.
//   STREAMBED_URL=http://127.0.0.1:8080 STREAMBED_API_KEY=... STREAMBED_API_SECRET=... node seed/seed.mjs
// scripts/run and scripts/test run it once the stack is healthy.

import crypto from 'node:crypto';
import { StreamChat } from 'stream-chat';

import { CHANNELS, USERS } from './data.mjs';

const { STREAMBED_URL, STREAMBED_API_KEY, STREAMBED_API_SECRET } = process.env;
if (!STREAMBED_URL || !STREAMBED_API_KEY || !STREAMBED_API_SECRET) {
  console.error('seed: set STREAMBED_URL, STREAMBED_API_KEY and STREAMBED_API_SECRET (scripts/run does)');
  process.exit(2);
}

const client = new StreamChat(STREAMBED_API_KEY, STREAMBED_API_SECRET, {
  baseURL: `${STREAMBED_URL}/api`,
  timeout: 10000,
});
// README.md's interceptor: every streambed route ends with a slash.
client.axiosInstance.interceptors.request.use((config) => {
  const [path, query] = config.url.split('?');
  if (!path.endsWith('/')) config.url = path + '/' + (query ? '?' + query : '');
  return config;
});

// A fixed UUID (version 5 layout) per seed message, so a second run finds the same ids.
function seedMessageId(cid, index) {
  const h = crypto.createHash('sha1').update(`streambed-seed:${cid}:${index}`).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

async function seedChannel(spec) {
  const cid = `${spec.type}:${spec.id}`;
  const data = { members: spec.members, created_by_id: spec.created_by };
  if (spec.name) data.name = spec.name;
  const channel = client.channel(spec.type, spec.id, data);
  const state = await channel.query({ messages: { limit: 1 }, watch: false, state: true });
  const lastId = seedMessageId(cid, spec.history.length - 1);
  if (state.messages.some((m) => m.id === lastId)) return { cid, sent: 0 };
  // Members added later to the seed list join an existing channel too.
  const have = new Set(state.members.map((m) => m.user_id ?? m.user?.id));
  const missing = spec.members.filter((id) => !have.has(id));
  if (missing.length) await channel.addMembers(missing);
  let sent = 0;
  const send = async (message) => {
    try {
      await channel.sendMessage(message);
      sent += 1;
    } catch (err) {
      // A message of an interrupted earlier run: the server says it already exists.
      if (!/already exists/.test(err.message)) throw err;
    }
  };
  for (const [i, line] of spec.history.entries()) {
    const id = seedMessageId(cid, i);
    await send({ id, text: line.text, user_id: line.user });
    const extras = spec.extras?.[i];
    // Reactions are one per user and type, so sending one again changes nothing.
    for (const r of extras?.reactions ?? []) await channel.sendReaction(id, { type: r.type, user_id: r.user });
    for (const [j, reply] of (extras?.replies ?? []).entries()) {
      await send({ id: seedMessageId(cid, `${i}:${j}`), text: reply.text, user_id: reply.user, parent_id: id });
    }
  }
  return { cid, sent };
}

try {
  await client.upsertUsers(USERS.map((u) => ({ id: u.id, name: u.name, role: 'user' })));
  // In list order, oldest first: the last channel seeded has the newest message and heads the list.
  for (const spec of [...CHANNELS].reverse()) {
    const { cid, sent } = await seedChannel(spec);
    console.log(`seed: ${cid}: ${sent ? `${sent} messages sent` : 'already seeded'}`);
  }
  console.log(`seed: ${USERS.length} users (${USERS.map((u) => u.id).join(', ')}), ${CHANNELS.length} channels`);
} catch (err) {
  console.error(`seed: failed: ${err.message}`);
  if (err.response?.data) console.error(JSON.stringify(err.response.data));
  process.exit(1);
}
