// Node.js under the preload libraries: V8's own heap sits on mmap, but its worker threads, Buffers, zlib and
// OpenSSL allocate through malloc, from several threads at once. Prints digests of the work done.
'use strict';
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
const crypto = require('crypto');
const zlib = require('zlib');

function work(seed) {
  let digest = crypto.createHash('sha256');
  const buffers = [];
  for (let round = 0; round < 40; round++) {
    const objects = [];
    for (let i = 0; i < 5000; i++) objects.push({ i, text: 'w' + seed + ':' + i });
    // Buffers of 64 KiB to 2.5 MiB live a few rounds: malloc'd backing stores, large objects among them.
    buffers.push(Buffer.alloc(65536 * ((round * 7 + seed) % 40 + 1), round + seed));
    if (buffers.length > 4) buffers.shift();
    const packed = zlib.deflateSync(Buffer.from(JSON.stringify(objects.slice(0, 500))));
    digest.update(zlib.inflateSync(packed));
    digest.update(buffers[buffers.length - 1].subarray(0, 64));
  }
  return digest.digest('hex').slice(0, 16);
}

if (isMainThread) {
  const results = new Array(4);
  let done = 0;
  for (let seed = 0; seed < 4; seed++) {
    const worker = new Worker(__filename, { workerData: seed });
    worker.on('message', (hex) => {
      results[seed] = hex;
      if (++done === results.length) console.log('workers', results.join(' '), 'main', work(99));
    });
    worker.on('error', (error) => {
      console.error(error);
      process.exit(3);
    });
  }
} else {
  parentPort.postMessage(work(workerData));
}
