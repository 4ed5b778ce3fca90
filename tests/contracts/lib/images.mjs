// Test images made here, byte by byte, so no binary fixture lives in the repository: the upload
// contract tests (uploads.test.mjs) and the browser tests (tests/e2e) send them.

import zlib from 'node:zlib';

function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
// An opaque RGB PNG of w x h with a gradient (so it compresses like a picture, not like nothing).
export function png(w, h, { idat = true } = {}) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const parts = [Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr)];
  if (idat) {
    const raw = Buffer.alloc(h * (1 + 3 * w));
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) raw.set([(x * 255) / w, (y * 255) / h, 128], y * (1 + 3 * w) + 1 + 3 * x);
    }
    parts.push(chunk('IDAT', zlib.deflateSync(raw)));
  }
  parts.push(chunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(parts);
}
