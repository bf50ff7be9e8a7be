/**
 * A role that takes part in the loop, added from outside the tree: a curator that keeps a
 * round's expansions novel. Two expansions that ask the same thing (the same last user
 * message) with the same answer teach the policy one thing twice; it keeps the first and
 * drops the rest. It joins a run with config alone (docs/adding-a-role.md):
 *   { "roles": ["test/examples/curator-role.ts"], "loop": { "curators": ["novelty"] } }
 */
import { canonicalJson, curatorContract, defineRole, type CurateDecision, type Sample } from 'looptool';

export const noveltyContract = curatorContract('novelty', 'Drops expansions that repeat an earlier one: same request, same answer.');

/** What a sample teaches: its request and its answer. */
export function lessonOf(s: Sample): string {
  const request = s.context.findLast((m) => m.role === 'user')?.content ?? '';
  return `${request.trim().toLowerCase()}\u0000${canonicalJson(s.label)}`;
}

export default defineRole({
  contract: noveltyContract,
  concurrency: 4,
  verbs: {
    curate: {
      async handle({ samples }, ctx) {
        const first = new Map<string, string>();
        const decisions: CurateDecision[] = samples.map((s) => {
          const lesson = lessonOf(s);
          const seen = first.get(lesson);
          if (seen) return { id: s.id, keep: false, note: `repeats ${seen}` };
          first.set(lesson, s.id);
          return { id: s.id, keep: true, note: '' };
        });
        ctx.emit('metric', { curated: samples.length, dropped: decisions.filter((d) => !d.keep).length });
        return { decisions };
      },
    },
  },
});
