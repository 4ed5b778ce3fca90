// A client that stops reading, in a channel under load: the gateway cuts it off once its output
// budget is spent, and every other watcher still gets every message.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import { api, GATEWAY_PORT, userToken } from '../contracts/lib/streambed.mjs';
import { runScenario, until } from './lib/harness.mjs';

describe('fault: a client that stops reading', () => {
  it('is cut off without hurting the others', async () => {
    let closed = false;
    await runScenario('slow-reader', async ({ cid, senderIds, stats }) => {
      const ticket = (await api('GET', '/api/ws-auth/', { token: userToken(senderIds[0]), query: { cid } })).json.auth;
      const sock = net.connect(GATEWAY_PORT, '127.0.0.1');
      await new Promise((r) => sock.once('connect', r));
      sock.write(`GET /ws/${cid}/?auth=${ticket} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
      await new Promise((r) => sock.once('data', r));
      sock.pause();  // never reads again
      sock.on('close', () => { closed = true; });
      sock.on('error', () => { closed = true; });
      // ~5 KB messages: 550 of them (2.7 MB) are more than the kernel buffers (the gateway fixes
      // its send buffer at 256 KiB) plus the 1 MiB output budget.
      await until('2.7 MB of messages', () => stats.acked.size >= 550, 150000);
      // Reading now drains what the kernel held and then finds the connection cut.
      sock.resume();
      sock.on('data', () => {});
      await until('the gateway to cut the slow reader', () => closed, 15000);
    }, { senders: 4, textBytes: 4900, gapMs: 5 });
    assert.ok(closed, 'the slow socket was closed by the gateway');
  });
});
