import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkToolSet, checkToolSpec, hasErrors, nameWords, namingStyleOf, toStyle, type RuleIssue } from '../../protocols/toolspec-rules.ts';

const good = () => ({
  name: 'search_flights',
  description: 'Search flights.',
  parameters: {
    type: 'object',
    properties: {
      origin_city: { type: 'string', description: 'From' },
      cabin_class: { type: 'string', description: 'Cabin', enum: ['economy', 'business'] },
      dates: { type: 'array', description: 'Dates', items: { type: 'string', format: 'date' } },
      filters: { type: 'object', description: 'Filters', properties: { max_price: { type: 'number', description: 'Max' } }, required: [] },
    },
    required: ['origin_city'],
  },
  returns: { type: 'object', properties: { results: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' } } } } } },
});

/** Applies `mutate` to a fresh good spec and returns the issues. */
function broken(mutate: (s: any) => void, opts?: Parameters<typeof checkToolSpec>[1]): RuleIssue[] {
  const s = good();
  mutate(s);
  return checkToolSpec(s, opts);
}

function expectIssue(issues: RuleIssue[], code: string, path: string, severity: 'error' | 'warning' = 'error'): void {
  assert.ok(
    issues.some((i) => i.code === code && i.path === path && i.severity === severity),
    `expected ${severity} ${code} at ${path}, got ${JSON.stringify(issues)}`,
  );
}

test('a well-formed spec has no issues', () => {
  assert.deepEqual(checkToolSpec(good()), []);
});

test('each rule fails on its own broken case, with the path of the problem', () => {
  expectIssue(broken((s) => delete s.name), 'name', 'name');
  expectIssue(broken((s) => (s.name = '9 lives!')), 'name', 'name');
  expectIssue(broken((s) => (s.description = '  ')), 'description', 'description');
  expectIssue(broken((s) => (s.parameters = 'none')), 'parameters', 'parameters');
  expectIssue(broken((s) => (s.parameters.type = 'dict')), 'parameters', 'parameters.type');
  expectIssue(broken((s) => s.parameters.required.push('destination')), 'required_unknown', 'parameters.required.1');
  expectIssue(broken((s) => s.parameters.required.push('origin_city')), 'required_duplicate', 'parameters.required');
  expectIssue(broken((s) => (s.parameters.required = 'origin_city')), 'required_type', 'parameters.required');
  expectIssue(broken((s) => (s.parameters.properties = [])), 'properties_type', 'parameters.properties');
  expectIssue(broken((s) => (s.parameters.properties.cabin_class.enum = [])), 'enum_empty', 'parameters.properties.cabin_class.enum');
  expectIssue(broken((s) => (s.parameters.properties.cabin_class.enum = ['economy', 2])), 'enum_type', 'parameters.properties.cabin_class.enum.1');
  expectIssue(broken((s) => (s.parameters.properties.cabin_class.enum = ['economy', 'economy'])), 'enum_duplicate', 'parameters.properties.cabin_class.enum');
  expectIssue(broken((s) => (s.parameters.properties.dates.enum = ['a'])), 'enum_type', 'parameters.properties.dates.enum');
  expectIssue(broken((s) => delete s.parameters.properties.dates.items), 'array_items', 'parameters.properties.dates.items');
  expectIssue(broken((s) => (s.parameters.properties.origin_city.type = 'dict')), 'param_type', 'parameters.properties.origin_city.type');
  expectIssue(broken((s) => (s.parameters.properties.origin_city = 'string')), 'param_schema', 'parameters.properties.origin_city');
  expectIssue(broken((s) => (s.parameters.properties['bad name'] = { type: 'string', description: 'x' })), 'param_name', 'parameters.properties.bad name');
  expectIssue(broken((s) => (s.parameters.properties.filters.required = ['min_price'])), 'required_unknown', 'parameters.properties.filters.required.0');
  expectIssue(broken((s) => (s.parameters.properties.filters.properties.max_price.format = 'date')), 'format_type', 'parameters.properties.filters.properties.max_price.format');
  expectIssue(broken((s) => delete s.returns.properties.results.items), 'array_items', 'returns.properties.results.items');
  // warnings: usable, but worth knowing
  expectIssue(broken((s) => delete s.parameters.properties.origin_city.description), 'param_description', 'parameters.properties.origin_city.description', 'warning');
  expectIssue(broken((s) => (s.parameters.properties.dates.items.format = 'yyyy')), 'format_unknown', 'parameters.properties.dates.items.format', 'warning');
  expectIssue(broken((s) => (s.parameters.properties.cabin_class.default = 'first')), 'default_enum', 'parameters.properties.cabin_class.default', 'warning');
  expectIssue(broken((s) => (s.parameters.properties.filters.properties.max_price.default = 'cheap')), 'default_type', 'parameters.properties.filters.properties.max_price.default', 'warning');
  expectIssue(broken((s) => (s.parameters.properties.origin_city.default = 'Paris')), 'required_default', 'parameters.properties.origin_city.default', 'warning');
  expectIssue(broken((s) => (s.parameters.properties.origin_city.items = { type: 'string' })), 'items_on_scalar', 'parameters.properties.origin_city.items', 'warning');
  expectIssue(broken((s) => (s.parameters.properties.origin_city.properties = {})), 'properties_on_scalar', 'parameters.properties.origin_city.properties', 'warning');
  const deep = broken((s) => {
    let o = s.parameters.properties.filters;
    for (let i = 0; i < 5; i++) {
      o.properties.next = { type: 'object', description: 'd', properties: {}, required: [] };
      o = o.properties.next;
    }
  });
  assert.ok(deep.some((i) => i.code === 'too_deep'));
  assert.ok(!hasErrors(broken((s) => delete s.parameters.properties.origin_city.description)));
});

test('naming style: a declared style is enforced on every name; otherwise mixing is a warning', () => {
  expectIssue(broken((s) => (s.name = 'searchFlights')), 'name_style', 'name', 'warning');
  const declared = broken((s) => (s.name = 'searchFlights'), { naming: 'camel' });
  expectIssue(declared, 'name_style', 'parameters.properties.origin_city');
  expectIssue(declared, 'name_style', 'parameters.properties.filters.properties.max_price');
  expectIssue(broken((s) => (s.meta = { constraints: { naming: 'kebab' } })), 'name_style', 'name');
  assert.deepEqual(broken(() => {}, { naming: 'snake' }), []);
  assert.equal(namingStyleOf('search_flights'), 'snake');
  assert.equal(namingStyleOf('searchFlights'), 'camel');
  assert.equal(namingStyleOf('search-flights'), 'kebab');
  assert.equal(namingStyleOf('math.factorial'), 'single');
  assert.equal(namingStyleOf('ChaFod'), 'pascal');
  assert.deepEqual(nameWords('getHTTPStatus_code'), ['get', 'httpstatus', 'code']);
  assert.equal(toStyle('search_flights', 'camel'), 'searchFlights');
  assert.equal(toStyle('searchFlights', 'kebab'), 'search-flights');
});

test('a tool set may not use one name twice; issues carry the tool index', () => {
  const issues = checkToolSet([good(), { ...good(), description: 'Another.' }, { ...good(), name: 'x', description: '' }]);
  expectIssue(issues, 'duplicate_tool', '1.name');
  expectIssue(issues, 'description', '2.description');
  assert.deepEqual(checkToolSet([good(), { ...good(), name: 'book_flight' }]), []);
  expectIssue(checkToolSpec(null), 'schema', '(root)');
});
