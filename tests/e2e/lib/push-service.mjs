// A stand-in for Chromium's push service, on 127.0.0.1, so that headless Chromium in a closed
// network subscribes for real (pushManager.subscribe() resolves with its own keys) and receives
// real pushes (it decrypts them itself and fires the service worker's push event).
//
// Chromium's Web Push rides on GCM, whose three addresses have command-line switches
// (google_apis/gcm/engine/gservices_switches.cc), all pointed here by `chromiumArgs`:
// - --gcm-checkin-url: the profile checks in once (a protobuf AndroidCheckinRequest); the answer
//   (AndroidCheckinResponse) gives it a device id and a security token.
// - --gcm-registration-url: each subscription is a form POST (app, X-subtype = the subscription's
//   app id, sender = the applicationServerKey) answered "token=<id>"; Chromium makes the
//   endpoint https://jmt17.google.com/fcm/send/<id> of it. Unsubscribing POSTs delete=true.
// - --gcm-mcs-endpoint: the connection messages arrive on: TLS, a version byte (41), then frames
//   of a tag byte, a varint length and a protobuf (google_apis/gcm/protocol/mcs.proto). The
//   browser sends LoginRequest (tag 2), we answer LoginResponse (3); a push is a
//   DataMessageStanza (8) carrying the encrypted body as it came from the application server,
//   with `content-encoding: aes128gcm` (components/gcm_driver/crypto/gcm_encryption_provider.cc).
//
// The HTTP side also plays the push service's public side (RFC 8030): POST /fcm/send/<id> is
// recorded, answered 201 and forwarded to the browser over the MCS connection. Only what the
// browser needs is implemented; anything else is a test failure, not a silent drop.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import tls from 'node:tls';

// ---- protobuf, the few wire types needed --------------------------------------------------------

function varint(value) {
  let n = BigInt(value);
  const out = [];
  do {
    let byte = Number(n & 0x7fn);
    n >>= 7n;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return Buffer.from(out);
}
const key = (field, wireType) => varint((field << 3) | wireType);
const pbVarint = (field, value) => Buffer.concat([key(field, 0), varint(value)]);
const pbBytes = (field, value) => {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
  return Buffer.concat([key(field, 2), varint(bytes.length), bytes]);
};
const pbFixed64 = (field, value) => {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(BigInt(value));
  return Buffer.concat([key(field, 1), bytes]);
};

// Reads a varint at `offset`: [value, next offset], or null when the buffer ends first.
function readVarint(buf, offset) {
  let value = 0n;
  let shift = 0n;
  for (let i = offset; i < buf.length; i++) {
    value |= BigInt(buf[i] & 0x7f) << shift;
    if (!(buf[i] & 0x80)) return [value, i + 1];
    shift += 7n;
  }
  return null;
}

// The length-delimited values of `field` in a message (strings, bytes, sub-messages).
function pbStrings(message, field) {
  const out = [];
  let i = 0;
  while (i < message.length) {
    const [tag, next] = readVarint(message, i);
    const [f, wireType] = [Number(tag >> 3n), Number(tag & 7n)];
    i = next;
    if (wireType === 0) i = readVarint(message, i)[1];
    else if (wireType === 1) i += 8;
    else if (wireType === 5) i += 4;
    else if (wireType === 2) {
      const [len, start] = readVarint(message, i);
      i = start + Number(len);
      if (f === field) out.push(message.subarray(start, i).toString('utf8'));
    } else throw new Error(`MCS: unexpected protobuf wire type ${wireType}`);
  }
  return out;
}

const MCS_VERSION = 41;
const TAG = { heartbeatPing: 0, heartbeatAck: 1, loginRequest: 2, loginResponse: 3, iqStanza: 7, dataMessage: 8 };
const frame = (tag, message) => Buffer.concat([Buffer.from([tag]), varint(message.length), message]);

// ---- the service ----------------------------------------------------------------------------------

// `tls`: {key, cert} paths for the MCS listener (the test stack's self-signed pair); Chromium is
// told to accept exactly that key (--ignore-certificate-errors-spki-list).
export async function startPushService({ tls: tlsFiles }) {
  const registrations = [];  // {token, appId, sender, category, device}
  const unregistrations = [];  // app ids
  const pushes = [];  // RFC 8030 requests: {token, headers, body}
  const problems = [];
  const waiters = new Set();
  const changed = () => waiters.forEach((w) => w());

  // Bounded wait until `predicate()` returns something.
  const until = (what, predicate, timeoutMs = 15000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const value = predicate();
        if (!value) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`push service: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });

  // --- MCS: each browser's connection, and the messages owed to it ---------------------------------
  // A browser (profile) is known by the device id its check-in got; it logs in with it.
  const connections = new Map();  // device id → the logged-in socket
  const sockets = new Set();
  const outbox = [];  // {token, device, persistentId, stanza, sentOn, acked}
  const send = (message) => {
    const socket = connections.get(message.device);
    if (!socket || message.acked) return;
    message.sentOn = socket;
    socket.write(frame(TAG.dataMessage, message.stanza));
  };

  const mcs = tls.createServer({ key: fs.readFileSync(tlsFiles.key), cert: fs.readFileSync(tlsFiles.cert) }, (socket) => {
    let buffer = Buffer.alloc(0);
    let versionSeen = false;
    sockets.add(socket);
    socket.on('error', () => {});  // the browser reconnects; the outbox resends
    socket.on('close', () => {
      sockets.delete(socket);
      for (const [device, s] of connections) if (s === socket) connections.delete(device);
    });
    socket.on('data', (data) => {
      buffer = Buffer.concat([buffer, data]);
      for (;;) {
        const start = versionSeen ? 0 : 1;
        if (buffer.length < start + 2) return;
        const size = readVarint(buffer, start + 1);
        if (!size || buffer.length < size[1] + Number(size[0])) return;
        if (!versionSeen && buffer[0] < MCS_VERSION) problems.push(`MCS: the browser speaks version ${buffer[0]}`);
        versionSeen = true;
        const tag = buffer[start];
        const message = buffer.subarray(size[1], size[1] + Number(size[0]));
        buffer = buffer.subarray(size[1] + Number(size[0]));
        onFrame(socket, tag, message);
      }
    });
  });

  function onFrame(socket, tag, message) {
    if (tag === TAG.loginRequest) {
      // Chromium resets its first connection when it learns the network type, so a message may go
      // out on a connection about to close. It lists what it received in its next login
      // (received_persistent_id); anything else not acknowledged is sent again.
      const [device] = pbStrings(message, 3);  // user: the device id, in decimal
      const received = new Set(pbStrings(message, 10));
      for (const m of outbox) if (received.has(m.persistentId)) m.acked = true;
      socket.write(
        Buffer.concat([
          Buffer.from([MCS_VERSION]),
          frame(TAG.loginResponse, Buffer.concat([pbBytes(1, 'streambed-test'), pbVarint(8, Date.now())])),
        ]),
      );
      connections.set(device, socket);
      outbox.filter((m) => m.device === device).forEach(send);
      changed();
    } else if (tag === TAG.iqStanza) {
      // The stream acknowledgement our immediate_ack asks for: what went out on this socket arrived.
      for (const m of outbox) if (m.sentOn === socket) m.acked = true;
      changed();
    } else if (tag === TAG.heartbeatPing) {
      socket.write(frame(TAG.heartbeatAck, Buffer.alloc(0)));
    } else if (tag !== TAG.heartbeatAck && tag !== TAG.dataMessage) {
      problems.push(`MCS: unexpected frame with tag ${tag}`);
    }
  }

  // Hands an encrypted Web Push body (RFC 8291 aes128gcm, as the application server sent it) to
  // the browser holding the subscription `token`.
  function forward(token, body) {
    const reg = registrations.find((r) => r.token === token);
    const persistentId = `0:${Date.now()}%${crypto.randomUUID()}`;
    const appData = (k, v) => pbBytes(7, Buffer.concat([pbBytes(1, k), pbBytes(2, v)]));
    const stanza = Buffer.concat([
      pbBytes(2, crypto.randomUUID()),  // id
      pbBytes(3, reg.sender),  // from: the subscription's applicationServerKey
      pbBytes(5, reg.category),  // category: the browser's, so that the subtype is trusted
      appData('subtype', reg.appId),  // which subscription (service worker registration)
      appData('content-encoding', 'aes128gcm'),
      pbBytes(9, persistentId),
      pbBytes(21, body),  // raw_data
      pbVarint(24, 1),  // immediate_ack
    ]);
    const message = { token, device: reg.device, persistentId, stanza, sentOn: null, acked: false };
    outbox.push(message);
    send(message);
  }

  // --- HTTP: check-in, registration, and the RFC 8030 push endpoint ---------------------------------
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const answer = (status, type, content) => {
        res.writeHead(status, { 'content-type': type });
        res.end(content);
      };
      if (req.method === 'POST' && req.url === '/checkin') {
        // stats_ok, settings_diff = false (no settings), android_id (a new device), security_token.
        const device = crypto.randomBytes(7).readUIntBE(0, 6) + 1;
        const reply = Buffer.concat([pbVarint(1, 1), pbVarint(9, 0), pbFixed64(7, device), pbFixed64(8, device * 7)]);
        return answer(200, 'application/x-protobuf', reply);
      }
      if (req.method === 'POST' && req.url === '/register') {
        const form = new URLSearchParams(body.toString('utf8'));
        if (form.get('delete') === 'true') {
          unregistrations.push(form.get('X-subtype'));
          changed();
          return answer(200, 'text/plain', `token=${form.get('X-subtype') ?? form.get('app')}`);
        }
        const token = crypto.randomBytes(24).toString('base64url');
        // Web Push subscriptions carry the app id in X-subtype; Chromium's own GCM use does not.
        if (form.get('X-subtype')) {
          const [appId, sender, category, device] = ['X-subtype', 'sender', 'app', 'device'].map((k) => form.get(k));
          registrations.push({ token, appId, sender, category, device });
          changed();
        }
        return answer(200, 'text/plain', `token=${token}`);
      }
      const push = /^\/fcm\/send\/([A-Za-z0-9_-]+)$/.exec(req.url);
      if (req.method === 'POST' && push) {
        const token = push[1];
        if (!registrations.some((r) => r.token === token)) return answer(404, 'text/plain', 'no such subscription');
        pushes.push({ token, headers: req.headers, body });
        forward(token, body);
        changed();
        return answer(201, 'text/plain', '');
      }
      problems.push(`HTTP: unexpected ${req.method} ${req.url}`);
      return answer(404, 'text/plain', 'not here');
    });
  });

  await Promise.all([
    new Promise((resolve) => server.listen(0, '127.0.0.1', resolve)),
    new Promise((resolve) => mcs.listen(0, '127.0.0.1', resolve)),
  ]);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const spki = crypto
    .createHash('sha256')
    .update(new crypto.X509Certificate(fs.readFileSync(tlsFiles.cert)).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64');

  return {
    chromiumArgs: [
      `--gcm-checkin-url=${origin}/checkin`,
      `--gcm-registration-url=${origin}/register`,
      `--gcm-mcs-endpoint=https://127.0.0.1:${mcs.address().port}`,
      `--ignore-certificate-errors-spki-list=${spki}`,
    ],
    registrations,
    unregistrations,
    pushes,
    problems,
    // The registration behind a browser endpoint (https://jmt17.google.com/fcm/send/<token>).
    registrationOf: (endpoint) => registrations.find((r) => endpoint.endsWith(`/fcm/send/${r.token}`)),
    // This service's own address for a browser endpoint: where the application server can reach it.
    localEndpoint: (endpoint) => `${origin}/fcm/send/${endpoint.slice(endpoint.lastIndexOf('/') + 1)}`,
    waitForPush: (token, timeoutMs) => until(`push for ${token}`, () => pushes.find((p) => p.token === token), timeoutMs),
    // Every push for `token` received by the browser (its MCS connection acknowledged them).
    waitForDelivery: (token, timeoutMs) =>
      until(`the browser's acknowledgement of the pushes for ${token}`, () => {
        const mine = outbox.filter((m) => m.token === token);
        return mine.length > 0 && mine.every((m) => m.acked);
      }, timeoutMs),
    waitForUnregistration: (appId, timeoutMs) =>
      until(`unregistration of ${appId}`, () => unregistrations.includes(appId), timeoutMs),
    close: () =>
      Promise.all([
        new Promise((resolve) => {
          server.closeAllConnections?.();
          server.close(resolve);
        }),
        new Promise((resolve) => {
          sockets.forEach((socket) => socket.destroy());
          mcs.close(resolve);
        }),
      ]),
  };
}
