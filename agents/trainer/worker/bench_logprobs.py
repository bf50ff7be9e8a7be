"""The log-prob step of an update alone: peak memory and seconds of one forward and backward
of logprobs.token_logprobs over [rows x vocabulary], the whole micro-batch at once against
row chunks recomputed in backward, on the same inputs.

It isolates what bench_gpu's update cannot tell apart from the rest of the model: how much
of a step the LM head's fp32 log-softmax costs, and what chunking saves and adds.

    python -m agents.trainer.worker.bench_logprobs            # from the repository root
    python -m agents.trainer.worker.bench_logprobs --rows 4096 --hidden 576 --vocab 49152

The defaults are bench_gpu's micro-batch on Qwen3-0.6B's head: 12,288 completion positions,
hidden 1024, vocabulary 151,936, bf16 on CUDA. On the CPU (fp32; give it a smaller shape)
the peak is the process's resident set, its high-water mark reset before each setting
(Linux's clear_refs).
Progress goes to stderr; the last stdout line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

if __package__:
    from .logprobs import token_logprobs
else:  # run by its path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from worker.logprobs import token_logprobs


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--rows', type=int, default=12288, help='positions whose next token is scored (one micro-batch)')
    ap.add_argument('--hidden', type=int, default=1024)
    ap.add_argument('--vocab', type=int, default=151936)
    ap.add_argument('--chunks', default='0,4096,1024', help='rows per chunk to compare, 0 = all at once (the first is the reference)')
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    return ap.parse_args(argv)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _proc_kib(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise OSError(f'no {field} in /proc/self/status')


def _reset_cpu_peak() -> int:
    """Resets the process's peak resident set (Linux: 5 into clear_refs) and returns the
    resident set now, in bytes: VmHWM from here on is this step's peak."""
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
    return _proc_kib('VmRSS') * 1024


def measure(args, chunk: int, cuda: bool) -> dict:
    """Seconds per forward+backward, and peak memory above the inputs, for one chunk size."""
    dev = torch.device('cuda' if cuda else 'cpu')
    dtype = torch.bfloat16 if cuda else torch.float32
    g = torch.Generator(device='cpu').manual_seed(0)
    head = torch.nn.Linear(args.hidden, args.vocab, bias=False).to(dev, dtype)
    with torch.no_grad():
        head.weight.copy_((torch.randn(args.vocab, args.hidden, generator=g) / args.hidden**0.5).to(dev, dtype))
    h = torch.randn(args.rows, args.hidden, generator=g).to(dev, dtype).requires_grad_()
    targets = torch.randint(0, args.vocab, (args.rows,), generator=g).to(dev)

    def step():
        head.weight.grad, h.grad = None, None
        logp, _ = token_logprobs(head, h, targets, 1.0, True, chunk)
        logp.sum().backward()
        return logp.detach()

    logp = step()  # warm-up: allocator, kernels, checkpoint's machinery
    head.weight.grad, h.grad = None, None
    # the peak above the inputs, from before a step: it holds the gradients and the step's own tensors
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = _reset_cpu_peak()
    t0 = time.perf_counter()
    for _ in range(args.repeats):
        logp = step()
    if cuda:
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - t0) / args.repeats
    peak = (torch.cuda.max_memory_allocated() if cuda else _proc_kib('VmHWM') * 1024) - base
    sample = logp[:: max(1, args.rows // 16)].float().tolist()
    return {'chunk': chunk, 'seconds': seconds, 'peak_mib': peak / 2**20, 'sample': sample}


def run(args) -> dict:
    cuda = torch.cuda.is_available()
    results = []
    for c in (int(x) for x in args.chunks.split(',')):
        r = measure(args, c, cuda)
        log(f'chunk {c or "all"}: {r["seconds"]:.3f} s forward+backward, peak +{r["peak_mib"]:.0f} MiB')
        results.append(r)
    ref = results[0]
    for r in results:
        r['time_ratio'] = r['seconds'] / ref['seconds']
        r['memory_ratio'] = r['peak_mib'] / ref['peak_mib'] if ref['peak_mib'] > 0 else None
        r['max_abs_diff'] = max(abs(a - b) for a, b in zip(r['sample'], ref['sample']))
    for r in results:
        del r['sample']
    return {'name': 'logprobs', 'device': torch.cuda.get_device_name(0) if cuda else 'cpu', 'dtype': 'bfloat16' if cuda else 'float32',
            'torch': torch.__version__, 'rows': args.rows, 'hidden': args.hidden, 'vocab': args.vocab, 'repeats': args.repeats,
            'threads': torch.get_num_threads(), 'settings': results}


def main(argv=None) -> int:
    args = parse(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(json.dumps(run(args)), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
