"""The built-in tiny GPT: pre-norm transformer, learned positions, tied embeddings.

Pure torch, written for torch 1.13 on the CPU as much as for CUDA: attention is plain
matmul + softmax (no scaled_dot_product_attention). Positions are explicit per token so
that left-padded batches and a key/value cache shared by a group of samples work.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# name -> (n_layer, n_head, d_model). Parameter counts with the byte vocabulary and a
# 1024-token context (positions included): ~0.56M, ~3.4M, ~11M, ~26M.
PRESETS = {
    'tiny-0.5m': (2, 4, 128),
    'tiny-3m': (4, 8, 256),
    'tiny-10m': (6, 6, 384),
    'tiny-25m': (8, 8, 512),
}


class GPTConfig:
    def __init__(self, vocab_size: int, n_layer: int = 2, n_head: int = 4, d_model: int = 128,
                 max_seq_len: int = 1024, dropout: float = 0.0, mlp_ratio: int = 4):
        if d_model % n_head:
            raise ValueError(f'model.d_model ({d_model}) must be divisible by model.n_head ({n_head})')
        self.vocab_size = int(vocab_size)
        self.n_layer = int(n_layer)
        self.n_head = int(n_head)
        self.d_model = int(d_model)
        self.max_seq_len = int(max_seq_len)
        self.dropout = float(dropout)
        self.mlp_ratio = int(mlp_ratio)

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict) -> 'GPTConfig':
        return cls(**d)


class ListCache:
    """Per-layer keys/values grown by concatenation: autograd-friendly, used for training
    with a shared prompt and for prefill."""

    def __init__(self, n_layer: int):
        self.k = [None] * n_layer
        self.v = [None] * n_layer

    @property
    def length(self) -> int:
        return 0 if self.k[0] is None else self.k[0].shape[2]

    def update(self, layer: int, k, v):
        if self.k[layer] is not None:
            k = torch.cat([self.k[layer], k], dim=2)
            v = torch.cat([self.v[layer], v], dim=2)
        self.k[layer], self.v[layer] = k, v
        return k, v

    def expand(self, repeats) -> 'ListCache':
        """Row i becomes repeats[i] rows (a prompt's cache shared by its group)."""
        out = ListCache(len(self.k))
        out.k = [t.repeat_interleave(repeats, dim=0) for t in self.k]
        out.v = [t.repeat_interleave(repeats, dim=0) for t in self.v]
        return out


class StaticCache:
    """Preallocated keys/values for generation: each decode step writes one slot instead of
    copying the whole cache (concatenation would cost O(length) per step)."""

    def __init__(self, prefill: ListCache, repeats, max_len: int):
        k0 = prefill.k[0]
        rows = int(repeats.sum()) if torch.is_tensor(repeats) else k0.shape[0] * int(repeats)
        b, h, t, d = k0.shape
        self.length = t
        self.k, self.v = [], []
        for kl, vl in zip(prefill.k, prefill.v):
            kb = kl.new_empty(rows, h, max_len, d)
            vb = vl.new_empty(rows, h, max_len, d)
            kb[:, :, :t] = kl.repeat_interleave(repeats, dim=0)
            vb[:, :, :t] = vl.repeat_interleave(repeats, dim=0)
            self.k.append(kb)
            self.v.append(vb)
        self._pending = 0

    def update(self, layer: int, k, v):
        t0, t1 = self.length, self.length + k.shape[2]
        self.k[layer][:, :, t0:t1] = k
        self.v[layer][:, :, t0:t1] = v
        if layer == len(self.k) - 1:
            self._pending = k.shape[2]
        return self.k[layer][:, :, :t1], self.v[layer][:, :, :t1]

    def commit(self) -> None:
        self.length += self._pending
        self._pending = 0

    def select(self, rows) -> None:
        """Keeps only `rows` (drops finished sequences from the batch)."""
        self.k = [t.index_select(0, rows) for t in self.k]
        self.v = [t.index_select(0, rows) for t in self.v]


def _cached_len(cache) -> int:
    if cache is None:
        return 0
    return cache.length


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.n_head = cfg.n_head
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.fc = nn.Linear(cfg.d_model, cfg.mlp_ratio * cfg.d_model)
        self.fc_out = nn.Linear(cfg.mlp_ratio * cfg.d_model, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, bias, cache=None, layer: int = 0):
        b, t, c = x.shape
        h = self.n_head
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        q = q.view(b, t, h, c // h).transpose(1, 2)
        k = k.view(b, t, h, c // h).transpose(1, 2)
        v = v.view(b, t, h, c // h).transpose(1, 2)
        if cache is not None:
            k, v = cache.update(layer, k, v)
        scale = 1.0 / math.sqrt(c // h)
        if bias.dim() == 2:
            # One causal mask for every row and head: scale, mask and QK^T in one
            # baddbmm (fewer passes over the [B*H, T, L] scores than matmul, mul, add).
            L = k.shape[2]
            att = torch.baddbmm(bias, q.reshape(b * h, t, c // h), k.reshape(b * h, L, c // h).transpose(1, 2), alpha=scale)
            att = F.softmax(att, dim=-1).view(b, h, t, L)
        else:
            att = F.softmax((q @ k.transpose(-2, -1)) * scale + bias, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, c)
        x = x + self.drop(self.proj(y))
        x = x + self.drop(self.fc_out(F.gelu(self.fc(self.ln2(x)))))
        return x


class TinyGPT(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.wpe = nn.Embedding(cfg.max_seq_len, cfg.d_model)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.apply(self._init)
        # GPT-2's scaled init of the residual projections keeps early training stable.
        for blk in self.blocks:
            for lin in (blk.proj, blk.fc_out):
                nn.init.normal_(lin.weight, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def hidden(self, idx, pos, key_mask=None, cache=None):
        """idx, pos: [B, T]; key_mask: [B, L] bool, L = cached length + T, True = real token,
        or None when every key is real (or padding is only on the right, where causality
        already hides it). Returns final hidden states [B, T, d] (before the output projection)."""
        b, t = idx.shape
        if int(pos.max()) >= self.cfg.max_seq_len:
            raise ValueError(f'sequence longer than the model context ({self.cfg.max_seq_len} tokens)')
        x = self.wte(idx) + self.wpe(pos)
        past = (key_mask.shape[1] - t) if key_mask is not None else _cached_len(cache)
        total = past + t
        # A large negative, not -inf: a padded query row then stays finite (and unused).
        neg = torch.finfo(x.dtype).min
        if key_mask is None or bool(key_mask.all()):
            # Query i (absolute slot past+i) sees key j iff j <= past+i.
            bias = torch.triu(torch.full((t, total), neg, dtype=x.dtype, device=idx.device), diagonal=past + 1)
        else:
            # ... and key j is real.
            q_slot = torch.arange(past, total, device=idx.device).unsqueeze(1)
            k_slot = torch.arange(total, device=idx.device).unsqueeze(0)
            allowed = (k_slot <= q_slot).unsqueeze(0) & key_mask.unsqueeze(1)  # [B, T, L]
            bias = torch.zeros(allowed.shape, dtype=x.dtype, device=idx.device).masked_fill_(~allowed, neg).unsqueeze(1)
        for i, blk in enumerate(self.blocks):
            x = blk(x, bias, cache, i)
        if isinstance(cache, StaticCache):
            cache.commit()
        return self.ln_f(x)

    def logits(self, h):
        return F.linear(h, self.wte.weight)

    def forward(self, idx, pos, key_mask, cache=None):
        return self.logits(self.hidden(idx, pos, key_mask, cache))
