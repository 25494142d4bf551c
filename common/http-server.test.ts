import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { listen } from './http-server.ts';

/** Send `bytes` on a new connection and return everything the server sent back before closing. */
function sendRaw(port: number, bytes: Buffer): Promise<{ answer: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ answer: Buffer.concat(chunks).toString('latin1'), error: error.code ?? error.message }),
    );
    socket.on('close', () => resolve({ answer: Buffer.concat(chunks).toString('latin1') }));
    socket.end(bytes);
  });
}

test('headers over the limit get a 431 the client can read, even while it is still sending', async (t) => {
  const server = await listen((_req, res) => res.end('ok'), '127.0.0.1', 0);
  t.after(() => server.close());
  // 1 MiB of header: the parser gives up after 16 KiB, long before the client has sent it all.
  const request = Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(1024 * 1024)}\r\n\r\n`);
  for (let round = 0; round < 5; round += 1) {
    const { answer, error } = await sendRaw(server.port, request);
    assert.match(answer, /^HTTP\/1\.1 431 /, `round ${round}: no 431 read (${error ?? 'closed'})`);
  }
});

test('a malformed request line gets a 400 and the connection is closed', async (t) => {
  const server = await listen((_req, res) => res.end('ok'), '127.0.0.1', 0);
  t.after(() => server.close());
  const { answer } = await sendRaw(server.port, Buffer.from('GET /\u0001 HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1'));
  assert.match(answer, /^HTTP\/1\.1 400 /);
  assert.match(answer, /Connection: close/i);
});

test('a well-formed request on the same server is answered as usual', async (t) => {
  const server = await listen((_req, res) => res.end('ok'), '127.0.0.1', 0);
  t.after(() => server.close());
  const { answer } = await sendRaw(server.port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
  assert.match(answer, /^HTTP\/1\.1 200 /);
  assert.match(answer, /\r\n\r\nok$/);
});

test('a burst of connections beyond Node’s default backlog (511) waits in the kernel’s queue instead of being dropped', async (t) => {
  // A server in a child process whose event loop is blocked (as a saturated one is) accepts
  // nothing: every connection the kernel completes for it waits in its listen queue. With Node's
  // default backlog the kernel completes 512 and drops the SYNs of the rest (the client would retry
  // after 1 s); 700 connections must all complete.
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `import { listen } from ${JSON.stringify(new URL('./http-server.ts', import.meta.url).href)};
       const server = await listen((_req, res) => res.end('ok'), '127.0.0.1', 0);
       console.log('port ' + server.port);
       process.stdin.once('data', () => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20000); process.exit(0); });`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  t.after(() => child.kill('SIGKILL'));
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /port (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening`)));
  });
  child.stdin.write('block\n');
  const sockets: Socket[] = [];
  t.after(() => {
    for (const socket of sockets) socket.destroy();
  });
  const BURST = 700;
  // The deadline is a bound on a condition (all connected), not a sleep: it passes as soon as the
  // kernel has completed every handshake, which takes milliseconds when the queue holds them.
  const connected = await new Promise<number>((resolve) => {
    let count = 0;
    const deadline = setTimeout(() => resolve(count), 5000);
    for (let i = 0; i < BURST; i += 1) {
      const socket = connect(port, '127.0.0.1', () => {
        count += 1;
        if (count === BURST) {
          clearTimeout(deadline);
          resolve(count);
        }
      });
      socket.on('error', () => {});
      sockets.push(socket);
    }
  });
  assert.equal(connected, BURST, `${connected} of ${BURST} connections completed while the server was busy`);
});
