import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkEntry, checkResultLine, loadDataset, standardize, type Verdict } from '../../protocols/bfcl/index.ts';
import { check, dataset, fc } from './data.ts';

/**
 * Hand-written perturbations of real BFCL v3 entries, at least one per checker rule
 * (shared/bfcl/v3/README.md §2-§3), each with the error type the leaderboard gives.
 */

function expectValid(v: Verdict, what: string): void {
  assert.equal(v.valid, true, `${what}: expected valid, got ${v.error_type} (${v.error})`);
  assert.equal(v.error_type, null);
}

function expectError(v: Verdict, errorType: string, what: string): void {
  assert.equal(v.valid, false, `${what}: expected ${errorType}, got valid`);
  assert.equal(v.error_type, errorType, `${what}: ${v.error}`);
  assert.ok(v.error && v.error.length > 0, 'an invalid verdict explains itself');
}

const TRI = 'calculate_triangle_area';

describe('decoding (§2)', () => {
  it('prompting mode: text is a decoder failure; the v3 quirks are reproduced', () => {
    expectError(check('simple', 'simple_0', 'The area is 25 square units.'), 'ast_decoder:decoder_failed', 'prose');
    expectError(check('simple', 'simple_0', ''), 'ast_decoder:decoder_failed', 'empty');
    expectValid(check('simple', 'simple_0', `[${TRI}(base=10, height=5)]`), 'plain');
    expectValid(check('simple', 'simple_0', `${TRI}(base=10, height=5)`), 'no brackets');
    expectValid(check('simple', 'simple_0', "```\n[" + TRI + '(base=10, height=5)]\n```'), 'code fence');
    expectValid(check('simple', 'simple_0', `'[${TRI}(base=10, height=5)]'`), "strip('[]\\'')");
    expectValid(check('simple', 'simple_0', `[${TRI}(10, 5, base=10, height=5)]`), 'positional arguments dropped');
    expectValid(check('simple', 'simple_0', `[${TRI}(base=2*5, height=10//2)]`), 'binary operations evaluated');
    expectValid(check('simple', 'simple_0', `[${TRI}(base=10, height=5, unit=units)]`), 'bare name -> "units"');
    expectError(check('simple', 'simple_0', `[${TRI}(base=+10, height=5)]`), 'value_error:others', 'unary plus negates');
    expectError(check('simple', 'simple_0', `[${TRI}(base=10, height=5, unit=lambda: 1)]`), 'ast_decoder:decoder_failed', 'lambda');
    // strip("[]'") leaves a leading space: Python's parser rejects the indent
    expectError(check('simple', 'simple_0', `[ ${TRI}(base=10, height=5)]`), 'ast_decoder:decoder_failed', 'indent');
  });

  it('FC mode: [{name: "<json>"}]; text and bad JSON fail; non-dict arguments fail the format gate', () => {
    expectValid(check('simple', 'simple_0', fc([TRI, '{"base": 10, "height": 5}']), 'fc'), 'fc plain');
    expectError(check('simple', 'simple_0', '"The area is 25"', 'fc'), 'ast_decoder:decoder_failed', 'fc text');
    expectError(check('simple', 'simple_0', fc([TRI, '{"base": 10'])), 'ast_decoder:decoder_failed', 'prompt mode given a list');
    expectError(check('simple', 'simple_0', fc([TRI, '{"base": 10']), 'fc'), 'ast_decoder:decoder_failed', 'bad JSON');
    expectError(check('simple', 'simple_0', fc([TRI, 'null']), 'fc'), 'ast_decoder:decoder_wrong_output_format', 'null arguments');
    expectError(check('simple', 'simple_0', fc([TRI, '[10, 5]']), 'fc'), 'ast_decoder:decoder_wrong_output_format', 'list arguments');
    expectError(check('simple', 'simple_0', `[{"${TRI}": {"base": 10, "height": 5}}]`, 'fc'), 'ast_decoder:decoder_failed', 'object, not a JSON string');
  });
});

describe('names (§3.2.2, §3.7)', () => {
  it('exact, case-sensitive; "." becomes "_" only for FC models', () => {
    expectError(check('simple', 'simple_0', '[triangle_area(base=10, height=5)]'), 'simple_function_checker:wrong_func_name', 'other name');
    expectError(check('simple', 'simple_0', '[Calculate_Triangle_Area(base=10, height=5)]'), 'simple_function_checker:wrong_func_name', 'case');
    expectValid(check('simple', 'simple_1', '[math.factorial(number=5)]'), 'dotted, prompt');
    expectError(check('simple', 'simple_1', '[math_factorial(number=5)]'), 'simple_function_checker:wrong_func_name', 'underscored, prompt');
    expectValid(check('simple', 'simple_1', fc(['math_factorial', '{"number": 5}']), 'fc'), 'underscored, fc');
    expectError(check('simple', 'simple_1', fc(['math.factorial', '{"number": 5}']), 'fc'), 'simple_function_checker:wrong_func_name', 'dotted, fc');
  });

  it('multiple: the doc is the ground truth\'s; another function or count fails', () => {
    expectValid(check('multiple', 'multiple_0', '[triangle_properties.get(side1=5, side2=4, side3=3)]'), 'right function');
    expectError(
      check('multiple', 'multiple_0', '[circle_properties.get(radius=3)]'),
      'simple_function_checker:wrong_func_name',
      'a sibling function',
    );
    expectError(
      check('multiple', 'multiple_0', '[triangle_properties.get(side1=5, side2=4, side3=3), circle_properties.get(radius=3)]'),
      'multiple_function_checker:wrong_count',
      'two calls',
    );
    expectError(check('simple', 'simple_0', `[${TRI}(base=10, height=5), ${TRI}(base=10, height=5)]`), 'simple_function_checker:wrong_count', 'simple, two calls');
    expectError(check('simple', 'simple_0', '()'), 'simple_function_checker:wrong_count', 'simple, no call');
  });
});

describe('parameters (§3.2.3-5)', () => {
  it('required comes from the doc; unknown and undocumented-in-answer parameters are unexpected', () => {
    expectError(check('simple', 'simple_0', `[${TRI}(height=5)]`), 'simple_function_checker:missing_required', 'no base');
    expectError(check('simple', 'simple_0', `[${TRI}(base=10, height=5, color='red')]`), 'simple_function_checker:unexpected_param', 'unknown');
    const tts = "[tts_tool(content='If you could have dinner with any historical figure, who would you choose and why?, also genart a photo of that figure'%s)]";
    expectValid(check('live_multiple', 'live_multiple_242-107-3', tts.replace('%s', '')), 'documented, answered');
    expectError(
      check('live_multiple', 'live_multiple_242-107-3', tts.replace('%s', ", speaker='female'")),
      'simple_function_checker:unexpected_param',
      'documented but absent from the ground truth',
    );
  });

  it('optional through "": leaving out needs "" among the alternatives', () => {
    expectValid(check('simple', 'simple_0', `[${TRI}(base=10, height=5)]`), 'unit left out');
    expectValid(check('simple', 'simple_0', `[${TRI}(base=10, height=5, unit='')]`), '"" for an optional string');
    expectValid(check('simple', 'simple_0', `[${TRI}(base=10, height=5, unit='-')]`), '"-" normalises to ""');
    expectValid(check('simple', 'simple_7', "[calculate_circumference(radius=4, unit='inches')]"), 'given');
    expectError(check('simple', 'simple_7', '[calculate_circumference(radius=4)]'), 'simple_function_checker:missing_optional', 'no "" for unit');
  });
});

describe('types (§3.3)', () => {
  it('exact types: bool is not int, str is not int, float is not int', () => {
    expectError(check('simple', 'simple_0', `[${TRI}(base=10.0, height=5)]`), 'type_error:simple', 'float for int');
    expectError(check('simple', 'simple_0', `[${TRI}(base=True, height=5)]`), 'type_error:simple', 'bool for int');
    expectError(check('simple', 'simple_0', `[${TRI}(base='10', height=5)]`), 'type_error:simple', 'str for int');
    expectError(check('simple', 'simple_0', fc([TRI, '{"base": 10.0, "height": 5}']), 'fc'), 'type_error:simple', 'JSON 10.0 is a float');
    expectError(
      check('multiple', 'multiple_0', '[triangle_properties.get(side1=5, side2=4, side3=3, get_area=1)]'),
      'type_error:simple',
      'int for bool',
    );
  });

  it('int -> float at the top level only', () => {
    expectValid(check('simple', 'simple_57', '[calculate_cell_density(optical_density=0.6, dilution=5, calibration_factor=1000000000)]'), 'int for float');
    expectValid(check('simple', 'simple_13', "[calculate_area_under_curve(function='x**2', interval=[1.0, 3.0])]"), 'floats in array<float>');
    expectError(check('simple', 'simple_13', "[calculate_area_under_curve(function='x**2', interval=[1, 3])]"), 'type_error:nested', 'ints in array<float>');
    expectError(check('simple', 'simple_13', "[calculate_area_under_curve(function='x**2', interval=(1.0, 3.0))]"), 'type_error:simple', 'tuple for array');
  });

  it('tuple parameters accept tuples and lists; None passes where the answer lists null', () => {
    const t = "[calculate_distance(coord1=%s, coord2=[34.0522, -118.2437], unit='miles')]";
    expectValid(check('simple', 'simple_83', t.replace('%s', '(33.4484, -112.074)')), 'tuple');
    expectValid(check('simple', 'simple_83', t.replace('%s', '[33.4484, -112.074]')), 'list');
    const aws = "[aws.lexv2_models.list_exports(botId='my-bot-id', botVersion='v2', filterName=None)]";
    expectValid(check('live_simple', 'live_simple_30-8-0', aws), 'None');
  });

  it('a variable in the answer ("dontcare" for an int) is compared exactly', () => {
    const hotel = "[Hotels_4_SearchHotel(location='Kuala Lumpur, Malaysia', number_of_rooms=%s)]";
    expectValid(check('live_multiple', 'live_multiple_306-131-5', hotel.replace('%s', "'dontcare'")), 'the variable');
    expectError(check('live_multiple', 'live_multiple_306-131-5', hotel.replace('%s', "'DontCare'")), 'value_error:others', 'no normalisation');
    expectError(check('live_multiple', 'live_multiple_306-131-5', hotel.replace('%s', '2')), 'value_error:others', 'an int is not the variable');
  });
});

describe('values (§3.4-3.6)', () => {
  it('strings: drop " ,./-_*^", lower-case, quotes unified; other differences fail', () => {
    const r = "[route.estimate_time(start_location='%s', end_location='Los Angeles', stops=['Monterey', 'Santa Barbara'])]";
    expectValid(check('simple', 'simple_37', r.replace('%s', 'san francisco')), 'case');
    expectValid(check('simple', 'simple_37', r.replace('%s', 'San-Francisco')), 'hyphen');
    expectError(check('simple', 'simple_37', r.replace('%s', 'San Francisco, CA')), 'value_error:string', 'more text');
    expectError(check('simple', 'simple_37', r.replace('%s', 'San\\tFrancisco')), 'value_error:string', 'a tab is not removed');
    assert.equal(standardize('äbc'), standardize('ÄBC'));
    assert.equal(standardize("It's A_B, c.d/e-f*g^h"), 'it"sabcdefgh');
  });

  it('others: numbers by value', () => {
    expectError(check('simple', 'simple_0', `[${TRI}(base=11, height=5)]`), 'value_error:others', 'wrong int');
    expectError(check('simple', 'simple_57', '[calculate_cell_density(optical_density=1, dilution=5)]'), 'value_error:others', 'int converted, wrong');
  });

  it('lists: ordered, top-level strings normalised; "" accepts []', () => {
    const r = "[route.estimate_time(start_location='San Francisco', end_location='Los Angeles', stops=%s)]";
    expectValid(check('simple', 'simple_37', r.replace('%s', "['Monterey', 'Santa Barbara']")), 'second alternative');
    expectValid(check('simple', 'simple_37', r.replace('%s', "['santa barbara', 'MONTEREY']")), 'normalised items');
    expectError(check('simple', 'simple_37', r.replace('%s', "['Santa Barbara']")), 'value_error:list/tuple', 'missing item');
    expectValid(check('simple', 'simple_335', "[find_card_in_deck(rank='Queen', suit='Hearts', deck=[])]"), '[] for [""]');
  });

  it('dicts: keys exact, values normalised, missing keys need ""', () => {
    const d = "[db_fetch_records(database_name='StudentDB', table_name='students', conditions=%s)]";
    expectValid(check('simple', 'simple_89', d.replace('%s', "{'department': 'Science', 'school': 'Bluebird HS'}")), 'exact');
    expectValid(check('simple', 'simple_89', d.replace('%s', "{'school': 'bluebird high school', 'department': 'science'}")), 'order, normalised');
    expectError(check('simple', 'simple_89', d.replace('%s', "{'department': 'Science'}")), 'value_error:dict_key', 'missing key');
    expectError(check('simple', 'simple_89', d.replace('%s', "{'department': 'Science', 'school': 'Bluebird HS', 'city': 'X'}")), 'value_error:dict_key', 'extra key');
    expectError(check('simple', 'simple_89', d.replace('%s', "{'department': 'Arts', 'school': 'Bluebird HS'}")), 'value_error:dict_value', 'wrong value');
  });

  it('lists of dicts: same length, dicts in order', () => {
    const q = "[database.query(table='user', conditions=%s)]";
    const a = "{'field': 'age', 'operation': '>', 'value': '25'}";
    const b = "{'field': 'job', 'operation': '=', 'value': 'engineer'}";
    expectValid(check('simple', 'simple_96', q.replace('%s', `[${a}, ${b}]`)), 'exact');
    expectError(check('simple', 'simple_96', q.replace('%s', `[${a}]`)), 'value_error:list_dict_count', 'one dict');
    expectError(check('simple', 'simple_96', q.replace('%s', `[${b}, ${a}]`)), 'value_error:dict_value', 'order');
    expectError(
      check('simple', 'simple_335', "[find_card_in_deck(rank='Queen', suit='Hearts', deck=[{'rank': 'Ace', 'suit': 'Spades'}])]"),
      'value_error:list_dict_count',
      'a deck where only "" is accepted',
    );
  });
});

describe('parallel (§3.7)', () => {
  const p0 = (a: string, b: string) => `[${a}, ${b}]`;
  const tay = "spotify.play(artist='Taylor Swift', duration=20)";
  const mar = "spotify.play(artist='Maroon 5', duration=15)";
  it('order-free, counted, each call matched once', () => {
    expectValid(check('parallel', 'parallel_0', p0(tay, mar)), 'in order');
    expectValid(check('parallel', 'parallel_0', p0(mar, tay)), 'reversed');
    expectError(check('parallel', 'parallel_0', `[${tay}]`), 'parallel_function_checker_no_order:wrong_count', 'one call');
    expectError(check('parallel', 'parallel_0', p0(tay, tay)), 'parallel_function_checker_no_order:cannot_find_match', 'same call twice');
    expectError(
      check('parallel', 'parallel_0', p0(tay, mar.replace('15', '16'))),
      'parallel_function_checker_no_order:cannot_find_match',
      'one value wrong',
    );
  });

  it('matching is greedy: parallel_178 with reordered calls is scored wrong, as on the leaderboard', () => {
    const call = (c: string, d: string) => `get_stock_price(company_name='${c}', date='${d}', exchange='NASDAQ')`;
    const inOrder = [call('Microsoft', '2022-01-01'), call('Microsoft', '2022-02-01'), call('Apple', '2022-01-01'), call('Apple', '2022-02-01')];
    expectValid(check('parallel', 'parallel_178', `[${inOrder.join(', ')}]`), 'ground-truth order');
    const reordered = [inOrder[3], inOrder[2], inOrder[1], inOrder[0]];
    expectError(check('parallel', 'parallel_178', `[${reordered.join(', ')}]`), 'parallel_function_checker_no_order:cannot_find_match', 'greedy');
  });
});

describe('irrelevance and relevance (§3.9)', () => {
  it('irrelevance: no call is right (text, [] and garbage); a call is wrong', () => {
    expectValid(check('irrelevance', 'irrelevance_0', 'I cannot compute that with these tools.'), 'text');
    expectValid(check('irrelevance', 'irrelevance_0', '[]'), '[]');
    expectValid(check('irrelevance', 'irrelevance_0', '[determine_body_mass_index('), 'undecodable');
    expectError(check('irrelevance', 'irrelevance_0', '[determine_body_mass_index(weight=70, height=1.8)]'), 'irrelevance_error:decoder_success', 'a call');
    expectError(check('live_irrelevance', dataset('live_irrelevance').order[0], '[f()]'), 'irrelevance_error:decoder_success', 'f() is a call');
    expectValid(check('irrelevance', 'irrelevance_0', '""', 'fc'), 'fc: empty text');
    expectValid(check('irrelevance', 'irrelevance_0', '"Sorry."', 'fc'), 'fc: text');
    expectValid(check('irrelevance', 'irrelevance_0', '[]', 'fc'), 'fc: no calls');
    expectError(check('irrelevance', 'irrelevance_0', fc(['determine_body_mass_index', '{}']), 'fc'), 'irrelevance_error:decoder_success', 'fc call');
  });

  it('relevance: any call is right, whatever its name and arguments; none is wrong', () => {
    expectValid(check('live_relevance', 'live_relevance_0-0-0', '[anything(x=1)]'), 'any call');
    expectError(check('live_relevance', 'live_relevance_0-0-0', 'Here is your painting.'), 'relevance_error:decoder_failed', 'text');
    expectError(check('live_relevance', 'live_relevance_0-0-0', '[]'), 'relevance_error:decoder_failed', '[]');
  });
});

describe('bad input never throws', () => {
  it('malformed lines and unknown ids give per-line verdicts', () => {
    const ds = dataset('simple');
    assert.equal(checkResultLine(ds, 'not json', 'prompt').error_type, 'looptool:malformed_line');
    assert.equal(checkResultLine(ds, '[1]', 'prompt').error_type, 'looptool:malformed_line');
    assert.equal(checkResultLine(ds, '{"id": 3, "result": ""}', 'prompt').error_type, 'looptool:malformed_line');
    assert.equal(checkResultLine(ds, '{"id": "simple_0"}', 'prompt').error_type, 'looptool:malformed_line');
    const unknown = checkResultLine(ds, '{"id": "simple_9999", "result": "[]"}', 'prompt');
    assert.deepEqual([unknown.id, unknown.valid, unknown.error_type], ['simple_9999', false, 'looptool:unknown_id']);
  });

  it('a doc the official checker would crash on gives looptool:checker_exception; a bad answer line an invalid entry', () => {
    const q = JSON.stringify({
      id: 'x_0',
      question: [],
      function: [{ name: 'f', parameters: { type: 'dict', properties: { a: { type: 'object' }, b: { type: 'array' } }, required: [] } }],
    });
    const a = JSON.stringify({ id: 'x_0', ground_truth: [{ f: { a: [1], b: [[1]] } }] });
    const ds = loadDataset('simple', q, a);
    const e = ds.entries.get('x_0')!;
    expectError(checkEntry(e, '[f(a=1)]', 'prompt'), 'looptool:checker_exception', 'unknown type');
    expectError(checkEntry(e, '[f(b=[1])]', 'prompt'), 'looptool:checker_exception', 'array without items');
    const bad = loadDataset('simple', q, JSON.stringify({ id: 'x_0', ground_truth: [{ f: { a: 1 } }] }));
    expectError(checkEntry(bad.entries.get('x_0')!, '[f(a=1)]', 'prompt'), 'looptool:invalid_entry', 'alternatives not a list');
  });
});
