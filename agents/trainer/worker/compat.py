"""Version guards, so one source runs on torch 1.13 (Debian, CPU) and torch 2.x (CUDA).

Rules kept here (DESIGN.md 2.3): no torch.compile, no scaled_dot_product_attention,
no torch.func, no set_default_device; fused optimizers only where they exist;
torch.load gets weights_only where the installed torch knows it.
"""
from __future__ import annotations

import contextlib
import inspect
import os
import random

import torch

TORCH_VERSION = tuple(int(p) for p in torch.__version__.split('+')[0].split('.')[:2] if p.isdigit())

_LOAD_HAS_WEIGHTS_ONLY = 'weights_only' in inspect.signature(torch.load).parameters
_ADAMW_PARAMS = inspect.signature(torch.optim.AdamW).parameters


def torch_load(path: str, map_location='cpu'):
    """Loads a checkpoint file we wrote ourselves: tensors, dicts, lists, numbers only."""
    if _LOAD_HAS_WEIGHTS_ONLY:
        return torch.load(path, map_location=map_location, weights_only=True)
    return torch.load(path, map_location=map_location)  # pragma: no cover - torch < 1.13


def make_adamw(params, lr: float, weight_decay: float, betas=(0.9, 0.999), eps: float = 1e-8, device: str = 'cpu'):
    kwargs = dict(lr=lr, weight_decay=weight_decay, betas=tuple(betas), eps=eps)
    # The fused CUDA kernel exists from torch 2.0 on; elsewhere the foreach path is the fast one.
    if device.startswith('cuda') and 'fused' in _ADAMW_PARAMS and TORCH_VERSION >= (2, 0):
        kwargs['fused'] = True
    elif 'foreach' in _ADAMW_PARAMS:
        kwargs['foreach'] = True
    return torch.optim.AdamW(params, **kwargs)


def inference_mode():
    """torch.inference_mode where available (1.9+), else no_grad."""
    if hasattr(torch, 'inference_mode'):
        return torch.inference_mode()
    return torch.no_grad()  # pragma: no cover


def set_threads(n: int | None) -> int:
    n = int(n) if n else (os.cpu_count() or 1)
    n = max(1, n)
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
    # weights_only loading accepts tensors and plain containers; Python's random state is
    # (version, tuple of 625 ints, gauss) - stored as an int64 tensor plus the version.
    version, internal, _gauss = random.getstate()
    return torch.tensor([version, *internal], dtype=torch.int64)


def _py_state_from_tensor(t) -> None:
    values = [int(v) for v in t.tolist()]
    random.setstate((values[0], tuple(values[1:]), None))


def autocast_ctx(device: str, dtype):
    """bf16 autocast on CUDA where asked for; a no-op elsewhere."""
    if device.startswith('cuda') and dtype == torch.bfloat16 and hasattr(torch, 'autocast'):
        return torch.autocast(device_type='cuda', dtype=torch.bfloat16)
    return contextlib.nullcontext()
