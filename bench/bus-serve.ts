// The serving side of the bus benchmark, in its own process as roles are in a real run:
// a raw NATS responder and the same echo behind a role host.
import { connect } from '@nats-io/transport-node';
import { LooptoolNode } from '../runtime/bus/node.ts';
import { echoRole } from './bus-echo.ts';

const [url, dir] = process.argv.slice(2);
const nc = await connect({ servers: url! });
nc.subscribe('bench.raw', { queue: 'raw', callback: (_e, m) => void m.respond(m.data) });
const node = await LooptoolNode.start({ run: 'bench', runDir: dir!, nc });
await node.serve(echoRole);
await nc.flush();
console.log('ready');
process.stdin.resume();
process.stdin.on('end', async () => {
  await node.stop();
  await nc.close();
  process.exit(0);
});
