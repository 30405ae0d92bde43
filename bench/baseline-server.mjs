#!/usr/bin/env node
// The baseline of `npm run bench`: a bare node:http server that answers every request
// with a fixed JSON body, so the harness can tell how much of a figure is the machine and
// how much is meet-api. The request path says what to answer:
//   /<status>/<size>   ->   <status> with a JSON body of exactly <size> bytes
// The request body, if any, is read to the end first (as the real server must), then
// ignored. Listens on 127.0.0.1, on the port given as first argument (0: any), and prints
// {"port": N} on stdout once listening. Stops on SIGTERM/SIGINT.
import http from 'node:http';

const port = Number(process.argv[2] ?? 0);
const answers = new Map();

/** A JSON object of exactly `size` bytes (at least the 2 of "{}"). */
function jsonBody(size) {
  const skeleton = '{"padding":""}';
  if (size < skeleton.length) return Buffer.from('{}'.padEnd(Math.max(size, 2), ' '));
  return Buffer.from(`{"padding":"${'x'.repeat(size - skeleton.length)}"}`);
}

function answerFor(url) {
  let answer = answers.get(url);
  if (answer === undefined) {
    const [, status, size] = url.split('/');
    const body = jsonBody(Number(size) || 2);
    answer = {
      status: Number(status) || 200,
      body,
      headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) },
    };
    answers.set(url, answer);
  }
  return answer;
}

const server = http.createServer((request, response) => {
  const respond = () => {
    const answer = answerFor(request.url ?? '/');
    response.writeHead(answer.status, answer.headers);
    response.end(answer.body);
  };
  request.on('data', () => {});
  request.on('end', respond);
});
server.keepAliveTimeout = 72_000; // as Fastify's default

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
const stop = () => server.close(() => process.exit(0)) && server.closeAllConnections();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
