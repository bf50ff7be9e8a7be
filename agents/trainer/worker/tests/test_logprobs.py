"""logprobs.py: the log-softmax taken in row chunks, each recomputed in backward, gives the
values, entropies and gradients of the whole micro-batch at once; and the GPU benchmark's
update, which runs the same function, agrees with it chunked or not."""
import unittest

import torch

from ..logprobs import token_logprobs


def _case(n=37, d=8, vocab=53, seed=0):
    g = torch.Generator().manual_seed(seed)
    head = torch.nn.Linear(d, vocab, bias=False)
    with torch.no_grad():
        head.weight.copy_(torch.randn(vocab, d, generator=g))
    h = torch.randn(n, d, generator=g, requires_grad=True)
    targets = torch.randint(0, vocab, (n,), generator=g)
    return head, h, targets


class ChunkedLogprobs(unittest.TestCase):
    def _run(self, chunk_rows, temperature=1.0):
        head, h, targets = _case()
        logp, ent = token_logprobs(head, h, targets, temperature, True, chunk_rows)
        weights = torch.linspace(-1, 1, h.shape[0])
        (logp * weights).sum().backward()
        return logp.detach(), ent, h.grad.clone(), head.weight.grad.clone()

    def test_chunks_give_the_same_values_entropies_and_gradients(self):
        for temperature in (1.0, 0.7):
            whole = self._run(0, temperature)
            for rows in (1, 5, 36, 37, 100):
                got = self._run(rows, temperature)
                for a, b, what in zip(got, whole, ('log-probs', 'entropy', 'grad of h', 'grad of the head')):
                    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=f'{what}, {rows} rows a chunk, T={temperature}')

    def test_the_values_are_log_softmax_at_the_targets(self):
        head, h, targets = _case(n=4)
        logp, ent = token_logprobs(head, h, targets, want_entropy=False)
        self.assertIsNone(ent)
        want = torch.log_softmax(head(h).double(), -1).gather(1, targets[:, None]).squeeze(1)
        torch.testing.assert_close(logp.double(), want, rtol=1e-5, atol=1e-6)

    def test_without_grad_chunks_give_the_same_values_and_no_graph(self):
        head, h, targets = _case()
        with torch.no_grad():
            logp, _ = token_logprobs(head, h, targets, chunk_rows=5)
        self.assertFalse(logp.requires_grad)
        torch.testing.assert_close(logp, token_logprobs(head, h, targets)[0].detach())


class BenchUpdateUsesIt(unittest.TestCase):
    def test_the_benchmarks_completion_logprobs_are_the_same_chunked(self):
        try:
            from .. import bench_gpu
        except ImportError as e:  # transformers missing: the stack is not installed here
            self.skipTest(str(e))
        dev = bench_gpu.Device(True)
        torch.manual_seed(0)
        model = bench_gpu.build_model(dev, True)
        decoder, head = bench_gpu.policy_parts(model, False)
        ids = torch.randint(1, model.config.vocab_size, (3, 20), generator=torch.Generator().manual_seed(1))
        whole = bench_gpu.completion_logprobs(decoder, head, ids, 8)
        chunked = bench_gpu.completion_logprobs(decoder, head, ids, 8, chunk_rows=5)
        self.assertEqual(tuple(whole.shape), (3, 8))
        torch.testing.assert_close(chunked, whole, rtol=1e-5, atol=1e-6)
        # and they are the model's own log-probs of the next tokens
        ref = torch.log_softmax(model(input_ids=ids).logits[:, -9:-1].float(), -1).gather(-1, ids[:, -8:, None]).squeeze(-1)
        torch.testing.assert_close(whole, ref, rtol=1e-4, atol=1e-5)


class LogprobBench(unittest.TestCase):
    def test_the_probe_compares_chunk_sizes_on_the_same_inputs_in_one_json_line(self):
        import contextlib
        import io
        import json

        from .. import bench_logprobs

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            # big enough for the whole batch's logits (4 MB) to show in a process's peak RSS
            code = bench_logprobs.main(['--rows', '512', '--hidden', '8', '--vocab', '2048', '--chunks', '0,64', '--repeats', '1', '--threads', '1'])
        self.assertEqual(code, 0, err.getvalue())
        r = json.loads(out.getvalue().strip().splitlines()[-1])
        self.assertEqual((r['name'], r['rows'], r['vocab']), ('logprobs', 512, 2048))
        self.assertEqual([s['chunk'] for s in r['settings']], [0, 64])
        whole, chunked = r['settings']
        self.assertEqual((whole['time_ratio'], whole['max_abs_diff']), (1.0, 0.0))
        self.assertLess(chunked['max_abs_diff'], 1e-5, 'the same log-probs, chunked')
        self.assertGreater(whole['peak_mib'], 0)
        self.assertGreater(chunked['seconds'], 0)
        self.assertIsNotNone(chunked['memory_ratio'])


if __name__ == '__main__':
    unittest.main()
