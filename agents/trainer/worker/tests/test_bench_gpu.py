"""bench_gpu.py's CPU path (issue 16, item 6): the GPU benchmark's code runs end to end
on a tiny shape and prints one JSON line with every figure the GPU run will report."""
import contextlib
import io
import json
import unittest

try:
    import peft  # noqa: F401
    import transformers  # noqa: F401
except ImportError as e:
    MISSING = f'{e.name or e} is not installed for this interpreter (scripts/setup.sh installs the stack)'
else:
    MISSING = None


@unittest.skipIf(MISSING, MISSING)
class TinyBench(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from .. import bench_gpu

        cls.bench = bench_gpu
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = bench_gpu.main(['--tiny', '--peak-flops', '1e12'])
        cls.code, cls.stdout, cls.stderr = code, out.getvalue(), err.getvalue()

    def test_one_json_line_on_stdout(self):
        self.assertEqual(self.code, 0, self.stderr)
        lines = self.stdout.splitlines()
        self.assertEqual(len(lines), 1, self.stdout)
        json.loads(lines[0])

    def test_fields(self):
        r = json.loads(self.stdout)
        self.assertEqual((r['name'], r['device'], r['tiny'], r['dtype']), ('trainer-gpu', 'cpu', True, 'float32'))
        for k in ('update_tokens_per_s', 'rollout_greedy_tokens_per_s', 'rollout_sampled_tokens_per_s',
                  'lora_update_tokens_per_s', 'full_state_gib', 'lora_state_gib', 'seconds'):
            self.assertGreater(r[k], 0, k)
        # MFU is the formula in the docstring over the measured step time.
        self.assertEqual(r['update_flops_per_step'], self.bench.update_flops(
            transformers.Qwen3Config(**self.bench.shape(True)), r['body_params'], r['sequences'], r['prompt_tokens'],
            r['completion_tokens']))
        self.assertAlmostEqual(r['mfu'], r['update_flops_per_step'] / r['update_seconds_per_step'] / 1e12, places=12)
        self.assertIsNone(r['pass'])  # the target is for a GPU
        # LoRA trains a fraction of the weights and keeps less state.
        self.assertLess(r['lora_trainable_params'], r['params'])
        self.assertLess(r['lora_state_gib'], r['full_state_gib'])
        self.assertIsNone(r['full_peak_memory_gib'])  # a CUDA counter
        self.assertLess(r['seconds'], 60)


if __name__ == '__main__':
    unittest.main()
