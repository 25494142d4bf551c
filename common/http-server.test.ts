import assert from 'node:assert/strict';
import { connect } from 'node:net';
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
