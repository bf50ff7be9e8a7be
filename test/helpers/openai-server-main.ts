/**
 * Runs the OpenAI-protocol test server (a double for a remote LLM endpoint) in its
 * own process, so that a benchmark's client and server do not share one event loop.
 * Usage: node --import tsx test/helpers/openai-server-main.ts [--latency-ms 200] [--content TEXT]
 * Prints the base URL as its first stdout line; exits when stdin closes.
 */
import { parseArgs } from 'node:util';
import { startOpenAIServer } from './openai-server.ts';

const { values } = parseArgs({
  options: { 'latency-ms': { type: 'string', default: '200' }, content: { type: 'string', default: '{"answer":"ok"}' } },
});
const latencyMs = Number(values['latency-ms']);
if (!Number.isFinite(latencyMs) || latencyMs < 0) {
  console.error(`--latency-ms: expected a number >= 0, got ${values['latency-ms']}`);
  process.exit(2);
}
const content = values.content!;
const server = await startOpenAIServer({ latencyMs, record: false, handler: () => ({ content }) });
process.stdout.write(`${server.url}\n`);
// The parent owns our lifetime: when its end of stdin goes away, so do we.
process.stdin.resume();
process.stdin.on('close', () => void server.close().then(() => process.exit(0)));
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
