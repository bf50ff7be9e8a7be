// The serving side of the seed benchmark's llm part, in its own process as a role is
// in a real run (`looptool agent assistant`): the assistant role with its llm brain.
// Usage: seed-serve.ts <nats url> <run dir> <run> <slots> <run config JSON>
import { connect } from '@nats-io/transport-node';
import { LooptoolNode } from '../runtime/bus/node.ts';
import assistantRole from '../agents/assistant/role.ts';

const [url, dir, run, slots, config] = process.argv.slice(2);
const nc = await connect({ servers: url! });
const node = await LooptoolNode.start({ run: run!, runDir: dir!, nc, config: JSON.parse(config!) as Record<string, unknown> });
await node.serve(assistantRole, { concurrency: Number(slots) });
await nc.flush();
console.log('ready');
process.stdin.resume();
process.stdin.on('end', async () => {
  await node.stop();
  await nc.close();
  process.exit(0);
});
