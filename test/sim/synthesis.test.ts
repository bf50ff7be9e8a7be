import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allIntents, CONSTRAINT_LEVELS, DOMAINS, parseParam } from '../../agents/api-designer/trees.ts';
import { buildToolSpec, sampleConstraintPath, synthesizeTool } from '../../agents/api-designer/synth.ts';
import { designToolSet } from '../../agents/api-designer/design.ts';
import { simDesign, simTaxonomy } from '../../agents/api-designer/sim.ts';
import { rng } from '../../protocols/rng.ts';
import { checkToolSet, checkToolSpec, namingStyleOf } from '../../protocols/toolspec-rules.ts';
import { readToolMeta } from '../../protocols/tool-meta.ts';
import { ToolSpec } from '../../protocols/toolspec.ts';
import { DesignOutput } from '../../protocols/roles/api-designer.ts';
import { LooptoolError } from '../../protocols/errors.ts';
import { SimConfig } from '../../protocols/sim-config.ts';
import { getPath } from '../../protocols/truth/reply.ts';

const cfg = SimConfig.parse({});

test('the context tree is big and realistic enough: >= 12 domains, >= 150 intents, siblings in every sub-domain', () => {
  assert.ok(DOMAINS.length >= 12, `${DOMAINS.length} domains`);
  const intents = allIntents();
  assert.ok(intents.length >= 150, `${intents.length} intents`);
  for (const d of DOMAINS) for (const s of d.subdomains) assert.ok(s.intents.length >= 2, `${d.id}/${s.id} has one intent: no near-duplicates possible`);
  const ids = DOMAINS.map((d) => d.id);
  for (const want of ['travel', 'finance', 'health', 'ecommerce', 'weather', 'calendar', 'messaging', 'smart_home', 'entertainment', 'education', 'logistics', 'hr', 'real_estate', 'sports'])
    assert.ok(ids.includes(want), `domain ${want}`);
  const flights = DOMAINS.find((d) => d.id === 'travel')!.subdomains.find((s) => s.id === 'flights')!;
  assert.ok(flights.intents.some((i) => i.id === 'search_flights'));
  const tax = simTaxonomy();
  assert.equal(tax.domains.length, DOMAINS.length);
  assert.deepEqual(tax.constraintLevels.map((l) => l.level), ['naming', 'paramCount', 'paramTypes', 'output', 'description']);
});

test('the compact parameter syntax parses and rejects what it cannot understand', () => {
  assert.deepEqual(parseParam('cabin_class:enum(economy,business)!|in {v} class'), {
    name: 'cabin_class', kind: 'enum', options: ['economy', 'business'], array: false, required: true, phrases: ['in {v} class'],
  });
  const arr = parseParam('attendees:email[]|with {v};inviting {v}');
  assert.equal(arr.array, true);
  assert.equal(arr.required, false);
  assert.deepEqual(arr.phrases, ['with {v}', 'inviting {v}']);
  assert.throws(() => parseParam('x:no_such_kind'), /unknown value kind "no_such_kind"/);
  assert.throws(() => parseParam('BadName:city'), /snake_case/);
  assert.throws(() => parseParam('x:enum()'), /no options/);
});

test('every synthesized spec passes every rule check, over all intents and many seeds', () => {
  const seen = { naming: new Set<string>(), paramCount: new Set<string>(), paramTypes: new Set<string>(), output: new Set<string>(), description: new Set<string>() };
  let n = 0;
  for (const intent of allIntents()) {
    for (let s = 0; s < 12; s++) {
      const spec = synthesizeTool(intent, rng(`synth-${s}`, intent.id));
      assert.ok(spec, `${intent.id} seed ${s}: no constraint path fits`);
      n++;
      const issues = checkToolSpec(spec);
      assert.deepEqual(issues, [], `${spec.name}: ${JSON.stringify(issues)}`);
      ToolSpec.parse(spec);
      const meta = readToolMeta(spec.meta);
      assert.ok(meta, `${spec.name}: meta does not parse`);
      for (const [k, v] of Object.entries(meta.constraints ?? {})) seen[k as keyof typeof seen].add(v);
      // every meta parameter points at a real argument, and every argument is described by one
      for (const p of meta.params) {
        const parts = p.path.split('.');
        let props = spec.parameters.properties;
        for (const part of parts.slice(0, -1)) props = props[part]!.properties!;
        assert.ok(props[parts[parts.length - 1]!], `${spec.name}: meta path ${p.path} is not an argument`);
      }
      const leaves = Object.entries(spec.parameters.properties).flatMap(([k, v]) => (v.type === 'object' ? Object.keys(v.properties ?? {}).map((c) => `${k}.${c}`) : [k]));
      assert.deepEqual(leaves.sort(), meta.params.map((p) => p.path).sort(), spec.name);
    }
  }
  assert.ok(n >= 150 * 12);
  // every option of every level of the constraint tree is actually reached
  for (const level of CONSTRAINT_LEVELS)
    for (const o of level.options) assert.ok(seen[level.level].has(o.id), `constraint ${level.level}=${o.id} never sampled`);
});

test('constraint choices shape the spec: naming, counts, types, output, descriptions', () => {
  const search = allIntents().find((i) => i.id === 'search_flights')!;
  const r = rng('shape');
  const camel = buildToolSpec(search, { naming: 'camel', paramCount: 'many', paramTypes: 'enum', output: 'paged', description: 'detailed' }, r);
  assert.equal(camel.name, 'searchFlights');
  assert.ok(Object.keys(camel.parameters.properties).length >= 4);
  assert.ok(camel.parameters.properties.departureDate, 'camelCase parameter names');
  assert.deepEqual(camel.parameters.properties.cabinClass!.enum, ['economy', 'premium_economy', 'business', 'first']);
  assert.deepEqual(Object.keys(camel.returns!.properties!).sort(), ['items', 'page', 'total']);
  assert.match(camel.description, /Returns a list of flight records/);
  const kebab = buildToolSpec(search, { naming: 'kebab', paramCount: 'few', paramTypes: 'simple', output: 'envelope', description: 'concise' }, r);
  assert.equal(kebab.name, 'search-flights');
  assert.ok(Object.keys(kebab.parameters.properties).length <= 3);
  for (const s of Object.values(kebab.parameters.properties)) {
    assert.equal(s.enum, undefined, 'simple types: no enum');
    assert.equal(s.format, undefined, 'simple types: no format');
  }
  assert.deepEqual(Object.keys(kebab.returns!.properties!).sort(), ['data', 'status']);
  const nested = buildToolSpec(search, { naming: 'snake', paramCount: 'many', paramTypes: 'nested', output: 'bare', description: 'imperative' }, r);
  assert.equal(nested.parameters.properties.filters?.type, 'object');
  assert.ok(Object.keys(nested.parameters.properties.filters!.properties!).length >= 2);
  assert.match(nested.description, /^Use this tool to/);
  // zero parameters only for intents that need none
  const balance = allIntents().find((i) => i.id === 'get_account_balance')!;
  assert.ok(sampleConstraintPath(balance, rng('z'), { paramCount: 'zero' }));
  assert.equal(sampleConstraintPath(search, rng('z'), { paramCount: 'zero' }), undefined);
  assert.equal(sampleConstraintPath(search, rng('z'), { output: 'paged', paramTypes: 'array' }), undefined, 'search_flights has no list parameter');
});

test('designed tool sets pass the set rules, are deterministic, and hold near-duplicates when asked', () => {
  let similarSets = 0;
  for (let s = 0; s < 150; s++) {
    const tools = designToolSet({ seed: `set-${s}` }, cfg);
    assert.equal(tools.length, cfg.designer.toolsPerSet);
    assert.deepEqual(checkToolSet(tools).filter((i) => i.severity === 'error'), []);
    assert.equal(new Set(tools.map((t) => t.name)).size, tools.length);
    const styles = new Set(tools.map((t) => namingStyleOf(t.name)).filter((x) => x !== 'single'));
    assert.ok(styles.size <= 1, `one naming style per set: ${[...styles]}`);
    const families = tools.map((t) => readToolMeta(t.meta)!.family);
    if (new Set(families).size < families.length) similarSets++;
    DesignOutput.parse({ tools });
  }
  assert.ok(similarSets > 40 && similarSets < 140, `${similarSets}/150 sets with near-duplicates (similarRate ${cfg.designer.similarRate})`);
  assert.deepEqual(designToolSet({ seed: 'same' }, cfg), designToolSet({ seed: 'same' }, cfg));
  assert.notDeepEqual(designToolSet({ seed: 'same' }, cfg), designToolSet({ seed: 'other' }, cfg));
  const sim = designToolSet({ seed: 'x', domain: 'travel', subdomain: 'flights', similar: true, count: 5 }, cfg);
  assert.ok(sim.filter((t) => readToolMeta(t.meta)!.family === 'travel/flights').length >= 4);
  const apart = designToolSet({ seed: 'x', similar: false, count: 6 }, cfg);
  const fams = apart.map((t) => readToolMeta(t.meta)!.family);
  assert.equal(new Set(fams).size, fams.length, 'similar:false gives no near-duplicates');
  const camel = simDesign({ seed: 'c', count: 8, constraints: { naming: 'camel', paramTypes: 'date' } }, cfg).tools;
  for (const t of camel) {
    assert.ok(['camel', 'single'].includes(namingStyleOf(t.name)), t.name);
    const leaves = Object.values(t.parameters.properties).flatMap((p) => (p.type === 'object' ? Object.values(p.properties ?? {}) : [p]));
    assert.ok(leaves.some((p) => p.format === 'date' || p.format === 'time' || p.format === 'date-time'), `${t.name} has a date`);
  }
});

test('bad design requests fail with errors that name the field', () => {
  const err = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof LooptoolError);
      return e;
    }
    assert.fail('expected an error');
  };
  const e1 = err(() => designToolSet({ seed: 's', domain: 'astrology' }, cfg));
  assert.equal(e1.reply.issues[0]!.path, 'domain');
  assert.match(e1.reply.issues[0]!.message, /travel/);
  const e2 = err(() => designToolSet({ seed: 's', domain: 'travel', subdomain: 'rockets' }, cfg));
  assert.equal(e2.reply.issues[0]!.path, 'subdomain');
});

test('result shapes declared in meta match the returns schema (list and record paths exist)', () => {
  for (let s = 0; s < 60; s++) {
    for (const t of designToolSet({ seed: `ret-${s}` }, cfg)) {
      const meta = readToolMeta(t.meta)!;
      const ret = meta.returns!;
      // walk the schema along the declared path
      const path = ret.list ?? ret.record ?? '';
      let s2 = t.returns!;
      for (const part of path.split('.').filter(Boolean)) s2 = s2.properties![part]!;
      if (ret.list !== undefined) {
        assert.equal(s2.type, 'array', `${t.name}: ${path} is a list`);
        s2 = s2.items!;
      }
      assert.deepEqual(Object.keys(s2.properties!).sort(), Object.keys(ret.fields).sort(), t.name);
      assert.equal(getPath({ a: [{ b: 1 }] }, 'a.0.b'), 1);
    }
  }
});
