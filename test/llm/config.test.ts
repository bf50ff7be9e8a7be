import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LooptoolError } from '../../protocols/errors.ts';
import { envVariables, resolveEndpoint, roleEnvName } from '../../agents/common/llm/config.ts';

const base = { LOOPTOOL_LLM_BASE_URL: 'http://127.0.0.1:8000/v1/', LOOPTOOL_LLM_MODEL: 'qwen3-8b' };

test('environment: shared variables, defaults, trailing slash removed', () => {
  const e = resolveEndpoint('planner', {}, { ...base, LOOPTOOL_LLM_API_KEY: 'sk-env-key-123456' });
  assert.equal(e.baseURL, 'http://127.0.0.1:8000/v1');
  assert.equal(e.model, 'qwen3-8b');
  assert.equal(e.apiKey.reveal(), 'sk-env-key-123456');
  assert.equal(e.temperature, undefined);
  assert.equal(e.concurrency, 16);
  assert.equal(e.maxRetries, 3);
  assert.equal(e.repairRetries, 2);
});

test('OPENAI_API_KEY is the last resort for the key; LOOPTOOL_LLM_API_KEY wins over it', () => {
  assert.equal(resolveEndpoint('user', {}, { ...base, OPENAI_API_KEY: 'sk-openai-1234567' }).apiKey.reveal(), 'sk-openai-1234567');
  assert.equal(
    resolveEndpoint('user', {}, { ...base, OPENAI_API_KEY: 'sk-openai-1234567', LOOPTOOL_LLM_API_KEY: 'sk-looptool-12345' }).apiKey.reveal(),
    'sk-looptool-12345',
  );
});

test('per-role environment overrides (api-designer → API_DESIGNER)', () => {
  assert.equal(roleEnvName('api-designer'), 'API_DESIGNER');
  const env = { ...base, LOOPTOOL_LLM_API_DESIGNER_MODEL: 'big-model', LOOPTOOL_LLM_API_DESIGNER_TEMPERATURE: '0.9', LOOPTOOL_LLM_CONCURRENCY: '8' };
  const d = resolveEndpoint('api-designer', {}, env);
  assert.equal(d.model, 'big-model');
  assert.equal(d.temperature, 0.9);
  assert.equal(d.concurrency, 8);
  assert.equal(resolveEndpoint('planner', {}, env).model, 'qwen3-8b');
});

test('precedence: config role > env role > config shared > env shared', () => {
  const env = { ...base, LOOPTOOL_LLM_JUDGE_MODEL: 'env-judge', LOOPTOOL_LLM_TIMEOUT_MS: '1000' };
  const cfg = { model: 'cfg-shared', timeoutMs: 2000, roles: { judge: { timeoutMs: 3000 }, user: { model: 'cfg-user' } } };
  const j = resolveEndpoint('judge', cfg, env);
  assert.equal(j.model, 'env-judge');
  assert.equal(j.timeoutMs, 3000);
  const u = resolveEndpoint('user', cfg, env);
  assert.equal(u.model, 'cfg-user');
  assert.equal(u.timeoutMs, 2000);
  assert.equal(resolveEndpoint('tool', cfg, env).model, 'cfg-shared');
});

test('bad values name the variable or config path, and never echo a key', () => {
  assert.throws(
    () => resolveEndpoint('planner', {}, { ...base, LOOPTOOL_LLM_PLANNER_TEMPERATURE: 'hot' }),
    (e: unknown) => e instanceof LooptoolError && e.reply.issues[0]!.path === 'LOOPTOOL_LLM_PLANNER_TEMPERATURE',
  );
  assert.throws(
    () => resolveEndpoint('planner', { roles: { planner: { concurrency: 0 } } }, base),
    (e: unknown) => e instanceof LooptoolError && e.reply.issues.some((i) => i.path === 'llm.roles.planner.concurrency'),
  );
  assert.throws(
    () => resolveEndpoint('planner', { baseURL: 'ftp://x' }, {}),
    (e: unknown) => e instanceof LooptoolError && e.reply.issues.some((i) => i.path === 'llm.baseURL'),
  );
  assert.throws(
    () => resolveEndpoint('planner', { modle: 'typo' }, base),
    (e: unknown) => e instanceof LooptoolError && /modle|unrecognized/i.test(e.message),
  );
  const key = 'sk-should-not-show-123456';
  try {
    resolveEndpoint('planner', { apiKey: 123 as unknown as string }, { ...base, LOOPTOOL_LLM_API_KEY: key, LOOPTOOL_LLM_MAX_RETRIES: '-1' });
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(e instanceof LooptoolError);
    assert.ok(!e.message.includes(key));
  }
});

test('missing endpoint or model: the message says which variables to set', () => {
  assert.throws(
    () => resolveEndpoint('user', {}, {}),
    (e: unknown) =>
      e instanceof LooptoolError && /LOOPTOOL_LLM_BASE_URL/.test(e.message) && /LOOPTOOL_LLM_USER_MODEL/.test(e.message) && e.code === 'invalid_input',
  );
});

test('envVariables lists role-specific names first', () => {
  const names = envVariables('judge');
  assert.equal(names[0], 'LOOPTOOL_LLM_JUDGE_BASE_URL');
  assert.ok(names.includes('LOOPTOOL_LLM_MODEL'));
  assert.ok(names.includes('OPENAI_API_KEY'));
});
