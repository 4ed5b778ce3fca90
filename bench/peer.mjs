// The peer of scripts/bench: the broadcast server a team writes itself with the npm `ws` package
// (the usual do-it-yourself choice). Every text frame a client sends goes to every open client.
//   node bench/peer.mjs <port>      prints "LISTENING <port>" once it accepts connections
import { createRequire } from 'node:module';

const require = createRequire(new URL('../tests/package.json', import.meta.url));
const { WebSocketServer, WebSocket } = require('ws');

const port = Number(process.argv[2] ?? 0);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, clientTracking: true });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    for (const client of wss.clients) {
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    }
  });
  ws.on('error', () => {});
});
wss.on('listening', () => console.log(`LISTENING ${wss.address().port}`));
process.on('SIGTERM', () => process.exit(0));
// The harness holds our stdin: when it goes away, so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
