"""The micro-batch budget a worker picks when the caller names none: sized to the CPU
machine's memory and the model's shape, the fixed GPU budget elsewhere."""
import os
import unittest
from types import SimpleNamespace

from worker import util
from worker.engine import MICRO_BATCH_TOKENS, Engine, default_micro_batch_tokens

GiB = 2 ** 30
SMOLLM2 = SimpleNamespace(num_hidden_layers=30, hidden_size=576, vocab_size=49152)
NANO_SHAPE = SimpleNamespace(num_hidden_layers=4, hidden_size=256, vocab_size=4096)
NANO = os.path.join(os.environ.get('LOOPTOOL_MODELS', ''), 'nano')


class DefaultBudget(unittest.TestCase):
    def test_cpu_budget_follows_memory_and_model_size(self):
        # SmolLM2 at 16,384 tokens was killed past 24 GB; 2,048 peaked at 7.9 GB (docs/loop.md)
        self.assertEqual(default_micro_batch_tokens(SMOLLM2, 'cpu', 24 * 10 ** 9), 2048)
        self.assertEqual(default_micro_batch_tokens(SMOLLM2, 'cpu', 8 * GiB), 768)
        # the nano base keeps the full budget where it fits, so the demo runs as before
        self.assertEqual(default_micro_batch_tokens(NANO_SHAPE, 'cpu', 24 * GiB), MICRO_BATCH_TOKENS)
        self.assertLess(default_micro_batch_tokens(NANO_SHAPE, 'cpu', 4 * GiB), MICRO_BATCH_TOKENS)
        for memory in (1 * GiB, 3 * GiB, 48 * GiB, 512 * GiB):
            b = default_micro_batch_tokens(SMOLLM2, 'cpu', memory)
            self.assertTrue(256 <= b <= MICRO_BATCH_TOKENS and b % 256 == 0, b)
        self.assertEqual(default_micro_batch_tokens(SMOLLM2, 'cpu', 64 * 1024 * 1024), 256, 'never below 256')

    def test_gpu_unknown_shape_or_memory_keep_the_fixed_budget(self):
        self.assertEqual(default_micro_batch_tokens(SMOLLM2, 'cuda:0', 24 * GiB), MICRO_BATCH_TOKENS)
        self.assertEqual(default_micro_batch_tokens(SimpleNamespace(), 'cpu', 24 * GiB), MICRO_BATCH_TOKENS)
        self.assertEqual(default_micro_batch_tokens(None, 'cpu', 24 * GiB), MICRO_BATCH_TOKENS)
        self.assertEqual(default_micro_batch_tokens(SMOLLM2, 'cpu', None), MICRO_BATCH_TOKENS)

    def test_memory_is_known_on_linux(self):
        m = util.memory_bytes()
        self.assertTrue(m is not None and m > 256 * 1024 * 1024, m)

    @unittest.skipUnless(os.path.isfile(os.path.join(NANO, 'config.json')), 'the test nano base is built by the test runner')
    def test_a_load_without_a_budget_takes_the_default_and_a_named_one_wins(self):
        e = Engine(threads=1)
        e.load({'model': {'kind': 'hf', 'path': NANO, 'dtype': 'float32'}, 'seed': 0})
        want = default_micro_batch_tokens(e.backend.model.config, 'cpu', util.memory_bytes())
        self.assertEqual(e.micro_batch_tokens, want)
        e.load({'model': {'kind': 'hf', 'path': NANO, 'dtype': 'float32'}, 'seed': 0, 'micro_batch_tokens': 512})
        self.assertEqual(e.micro_batch_tokens, 512)
        # a later load without one does not keep the last caller's
        e.load({'model': {'kind': 'hf', 'path': NANO, 'dtype': 'float32'}, 'seed': 0})
        self.assertEqual(e.micro_batch_tokens, want)


if __name__ == '__main__':
    unittest.main()
