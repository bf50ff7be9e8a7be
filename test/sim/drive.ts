/**
 * Test helper: drives one simulated dialogue with plain function calls (no bus):
 * planner -> user -> assistant (two samples, a third on disagreement) -> tool -> ...
 * It mirrors the round-0 dialogue loop closely enough to test the sim brains.
 */
import type { ChatMessage } from '../../protocols/messages.ts';
import type { Plan } from '../../protocols/plan.ts';
import type { HiddenTruth } from '../../protocols/sample.ts';
import type { SimConfig } from '../../protocols/sim-config.ts';
import type { ToolSpec } from '../../protocols/toolspec.ts';
import { deriveRngSeed } from '../../protocols/rng.ts';
import { simPlan } from '../../agents/planner/sim.ts';
import { simTurn } from '../../agents/user/sim.ts';
import { simRespond, type RespondReply } from '../../agents/assistant/sim.ts';
import { simExecute } from '../../agents/tool/sim.ts';
import { labelOf } from '../../protocols/truth/reply.ts';
import { sameLabel } from '../../protocols/toolcalls/index.ts';

export type DrivenTurn = { index: number; truth?: HiddenTruth; agreed: boolean; samples: RespondReply[] };
export type Driven = { plan: Plan; messages: ChatMessage[]; turns: DrivenTurn[]; stopped: 'done' | 'limit' };

export function driveDialogue(seed: string, tools: ToolSpec[], cfg: SimConfig, opts: { maxMessages?: number; plan?: Plan } = {}): Driven {
  const plan = opts.plan ?? simPlan({ seed: deriveRngSeed(seed, 'plan'), tools }, cfg);
  const messages: ChatMessage[] = [];
  const turns: DrivenTurn[] = [];
  const max = opts.maxMessages ?? 80;
  let turn = 0;
  while (messages.length < max) {
    const last = messages[messages.length - 1];
    if (!last || (last.role === 'assistant' && last.tool_calls.length === 0)) {
      const u = simTurn({ seed: deriveRngSeed(seed, 'turn', turn++, 'user'), tools, messages, plan }, cfg);
      if (u.done) return { plan, messages, turns, stopped: 'done' };
      messages.push({ role: 'user', content: u.content });
    } else if (last.role === 'assistant') {
      for (const c of last.tool_calls) {
        const tool = tools.find((t) => t.name === c.name);
        const out = tool
          ? simExecute({ seed: deriveRngSeed(seed, 'turn', turn, 'tool', c.id ?? c.name), tool, call: c }, cfg)
          : { content: JSON.stringify({ error: `unknown function "${c.name}"` }), error: true };
        messages.push({ role: 'tool', tool_call_id: c.id, name: c.name, content: out.content });
      }
      turn++;
    } else {
      // self-consistency: two samples; a third when they disagree; no agreement -> keep the first
      const samples: RespondReply[] = [];
      for (let k = 0; k < 3; k++) {
        samples.push(simRespond({ seed: deriveRngSeed(seed, 'turn', turn, 'sample', k), tools, messages, hidden: { plan } }, cfg));
        const labels = samples.map(labelOf);
        const agree = labels.some((a, i) => labels.some((b, j) => j > i && sameLabel(a, b)));
        if (samples.length >= 2 && agree) break;
      }
      const labels = samples.map(labelOf);
      let pick = 0;
      let agreed = false;
      for (let i = 0; i < labels.length && !agreed; i++)
        for (let j = i + 1; j < labels.length; j++)
          if (sameLabel(labels[i]!, labels[j]!)) {
            pick = i;
            agreed = true;
            break;
          }
      const chosen = samples[pick]!;
      turns.push({ index: messages.length, truth: chosen.truth, agreed, samples });
      messages.push({ role: 'assistant', content: chosen.content, tool_calls: chosen.tool_calls });
      turn++;
    }
  }
  return { plan, messages, turns, stopped: 'limit' };
}
