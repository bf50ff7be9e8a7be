import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modulesLoaded } from '../helpers/loads.ts';

/*
 * LangChain's prompts and OpenAI's SDK are half the modules a looptool process would load,
 * and only llm brains use them: the roles load their llm brain on its first request
 * (brainVerb) and the client when a replica gets an llm brain (selectBrain). A static
 * import of either from a role, the run config or the loop would undo that unnoticed.
 */

const HEAVY = ['/node_modules/@langchain/', '/node_modules/openai/', '/node_modules/langsmith/'];

/** Which of the llm stack's packages `urls` include. */
const heavy = (urls: string[]) => HEAVY.filter((h) => urls.some((u) => u.includes(h)));

test('the commands, the role catalogue and every built-in role load without the llm stack', () => {
  const urls = modulesLoaded(`
    for (const c of ['run', 'resume', 'seed', 'sim', 'up', 'agent', 'ablate', 'train', 'eval']) await import('./runtime/cli/commands/' + c + '.ts');
    await import('./agents/registry.ts');
  `);
  assert.ok(urls.some((u) => u.endsWith('/agents/user/role.ts')) && urls.some((u) => u.endsWith('/runtime/run-config.ts')), 'the roles and the run config were loaded');
  assert.deepEqual(heavy(urls), []);
});

test('an llm brain loads LangChain and the OpenAI client (the check above sees them when they load)', () => {
  assert.deepEqual(heavy(modulesLoaded(`await import('./agents/user/llm.ts'); await import('./agents/common/llm/client.ts');`)).sort(), HEAVY.slice().sort());
});
