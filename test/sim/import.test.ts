import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { importSpecs } from '../../agents/api-designer/import.ts';
import { simImport } from '../../agents/api-designer/sim.ts';
import { checkToolSpec, errorsOnly } from '../../protocols/toolspec-rules.ts';
import { readToolMeta } from '../../protocols/tool-meta.ts';
import { ImportOutput } from '../../protocols/roles/api-designer.ts';
import type { ParamSchema, ToolSpec } from '../../protocols/toolspec.ts';

const BFCL = '/work/shared/bfcl/v3';
const read = (f: string) => readFileSync(join(BFCL, f), 'utf8');

function allTypes(s: ParamSchema, out = new Set<string>()): Set<string> {
  out.add(s.type);
  if (s.items) allTypes(s.items, out);
  for (const p of Object.values(s.properties ?? {})) allTypes(p, out);
  return out;
}

function typesOf(t: ToolSpec): Set<string> {
  const out = new Set<string>();
  for (const p of Object.values(t.parameters.properties)) allTypes(p, out);
  return out;
}

test('BFCL function docs import into our subset: dict/float/tuple/any mapped, every spec passes the rules', () => {
  const files = readdirSync(BFCL).filter((f) => f.startsWith('BFCL_v3_') && f !== 'BFCL_v3_multi_turn_base.json');
  let total = 0;
  const seenTypes = new Set<string>();
  for (const f of files) {
    const r = importSpecs(read(f), 'bfcl', f);
    ImportOutput.parse(r);
    assert.ok(r.tools.length > 0, `${f}: nothing imported`);
    total += r.tools.length;
    for (const t of r.tools) {
      assert.deepEqual(errorsOnly(checkToolSpec(t)), [], `${f} ${t.name}`);
      for (const ty of typesOf(t)) seenTypes.add(ty);
      const meta = readToolMeta(t.meta);
      assert.equal(meta?.source, 'bfcl');
      assert.equal(meta?.origin, f);
    }
    assert.equal(new Set(r.tools.map((t) => t.name)).size, r.tools.length, `${f}: names are unique in the pool`);
    // each question's function list is kept as a set
    assert.ok(r.sets.length > 0 && r.sets.every((s) => s.every((n) => r.tools.some((t) => t.name === n))));
  }
  assert.ok(total > 2500, `${total} specs imported`);
  for (const bad of ['dict', 'float', 'tuple', 'any']) assert.ok(!seenTypes.has(bad), `${bad} left unmapped`);
  assert.ok(seenTypes.has('object') && seenTypes.has('number') && seenTypes.has('array'));

  // a known spec, checked field by field
  const simple = importSpecs(read('BFCL_v3_simple.json'), 'bfcl');
  const tri = simple.tools.find((t) => t.name === 'calculate_triangle_area')!;
  assert.deepEqual(tri.parameters.required, ['base', 'height']);
  assert.equal(tri.parameters.properties.base!.type, 'integer');
  assert.equal(simple.sets[0]![0], 'calculate_triangle_area');
  const floats = simple.tools.filter((t) => Object.values(t.parameters.properties).some((p) => p.type === 'number'));
  assert.ok(floats.length > 20, 'float parameters became numbers');
});

test('BFCL "any" and "tuple" are reported and mapped; question lines and bare docs both work', () => {
  const line = JSON.stringify({
    id: 'x_0',
    question: [[{ role: 'user', content: 'hi' }]],
    function: [
      {
        name: 'pkg.do_it',
        description: 'Does it.',
        parameters: {
          type: 'dict',
          properties: {
            value: { type: 'any', description: 'Anything' },
            pair: { type: 'tuple', description: 'Two numbers', items: { type: 'float' } },
            tags: { type: 'array', description: 'No items given' },
            opts: { type: 'dict', description: 'Options', properties: { level: { type: 'integer', description: 'L', enum: [1, 2] } }, required: ['level', 'ghost'] },
          },
          required: ['value'],
        },
      },
    ],
  });
  const r = importSpecs(line, 'auto', 'inline');
  assert.equal(r.tools.length, 1);
  const t = r.tools[0]!;
  assert.equal(t.parameters.properties.value!.type, 'string');
  assert.deepEqual(t.parameters.properties.pair, { type: 'array', description: 'Two numbers', items: { type: 'number' } });
  assert.deepEqual(t.parameters.properties.tags!.items, { type: 'string' });
  assert.deepEqual(t.parameters.properties.opts!.required, ['level']);
  const paths = r.issues.map((i) => i.path);
  assert.ok(paths.includes('0.function.0.parameters.properties.value.type'), JSON.stringify(r.issues));
  assert.ok(paths.includes('0.function.0.parameters.properties.tags.items'));
  assert.ok(paths.includes('0.function.0.parameters.properties.opts.required'));
  assert.equal(readToolMeta(t.meta)!.family, 'pkg', 'a namespace makes a family');

  const docs = readdirSync(join(BFCL, 'multi_turn_func_doc'));
  for (const f of docs) {
    const d = importSpecs(read(join('multi_turn_func_doc', f)), 'bfcl', f);
    assert.ok(d.tools.length >= 5, f);
    assert.deepEqual(d.issues, [], `${f}: ${JSON.stringify(d.issues.slice(0, 3))}`);
    assert.equal(d.sets.length, 1, 'bare docs of one file form one set');
    assert.ok(d.tools.some((t) => t.returns), `${f}: "response" became "returns"`);
  }
});

test('OpenAI tools JSON imports (array, {tools}, single entry), with bad entries reported by path', () => {
  const tools = [
    { type: 'function', function: { name: 'get_weather', description: 'Weather now.', parameters: { type: 'object', properties: { city: { type: 'string', description: 'City' } }, required: ['city'] } } },
    { type: 'function', function: { name: 'send_email', description: 'Send.', parameters: { type: 'object', properties: { to: { type: 'string', description: 'To', format: 'email' } }, required: ['to', 'subject'] } } },
    { type: 'function', function: { name: 'bad name!', description: 'x', parameters: { type: 'object', properties: {} } } },
    { nothing: true },
  ];
  const r = simImport({ format: 'openai', source: tools, origin: 'mine.json' });
  assert.deepEqual(r.tools.map((t) => t.name), ['get_weather', 'send_email']);
  assert.deepEqual(r.tools[1]!.parameters.required, ['to']);
  assert.ok(r.issues.some((i) => i.path === '1.function.parameters.required'));
  assert.ok(r.issues.some((i) => i.path.startsWith('2.function')));
  assert.ok(r.issues.some((i) => i.path === '3' && /no function doc/.test(i.message)));
  const meta = readToolMeta(r.tools[0]!.meta)!;
  assert.equal(meta.source, 'openai');
  assert.equal(meta.verb, 'get');
  assert.deepEqual(meta.params.map((p) => [p.path, p.kind, p.required]), [['city', 'city', true]]);
  assert.equal(readToolMeta(r.tools[1]!.meta)!.params[0]!.kind, 'email');
  const wrapped = importSpecs(JSON.stringify({ model: 'x', tools: tools.slice(0, 2) }), 'auto');
  assert.equal(wrapped.tools.length, 2);
  assert.deepEqual(wrapped.sets, [['get_weather', 'send_email']]);
  // the same name again with a different schema is reported, not silently merged
  const dup = importSpecs([tools[0], { ...tools[0], function: { ...tools[0]!.function!, description: 'Other.' } }], 'openai');
  assert.equal(dup.tools.length, 1);
  assert.ok(dup.issues.some((i) => /different schema/.test(i.message)));
  const junk = importSpecs('{not json\n[also not', 'auto');
  assert.equal(junk.tools.length, 0);
  assert.deepEqual(junk.issues.map((i) => i.path), ['line 1', 'line 2']);
});
