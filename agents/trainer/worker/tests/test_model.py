"""The tiny GPT and the engine's batching: caches, padding and prefix sharing must not
change a single log-prob."""
import unittest

import torch

from worker.engine import Engine, Unit
from worker.tiny_gpt import GPTConfig, ListCache, StaticCache, TinyGPT
from worker.tokenizer import ByteTokenizer


def engine(seed=0, size='tiny-0.5m', **spec):
    e = Engine(threads=1)
    e.load({'model': {'kind': 'tiny', 'size': size, 'max_seq_len': 256, **spec}, 'seed': seed})
    return e


class Tokenizer(unittest.TestCase):
    def test_round_trip_and_specials(self):
        tok = ByteTokenizer()
        text = '<tool_call>\n{"name": "météo", "arguments": {"ville": "Zürich"}}\n</tool_call><|im_end|>'
        ids = tok.encode(text)
        self.assertEqual(ids[0], tok.special_ids['<tool_call>'])
        self.assertEqual(ids[-1], tok.eos_id)
        self.assertEqual(tok.decode(ids), text)
        self.assertTrue(all(0 <= i < tok.vocab_size for i in ids))


class Caches(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.m = TinyGPT(GPTConfig(vocab_size=50, n_layer=2, n_head=2, d_model=16, max_seq_len=64)).eval()

    def test_incremental_decoding_equals_full_forward(self):
        idx = torch.randint(0, 50, (1, 12))
        pos = torch.arange(12).unsqueeze(0)
        full = self.m(idx, pos, torch.ones(1, 12, dtype=torch.bool))
        cache = ListCache(2)
        h = self.m.hidden(idx[:, :5], pos[:, :5], torch.ones(1, 5, dtype=torch.bool), cache)
        sc = StaticCache(cache, 1, 12)
        steps = [self.m.logits(h[:, -1])]
        for t in range(5, 12):
            steps.append(self.m(idx[:, t : t + 1], pos[:, t : t + 1], torch.ones(1, t + 1, dtype=torch.bool), sc)[:, -1])
        self.assertTrue(torch.allclose(torch.stack(steps[:-1], 1), full[:, 4:11], atol=1e-5))

    def test_left_padding_does_not_change_logits(self):
        a = torch.randint(0, 50, (7,))
        alone = self.m(a.unsqueeze(0), torch.arange(7).unsqueeze(0), torch.ones(1, 7, dtype=torch.bool))
        padded = torch.cat([torch.zeros(3, dtype=torch.long), a]).unsqueeze(0)
        mask = torch.tensor([[False] * 3 + [True] * 7])
        pos = (mask.long().cumsum(1) - 1).clamp(min=0)
        out = self.m(padded, pos, mask)
        self.assertTrue(torch.allclose(out[:, 3:], alone, atol=1e-5))


class SharedPrefix(unittest.TestCase):
    def test_shared_prompt_gives_the_same_logprobs_and_gradients(self):
        e = engine()
        units = [Unit([5, 6, 7, 8, 9], [[1, 2, 3], [4], [10, 11, 12, 13]], [0, 1, 2]), Unit([20, 21], [[30, 31], [32, 33, 34]], [3, 4])]
        lp_shared, _, _ = e._token_logprobs(units, 1.0, False)
        lp_shared.sum().backward()
        g_shared = [p.grad.clone() for p in e.backend.model.parameters()]
        e.backend.model.zero_grad()
        # The same sequences, one completion per unit: the plain (unshared) path.
        singles = [Unit(u.prompt, [c], [r]) for u in units for c, r in zip(u.comps, u.rows)]
        lp_plain, _, _ = e._token_logprobs(singles, 1.0, False)
        lp_plain.sum().backward()
        g_plain = [p.grad.clone() for p in e.backend.model.parameters()]
        self.assertTrue(torch.allclose(lp_shared, lp_plain, atol=1e-5))
        for a, b in zip(g_shared, g_plain):
            self.assertTrue(torch.allclose(a, b, atol=1e-5))


    def test_common_prefix_of_different_prompts_changes_nothing(self):
        e = engine()
        head = list(range(40, 80))  # a shared system turn, 40 tokens
        units = [Unit(head + [1, 2, 3], [[7, 8, 9]], [0]), Unit(head + [4], [[10], [11, 12]], [1, 2]), Unit(head + [5, 6], [[13, 14, 15, 16]], [3])]
        results = []
        for sharing in (True, False):
            e.prefix_sharing = sharing
            e.backend.model.zero_grad()
            lp, _, _ = e._token_logprobs(units, 1.0, False)
            (lp * torch.arange(1, lp.numel() + 1)).sum().backward()
            results.append((lp.detach(), [p.grad.clone() for p in e.backend.model.parameters()]))
        (a, ga), (b, gb) = results
        self.assertTrue(torch.allclose(a, b, atol=1e-5))
        for x, y in zip(ga, gb):
            self.assertTrue(torch.allclose(x, y, atol=1e-5))


    def test_sft_samples_sharing_a_prompt_train_as_if_apart(self):
        # sft_step runs a prompt once for all the samples that share it; the loss (weights
        # included) and the update must be those of the samples taken one by one.
        p1 = {'text': '<|im_start|>user\nWeather in Oslo?<|im_end|>\n<|im_start|>assistant\n'}
        p2 = {'text': '<|im_start|>user\nTraffic in Lima?<|im_end|>\n<|im_start|>assistant\n'}
        samples = [{'prompt': p1, 'completion': 'a', 'weight': 0.16}, {'prompt': p2, 'completion': 'hello'},
                   {'prompt': p1, 'completion': 'bcd', 'weight': 0.36}, {'prompt': p1, 'completion': 'ef', 'weight': 0.0}]
        grouped, plain = engine(seed=5), engine(seed=5)
        plain.prefix_sharing = False
        scores = plain.score({'items': samples})['results']
        w = [s.get('weight', 1.0) for s in samples]
        expected = -sum(wi * r['logprob_sum'] for wi, r in zip(w, scores)) / sum(wi * r['tokens'] for wi, r in zip(w, scores))
        a = grouped.sft_step({'samples': samples, 'lr': 1e-2})
        b = plain.sft_step({'samples': samples, 'lr': 1e-2})
        self.assertEqual(a['sequences'], 4)
        self.assertEqual(a['completion_tokens'], sum(r['tokens'] for r in scores))
        self.assertAlmostEqual(a['loss'], expected, places=5)
        self.assertAlmostEqual(b['loss'], expected, places=5)
        # (Gradients themselves: the tests above. Adam's first step is about lr * sign(grad),
        # which float rounding can flip where a gradient is ~0, so the weights are not compared.)
        self.assertAlmostEqual(a['grad_norm'], b['grad_norm'], delta=1e-5 * b['grad_norm'])


class GenerateScore(unittest.TestCase):
    def test_sampling_logprobs_match_scoring_and_grpo_ratio_is_one(self):
        e = engine(seed=3)
        prompts = [{'text': '<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n'},
                   {'text': '<|im_start|>user\na longer prompt here<|im_end|>\n<|im_start|>assistant\n'}]
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
        p = [{'text': 'abc'}]
        a = e.generate({'prompts': p, 'n': 4, 'max_new_tokens': 8, 'seed': 11})
        b = e.generate({'prompts': p, 'n': 4, 'max_new_tokens': 8, 'seed': 11})
        self.assertEqual([s['token_ids'] for s in a['results'][0]['samples']], [s['token_ids'] for s in b['results'][0]['samples']])

    def test_batched_greedy_equals_one_by_one(self):
        e = engine(seed=2)
        ps = [{'text': 'short'}, {'text': 'a much longer prompt than the first'}, {'text': 'mid length'}]
        batch = e.generate({'prompts': ps, 'greedy': True, 'max_new_tokens': 10})
        for p, r in zip(ps, batch['results']):
            one = e.generate({'prompts': [p], 'greedy': True, 'max_new_tokens': 10})
            self.assertEqual(r['samples'][0]['token_ids'], one['results'][0]['samples'][0]['token_ids'])


if __name__ == '__main__':
    unittest.main()
