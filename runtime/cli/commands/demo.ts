import { defineCommand, EXIT } from '../command.ts';
import { LooptoolNode } from '../../node.ts';
import { newRunId, runDir } from '../../rundir.ts';
import { readTrace } from '../../trace/stream.ts';
import { formatTraceLine } from '../trace-format.ts';
import { bold } from '../style.ts';
import ping from '../../../examples/ping-pong/ping.ts';
import pong from '../../../examples/ping-pong/pong.ts';
import { pingContract } from '../../../examples/ping-pong/contracts.ts';

export default defineCommand({
  name: 'demo',
  summary: 'show the runtime on the embedded default: two roles rally over NATS and the trace is printed',
  usage: 'demo [--shots N]',
  async run(argv) {
    const shots = Number(argv[argv.indexOf('--shots') + 1]) || 3;
    const run = newRunId('demo');
    const node = await LooptoolNode.start({ run, runDir: runDir(run), bus: { name: 'looptool-demo' } });
    try {
      console.log(bold(`bus: ${node.url} (${node.embedded ? 'embedded nats-server' : 'cluster'}), run ${run}`));
      await node.serve(ping);
      await node.serve(pong, { replicas: 2 });
      const out = await node.client.call(pingContract, 'rally', { shots });
      console.log(bold(`ping.rally -> ${JSON.stringify(out)}\n`));
      await node.tracer.close();
      const events = [];
      for await (const e of readTrace(node.nc, { run })) events.push(e);
      for (const e of events.sort((a, b) => a.ts - b.ts)) console.log(formatTraceLine(e));
      console.log(bold(`\n${events.length} trace events; stopping.`));
    } finally {
      await node.stop();
    }
    return EXIT.ok;
  },
});
