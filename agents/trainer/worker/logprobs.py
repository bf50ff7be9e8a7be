"""Per-token log-probs from the last hidden states: the one implementation the engine's
SFT, GRPO and scoring and the GPU benchmark share.

The LM head is applied only at the positions that predict a target token, and the
log-softmax is taken in fp32. Over a large vocabulary that fp32 tensor dominates a
micro-batch's memory: 12,288 positions x 151,936 tokens is 7.5 GB, held once for the
backward pass and about twice more while it runs. With `chunk_rows`, rows are taken that
many at a time and each chunk's logits are recomputed in the backward pass
(torch.utils.checkpoint), so at most `chunk_rows` x V floats live at once, for one more
LM-head matmul per chunk. Whether that is faster on a GPU (less memory traffic, larger
micro-batches) or slower (the extra matmul) is for `bench_gpu --logprob-chunk` to say;
the default is one chunk, the computation as it always was. The values are the same
either way (row-wise arithmetic); tested to fp32 rounding with their gradients.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint


def _rows(head, h, targets, temperature: float, want_entropy: bool):
    logits = head(h).float()
    if temperature != 1.0:
        logits = logits / temperature
    logprobs = F.log_softmax(logits, dim=-1)
    logp = logprobs.gather(1, targets.unsqueeze(1)).squeeze(1)
    if not want_entropy:
        return logp, None
    with torch.no_grad():
        ent = -(logprobs.exp() * logprobs).sum(-1)
    return logp, ent


def token_logprobs(head, h, targets, temperature: float = 1.0, want_entropy: bool = False, chunk_rows: int = 0):
    """log p(targets[i] | h[i]) for h [N, d] and targets [N] under head(h) / temperature,
    with grad when enabled; and the policy's entropy at each row (no grad) if asked.
    `head` maps [n, d] hidden states to [n, V] logits (autocast inside it where wanted)."""
    n = h.shape[0]
    if chunk_rows <= 0 or n <= chunk_rows:
        return _rows(head, h, targets, temperature, want_entropy)
    recompute = torch.is_grad_enabled() and h.requires_grad
    logps, ents = [], []
    for i in range(0, n, chunk_rows):
        hs, ts = h[i : i + chunk_rows], targets[i : i + chunk_rows]
        if recompute:
            logp, ent = checkpoint(_rows, head, hs, ts, temperature, want_entropy, use_reentrant=False)
        else:
            logp, ent = _rows(head, hs, ts, temperature, want_entropy)
        logps.append(logp)
        if ent is not None:
            ents.append(ent)
    return torch.cat(logps), (torch.cat(ents) if want_entropy else None)
