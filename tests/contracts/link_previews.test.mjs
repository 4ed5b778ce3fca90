// Link previews (getstream.io's URL enrichment): the first link of a message becomes a card
// attachment made from the page's Open Graph tags, on send and on edit, and client.enrichURL (GET
// /og) gives the composer the same attachment. The pages are served here, on loopback (which the
// stack, in development mode, may fetch from); the hostile ones check that a fetch is bounded in
// time and size, follows few redirects, and never reaches an internal address.

import assert from 'node:assert/strict';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import { api, connectUser, expectError, recordEvents, serverClient, uniqueId, userToken, watchingPair } from './lib/streambed.mjs';

const server = serverClient();

const ARTICLE = `<!doctype html><html><head>
<meta charset="utf-8"><title>Fallback title</title>
<meta property="og:title" content="Rivers &amp; Streams">
<meta content="All about water that moves." property="og:description">
<meta property="og:site_name" content='Hydro Weekly'>
<meta property="og:image" content="/pics/river.jpg">
<script>var s = '<meta property="og:title" content="from a script">';</script>
</head><body><h1>ignored</h1></body></html>`;

const hits = new Map();
let base;
let pageServer;
const hanging = new Set();

function page(res, status, type, body, headers = {}) {
  res.writeHead(status, { 'content-type': type, ...headers });
  res.end(body);
}

before(async () => {
  pageServer = http.createServer((req, res) => {
    res.on('error', () => {}); // a fetch that stops reading early resets the connection
    const path = req.url.split('?')[0];
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path.startsWith('/article')) return page(res, 200, 'text/html; charset=utf-8', ARTICLE);
    if (path === '/plain') return page(res, 200, 'text/html', '<html><head><title> Just a  title </title><meta name="description" content="and a description"></head></html>');
    if (path === '/video') return page(res, 200, 'text/html', '<head><meta property="og:type" content="video.other"><meta property="og:title" content="A clip"><meta property="og:video" content="https://videos.example.com/clip.mp4"><meta property="og:image" content="https://videos.example.com/clip.jpg"></head>');
    if (path === '/photo.png') return page(res, 200, 'image/png', Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    if (path === '/moved') return page(res, 301, 'text/plain', '', { location: '/article-moved' });
    if (path.startsWith('/loop')) return page(res, 302, 'text/plain', '', { location: `/loop${Number(path.slice(5) || 0) + 1}` });
    if (path === '/inside') return page(res, 302, 'text/plain', '', { location: 'http://10.20.30.40/admin' });
    if (path === '/to-ftp') return page(res, 302, 'text/plain', '', { location: 'ftp://files.example.com/' });
    if (path === '/json') return page(res, 200, 'application/json', '{"title":"not a page"}');
    if (path === '/empty') return page(res, 200, 'text/html', '<html><head></head><body>nothing</body></html>');
    if (path === '/missing') return page(res, 404, 'text/html', '<head><meta property="og:title" content="Not found"></head>');
    if (path === '/huge') {
      // The tags come after 600 KB of head: past what a fetch reads.
      res.writeHead(200, { 'content-type': 'text/html' });
      res.write('<html><head>');
      for (let i = 0; i < 600; i++) res.write(`<meta name="filler" content="${'x'.repeat(1000)}">`);
      return res.end('<meta property="og:title" content="Too far"></head></html>');
    }
    if (path === '/silent') { hanging.add(res); return undefined; } // never answers
    if (path === '/trickle') {
      // Headers at once, then a byte now and then, never the end of the head.
      res.writeHead(200, { 'content-type': 'text/html' });
      res.write('<html><head><meta property="og:title" content="slow">');
      const timer = setInterval(() => res.write(' '), 200);
      res.on('close', () => clearInterval(timer));
      hanging.add(res);
      return undefined;
    }
    return page(res, 404, 'text/plain', 'no');
  });
  await new Promise((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${pageServer.address().port}`;
});

after(async () => {
  for (const res of hanging) res.destroy();
  pageServer.closeAllConnections();
  await new Promise((resolve) => pageServer.close(resolve));
});

// A path of its own for each test (the server caches previews by link).
const fresh = (path) => `${base}${path}?t=${uniqueId('t')}`;
const previewOf = (message) => message.attachments.find((a) => a.og_scrape_url);

describe('link previews on send', () => {
  let r;
  before(async () => { r = await watchingPair(); });
  after(() => r.close());

  it('turns the first link of a message into a card from the page\'s Open Graph tags, in the reply, the event and the history', async () => {
    const link = fresh('/article');
    const events = recordEvents(r.cb);
    const { message } = await r.chA.sendMessage({ text: `have a look: ${link}, and ${fresh('/plain')}` });
    const card = previewOf(message);
    assert.deepEqual(card, {
      author_name: 'Hydro Weekly',
      title: 'Rivers & Streams',
      title_link: link,
      text: 'All about water that moves.',
      image_url: `${base}/pics/river.jpg`,
      thumb_url: `${base}/pics/river.jpg`,
      og_scrape_url: link,
    });
    assert.equal(message.attachments.length, 1, 'one preview: the first link\'s');
    const seen = await events.waitFor((e) => e.type === 'message.new' && e.message.id === message.id);
    assert.deepEqual(previewOf(seen.message), card);
    const { messages } = await r.chB.query({ messages: { limit: 5 } });
    assert.deepEqual(previewOf(messages.find((m) => m.id === message.id)), card);
    assert.deepEqual(previewOf(r.chB.state.messages.find((m) => m.id === message.id)), card, 'in the SDK\'s channel state');
  });

  it('falls back to <title> and the description meta, follows a redirect, and makes images and videos their own kind', async () => {
    const plain = fresh('/plain');
    let { message } = await r.chA.sendMessage({ text: plain });
    assert.deepEqual(previewOf(message), { title: 'Just a title', title_link: plain, text: 'and a description', og_scrape_url: plain });

    const anchored = `${fresh('/article')}#the-middle`;
    ({ message } = await r.chA.sendMessage({ text: `jump to ${anchored}` }));
    assert.equal(previewOf(message).og_scrape_url, anchored, 'a link with a fragment');
    assert.equal(previewOf(message).title, 'Rivers & Streams');

    const moved = `${base}/moved`;
    ({ message } = await r.chA.sendMessage({ text: `moved ${moved}` }));
    assert.equal(previewOf(message).title, 'Rivers & Streams');
    assert.equal(previewOf(message).title_link, `${base}/article-moved`, 'where the page lives');
    assert.equal(previewOf(message).og_scrape_url, moved, 'the link as written');

    const photo = fresh('/photo.png');
    ({ message } = await r.chA.sendMessage({ text: photo }));
    assert.deepEqual(previewOf(message), { type: 'image', image_url: photo, thumb_url: photo, og_scrape_url: photo });

    const video = fresh('/video');
    ({ message } = await r.chA.sendMessage({ text: video }));
    assert.equal(previewOf(message).type, 'video');
    assert.equal(previewOf(message).asset_url, 'https://videos.example.com/clip.mp4');
    assert.equal(previewOf(message).image_url, 'https://videos.example.com/clip.jpg');
  });

  it('fetches a link once: the next message with it gets the cached preview', async () => {
    const link = `${base}/article-cached-${uniqueId('c')}`;
    const path = new URL(link).pathname;
    const first = await r.chA.sendMessage({ text: link });
    const second = await r.chB.sendMessage({ text: `again ${link}` });
    assert.deepEqual(previewOf(second.message), previewOf(first.message));
    assert.equal(hits.get(path), 1);
  });

  it('skip_enrich_url, a preview the composer already made, and a system message leave the attachments as sent', async () => {
    const link = fresh('/article');
    const path = new URL(link).pathname;
    const before = hits.get(path) ?? 0;
    let { message } = await r.chA.sendMessage({ text: link }, { skip_enrich_url: true });
    assert.deepEqual(message.attachments, []);
    const mine = { og_scrape_url: link, title: 'my own preview', title_link: link };
    ({ message } = await r.chA.sendMessage({ text: link, attachments: [mine] }));
    assert.deepEqual(message.attachments, [mine]);
    ({ message } = await server.channel('messaging', r.id).sendMessage({ text: `note ${link}`, type: 'system', user_id: r.alice }));
    assert.deepEqual(message.attachments, []);
    assert.equal(hits.get(path) ?? 0, before, 'nothing fetched');
  });

  it('a link that cannot be previewed leaves the message as it was: error pages, non-pages, empty pages, too many redirects, internal targets', async () => {
    for (const path of ['/missing', '/json', '/empty', '/loop', '/inside', '/to-ftp', '/nowhere']) {
      const { message } = await r.chA.sendMessage({ text: `see ${fresh(path)}` });
      assert.deepEqual(message.attachments, [], path);
    }
    assert.ok((hits.get('/loop3') ?? 0) >= 1 && !hits.has('/loop4'), 'three redirects followed, not a fourth');
    for (const link of ['http://10.0.0.1/', 'http://169.254.169.254/latest/meta-data/', 'http://[::ffff:10.0.0.1]/', 'http://192.168.1.1:8080/x', 'http://intranet/']) {
      const { message } = await r.chA.sendMessage({ text: link });
      assert.deepEqual(message.attachments, [], link);
    }
  });

  it('a page that never answers, or never finishes its head, costs the send a bounded wait, not the message', async () => {
    for (const path of ['/silent', '/trickle', '/huge']) {
      const started = Date.now();
      const { message } = await r.chA.sendMessage({ text: fresh(path) });
      assert.deepEqual(message.attachments, [], path);
      assert.ok(Date.now() - started < 9000, `${path}: ${Date.now() - started} ms`);
      const { messages } = await r.chA.getMessagesById([message.id]);
      assert.equal(messages.length, 1, 'stored');
    }
  });

  it('a channel type with url_enrichment off makes no preview; the setting can be turned on and off', async () => {
    const type = uniqueId('lp').replace(/[^A-Za-z0-9_-]/g, '_').slice(-40);
    await server.createChannelType({ name: type, url_enrichment: false });
    assert.equal((await server.getChannelType(type)).url_enrichment, false);
    const ch = server.channel(type, uniqueId('ch'), { created_by_id: r.alice, members: [r.alice] });
    await ch.create();
    const link = fresh('/article');
    let { message } = await ch.sendMessage({ text: link, user_id: r.alice });
    assert.deepEqual(message.attachments, []);
    await server.updateChannelType(type, { url_enrichment: true });
    const changedAt = Date.now();
    assert.equal((await server.getChannelType(type)).url_enrichment, true);
    // Workers re-read types every 5 s (chat_delivery.test.mjs): from then on every send has it.
    await sleep(Math.max(0, changedAt + 5500 - Date.now()));
    for (let i = 0; i < 4; i++) {
      ({ message } = await ch.sendMessage({ text: link, user_id: r.alice }));
      assert.equal(previewOf(message)?.title, 'Rivers & Streams', `send ${i}`);
    }
  });
});

describe('link previews on edit', () => {
  let r;
  before(async () => { r = await watchingPair(); });
  after(() => r.close());

  it('an edit that drops the link drops its preview; one with a new link gets the new preview; other attachments stay', async () => {
    const first = fresh('/article');
    const file = { type: 'file', asset_url: 'https://files.example.com/a.pdf', title: 'a.pdf' };
    const { message } = await r.chA.sendMessage({ text: first, attachments: [file] });
    assert.equal(message.attachments.length, 2);

    const events = recordEvents(r.cb);
    let { message: edited } = await r.ca.updateMessage({ ...message, text: 'no link any more' });
    assert.deepEqual(edited.attachments, [file]);
    const seen = await events.waitFor((e) => e.type === 'message.updated' && e.message.id === message.id);
    assert.deepEqual(seen.message.attachments, [file]);

    const second = fresh('/plain');
    ({ message: edited } = await r.ca.partialUpdateMessage(message.id, { set: { text: `now ${second}` } }));
    assert.deepEqual(edited.attachments[0], file);
    assert.equal(previewOf(edited).og_scrape_url, second);
    assert.equal(previewOf(edited).title, 'Just a title');

    ({ message: edited } = await r.ca.partialUpdateMessage(message.id, { set: { text: `still ${second}` } }));
    assert.equal(previewOf(edited).og_scrape_url, second, 'kept while its link is there');
    ({ message: edited } = await r.ca.partialUpdateMessage(message.id, { set: { text: 'gone' } }, undefined, { skip_enrich_url: true }));
    assert.equal(previewOf(edited).og_scrape_url, second, 'skip_enrich_url leaves the attachments alone');
    ({ message: edited } = await r.ca.partialUpdateMessage(message.id, { set: { custom_field: 1 } }));
    assert.equal(previewOf(edited).og_scrape_url, second, 'an edit that does not touch the text does not touch the preview');
  });

  it('an edit is held to the attachment limits of a send', async () => {
    const { message } = await r.chA.sendMessage({ text: 'limits' });
    await expectError(r.ca.updateMessage({ ...message, attachments: ['not an object'] }), 400, 4, /object/);
    await expectError(r.ca.updateMessage({ ...message, attachments: [{ type: 'file', title: 'x'.repeat(70 * 1024) }] }), 400, 4, /64 KB/);
  });
});

describe('client.enrichURL (GET /og)', () => {
  let client;
  let user;
  before(async () => {
    user = uniqueId('og');
    client = await connectUser(user);
  });
  after(() => client.disconnectUser());

  it('gives the attachment a send would make, with duration, as the composer reads it', async () => {
    const link = fresh('/article');
    const { duration, ...attachment } = await client.enrichURL(link);
    assert.equal(typeof duration, 'string');
    assert.equal(attachment.title, 'Rivers & Streams');
    assert.equal(attachment.og_scrape_url, link);
    assert.equal(attachment.image_url, `${base}/pics/river.jpg`);
  });

  it('refuses what it cannot preview with a 400 in getstream.io\'s envelope, and asks for a token', async () => {
    for (const link of ['http://10.0.0.1/', 'http://169.254.169.254/latest/meta-data/', 'ftp://files.example.com/', 'not a url',
      'http://user:pw@127.0.0.1/', fresh('/missing'), fresh('/json')]) {
      await expectError(client.enrichURL(link), 400, 4, /preview/);
    }
    await expectError(api('GET', '/api/og/', { token: userToken(user) }), 400, 4, /url is required/);
    await expectError(api('GET', '/api/og/', { token: userToken(user), query: { url: `${base}/${'a'.repeat(2100)}` } }), 400, 4, /2,048/);
    const anonymous = await api('GET', '/api/og/', { query: { url: fresh('/article') } });
    assert.equal(anonymous.status, 401);
  });
});
