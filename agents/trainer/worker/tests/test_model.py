"""The engine on a real Hugging Face policy (the test cache's nano, built by the test runner):
KV-cached sampling, left padding, micro-batches and LoRA must not change a single log-prob
or touch what they should not."""
import os
import tempfile
import unittest

import torch

from worker.engine import Engine, Unit, _tools_key
from worker.model import BadRequest

NANO = os.path.join(os.environ.get('LOOPTOOL_MODELS', ''), 'nano')
HAVE_NANO = os.path.isfile(os.path.join(NANO, 'config.json'))

TOOLS = [{'name': 'get_weather', 'description': 'Current weather in a city',
          'parameters': {'type': 'object', 'properties': {'city': {'type': 'string'}}, 'required': ['city']}}]


def prompt(text):
    return {'tools': TOOLS, 'messages': [{'role': 'user', 'content': text}]}


def engine(seed=0, **spec):
    # float32 everywhere: these tests check the engine's arithmetic (caches, padding, sharing),
    # which bf16 rounding (the CUDA default) would hide behind its own differences
    e = Engine(threads=1)
    e.load({'model': {'kind': 'hf', 'path': NANO, 'dtype': 'float32', **spec}, 'seed': seed})
    return e


@unittest.skipUnless(HAVE_NANO, 'needs the test nano model (LOOPTOOL_MODELS/nano; scripts/run-tests.mjs builds it)')
class GenerateScore(unittest.TestCase):
    def test_sampling_logprobs_match_scoring_and_grpo_ratio_is_one(self):
        e = engine(seed=3)
        prompts = [prompt('Weather in Oslo?'), prompt('What is the weather like in Lima today, please?')]
        gen = e.generate({'prompts': prompts, 'n': 3, 'max_new_tokens': 12, 'seed': 7, 'temperature': 1.0})
        items = [{'prompt': p, 'completion_ids': s['token_ids']} for p, r in zip(prompts, gen['results']) for s in r['samples']]
        scores = e.score({'items': items, 'return_token_logprobs': True})['results']
        flat = [s for r in gen['results'] for s in r['samples']]
        for s, sc in zip(flat, scores):
            self.assertEqual(len(s['logprobs']), sc['tokens'])
            for a, b in zip(s['logprobs'], sc['token_logprobs']):
                self.assertAlmostEqual(a, b, places=4)
        groups = [{'prompt': p, 'completions': [{'token_ids': s['token_ids'], 'logprobs': s['logprobs'], 'advantage': a}
                                                for s, a in zip(r['samples'], [1.0, -0.5, -0.5])]}
                  for p, r in zip(prompts, gen['results'])]
        m = e.grpo_step({'groups': groups, 'lr': 1e-3})
        self.assertAlmostEqual(m['ratio_mean'], 1.0, places=4)
        self.assertEqual(m['clip_frac'], 0.0)
        self.assertLess(abs(m['kl']), 1e-5)
        self.assertEqual(m['updates'], 1)

    def test_same_seed_same_samples(self):
        e = engine(seed=1)
        p = [prompt('Weather in Rome?')]
        a = e.generate({'prompts': p, 'n': 4, 'max_new_tokens': 8, 'seed': 11})
        b = e.generate({'prompts': p, 'n': 4, 'max_new_tokens': 8, 'seed': 11})
        self.assertEqual([s['token_ids'] for s in a['results'][0]['samples']], [s['token_ids'] for s in b['results'][0]['samples']])

    def test_batched_greedy_equals_one_by_one(self):
        # left padding and rows leaving the batch as they finish change nothing
        e = engine(seed=2)
        ps = [prompt('Oslo?'), prompt('a much longer request than the first one, about the weather in Paris'), prompt('mid length one')]
        batch = e.generate({'prompts': ps, 'greedy': True, 'max_new_tokens': 10})
        for p, r in zip(ps, batch['results']):
            one = e.generate({'prompts': [p], 'greedy': True, 'max_new_tokens': 10})
            self.assertEqual(r['samples'][0]['token_ids'], one['results'][0]['samples'][0]['token_ids'])


    def test_prompts_sharing_their_tools_prefill_them_once_and_answer_the_same(self):
        # a family of prompts with one tools block (batched apart, its beginning run once)
        # beside prompts of other tools (batched as before); answers come back in request order
        other = [{'name': 'convert_currency', 'description': 'Convert an amount between currencies',
                  'parameters': {'type': 'object', 'properties': {'amount': {'type': 'number'}, 'to': {'type': 'string'}}, 'required': ['amount']}}]
        ps = [prompt(f'What is the weather in city number {i}?' + ' please' * (i % 3)) for i in range(10)]
        ps[3:3] = [{'tools': other, 'messages': [{'role': 'user', 'content': 'Convert 12 euros to yen'}]},
                   {'tools': [], 'messages': [{'role': 'user', 'content': 'hello'}]}]
        shared = engine(seed=4)
        plain = engine(seed=4)
        a = shared.generate({'prompts': ps, 'greedy': True, 'max_new_tokens': 12})
        b = plain.generate({'prompts': ps, 'greedy': True, 'max_new_tokens': 12, 'prefix_sharing': False})
        self.assertEqual([r['prompt_tokens'] for r in a['results']], [r['prompt_tokens'] for r in b['results']])
        for x, y in zip(a['results'], b['results']):
            self.assertEqual(x['samples'][0]['token_ids'], y['samples'][0]['token_ids'])
            for u, v in zip(x['samples'][0]['logprobs'], y['samples'][0]['logprobs']):
                self.assertAlmostEqual(u, v, places=4)
        chunks = shared._chunks([_tools_key(p) for p in ps], 256, True)
        self.assertEqual(plain._chunks([_tools_key(p) for p in ps], 256, False), [list(range(12))], 'without sharing, request order')
        with self.assertRaisesRegex(BadRequest, r'args\.prefix_sharing: expected bool'):
            shared.generate({'prompts': ps[:1], 'max_new_tokens': 2, 'prefix_sharing': 'no'})
        self.assertIn(sorted(i for i in range(12) if i not in (3, 4)), [sorted(c) for c in chunks], 'the weather family is one batch')
        self.assertEqual(sorted(i for c in chunks for i in c), list(range(12)))


@unittest.skipUnless(HAVE_NANO, 'needs the test nano model')
class Training(unittest.TestCase):
    def test_micro_batches_give_the_full_batch_gradient(self):
        e = engine(seed=4)
        units = [Unit(e.backend.render(prompt(t), 'p'), [e.backend.encode(c) for c in cs], list(range(i * 2, i * 2 + len(cs))))
                 for i, (t, cs) in enumerate([('Oslo?', ['a b', 'c']), ('Weather in Lima please', ['hello there', 'x'])])]
        grads = []
        for budget in (100_000, 16):
            e.micro_batch_tokens = budget
            e.backend.model.zero_grad()
            from worker.engine import _micro_batches
            for mb in _micro_batches(units, budget):
                lp, _, _ = e._token_logprobs(mb, 1.0, False)
                lp.sum().backward()
            grads.append([p.grad.clone() for p in e.backend.model.parameters() if p.grad is not None])
        for a, b in zip(*grads):
            self.assertTrue(torch.allclose(a, b, atol=1e-5))

    def test_a_shared_prompt_gives_the_same_logprobs_and_gradients(self):
        e = engine(seed=7)
        enc = e.backend.encode
        units = [Unit(e.backend.render(prompt('Weather in Oslo?'), 'p'), [enc('a b c'), enc('d'), enc('hello there you')], [0, 1, 2]),
                 Unit(e.backend.render(prompt('Traffic in the city of Lima, please'), 'p'), [enc('xy'), enc('one two three')], [3, 4])]
        results = []
        for sharing in (True, False):
            e.prefix_sharing = sharing
            e.backend.model.zero_grad()
            lp, _, _ = e._token_logprobs(units, 1.0, False)
            (lp * torch.arange(1, lp.numel() + 1, device=lp.device)).sum().backward()
            results.append((lp.detach(), [p.grad.clone() for p in e.backend.model.parameters() if p.grad is not None]))
        (a, ga), (b, gb) = results
        self.assertTrue(torch.allclose(a, b, atol=1e-5), (a - b).abs().max())
        self.assertEqual(len(ga), len(gb))
        for x, y in zip(ga, gb):
            # the weighted sum makes gradients of ~100: float32 rounding alone then differs
            # by ~1e-5, so the bound scales with the tensor; a sharing fault is of its size
            self.assertTrue(torch.allclose(x, y, rtol=0, atol=1e-6 * max(1.0, float(y.abs().max()))), (x - y).abs().max())

    def test_sft_samples_sharing_a_prompt_train_as_if_apart(self):
        p1, p2 = prompt('Weather in Oslo?'), prompt('Traffic in Lima?')
        samples = [{'prompt': p1, 'completion': 'a', 'weight': 0.16}, {'prompt': p2, 'completion': 'hello'},
                   {'prompt': p1, 'completion': 'bcd', 'weight': 0.36}, {'prompt': p1, 'completion': 'ef', 'weight': 0.0}]
        e = engine(seed=5)
        scores = e.score({'items': samples})['results']
        w = [s.get('weight', 1.0) for s in samples]
        expected = -sum(wi * r['logprob_sum'] for wi, r in zip(w, scores)) / sum(wi * r['tokens'] for wi, r in zip(w, scores))
        a = e.sft_step({'samples': samples, 'lr': 1e-2})
        self.assertEqual(a['sequences'], 4)
        self.assertEqual(a['completion_tokens'], sum(r['tokens'] for r in scores))
        self.assertAlmostEqual(a['loss'], expected, places=5)

    def test_one_lora_grpo_step_changes_the_adapter_and_nothing_else(self):
        e = engine(seed=6, lora={'r': 4, 'alpha': 8})
        before = {n: p.detach().clone() for n, p in e.backend.model.named_parameters()}
        p = prompt('Weather in Oslo?')
        gen = e.generate({'prompts': [p], 'n': 4, 'max_new_tokens': 8, 'seed': 1})
        comps = [{'token_ids': s['token_ids'], 'logprobs': s['logprobs'], 'advantage': a} for s, a in zip(gen['results'][0]['samples'], [1.0, -1.0, 0.5, -0.5])]
        e.grpo_step({'groups': [{'prompt': p, 'completions': comps}], 'lr': 1e-2})
        changed = [n for n, q in e.backend.model.named_parameters() if not torch.equal(q.detach(), before[n])]
        self.assertTrue(changed, 'the adapter moved')
        self.assertTrue(all('lora_' in n for n in changed), f'only LoRA weights change, got {changed[:3]}')
        # and a saved LoRA checkpoint holds the adapter, restored to the same log-probs
        with tempfile.TemporaryDirectory() as d:
            e.save({'path': os.path.join(d, 'ck')})
            self.assertTrue(os.path.isfile(os.path.join(d, 'ck', 'model', 'adapter_config.json')))
            e2 = Engine(threads=1)
            e2.restore({'path': os.path.join(d, 'ck')})
            item = {'prompt': p, 'completion': 'hi'}
            self.assertAlmostEqual(e.score({'items': [item]})['results'][0]['logprob_sum'], e2.score({'items': [item]})['results'][0]['logprob_sum'], places=4)


class Errors(unittest.TestCase):
    def test_missing_and_malformed_checkpoint_directories_are_named(self):
        e = Engine(threads=1)
        with self.assertRaisesRegex(BadRequest, r'model.path: /nonexistent is not a directory'):
            e.load({'model': {'path': '/nonexistent'}})
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, 'config.json'), 'w') as f:
                f.write('{}')
            with self.assertRaisesRegex(BadRequest, r'is not a Hugging Face checkpoint directory \(missing tokenizer.json, \*.safetensors weights\)'):
                e.load({'model': {'path': d}})
        with self.assertRaisesRegex(BadRequest, r'model.kind: expected "hf"'):
            e.load({'model': {'kind': 'tiny'}})


if __name__ == '__main__':
    unittest.main()
