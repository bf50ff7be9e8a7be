"""Torch process state the engine keeps: threads, seeds, RNG state for checkpoints, AdamW."""
from __future__ import annotations

import contextlib
import os
import random

import torch


def make_adamw(params, lr: float, weight_decay: float, betas=(0.9, 0.999), eps: float = 1e-8, device: str = 'cpu'):
    # The fused kernel is the fast one on CUDA; on the CPU torch's foreach path is.
    kwargs = dict(lr=lr, weight_decay=weight_decay, betas=tuple(betas), eps=eps)
    kwargs['fused' if device.startswith('cuda') else 'foreach'] = True
    return torch.optim.AdamW(params, **kwargs)


def memory_bytes() -> int | None:
    """The memory this process may use: the machine's, or its cgroup's limit when lower."""
    try:
        total = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
    except (ValueError, OSError, AttributeError):
        total = None
    for f in ('/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes'):
        try:
            with open(f) as fh:
                limit = int(fh.read().strip())
        except (OSError, ValueError):
            continue
        if total is None or 0 < limit < total:
            total = limit
    return total


def set_threads(n: int | None) -> int:
    n = max(1, int(n) if n else (os.cpu_count() or 1))
    torch.set_num_threads(n)
    return torch.get_num_threads()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def rng_state() -> dict:
    state = {'torch': torch.get_rng_state(), 'python': _py_state_to_tensor()}
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    if 'torch' in state:
        torch.set_rng_state(state['torch'])
    if 'python' in state:
        _py_state_from_tensor(state['python'])
    if 'cuda' in state and torch.cuda.is_available():
        with contextlib.suppress(Exception):
            torch.cuda.set_rng_state_all(state['cuda'])


def _py_state_to_tensor():
    # torch.load(weights_only=True) takes tensors and plain containers: Python's random state
    # (version, 625 ints, gauss) goes in as one int64 tensor.
    version, internal, _gauss = random.getstate()
    return torch.tensor([version, *internal], dtype=torch.int64)


def _py_state_from_tensor(t) -> None:
    values = [int(v) for v in t.tolist()]
    random.setstate((values[0], tuple(values[1:]), None))


def autocast_ctx(device: str, dtype):
    """bf16 autocast on CUDA where asked for; a no-op elsewhere."""
    if device.startswith('cuda') and dtype == torch.bfloat16:
        return torch.autocast(device_type='cuda', dtype=torch.bfloat16)
    return contextlib.nullcontext()
