"""GPU benchmark of the policy's update and rollouts on a Qwen3-0.6B-shaped model.

The model is a Qwen3ForCausalLM built from a config with Qwen3-0.6B's sizes (28 layers,
hidden 1024, 16 query / 8 key-value heads of 128, MLP 3072, vocabulary 151936, tied
embeddings): random weights, nothing downloaded, bf16 weights on CUDA, sdpa attention.
It measures, in this order and on fixed-length random token ids:

  update   one GRPO optimizer step per call: every sequence (prompt + completion) run
           forward, log-probs of the completion tokens only (logprobs.py, the engine's
           own function), the clipped surrogate (grpo.py, token-mean), backward over
           micro-batches, clip, fused AdamW. Reported as tokens/s (prompt and completion
           tokens) and MFU; --compile runs the decoder through torch.compile;
           --logprob-chunk N takes the fp32 log-softmax N positions at a time, each
           chunk recomputed in backward (bench_logprobs.py measures that step alone).
  rollout  transformers' generate with its KV cache, greedy and sampled (temperature 1),
           every row forced to the full length: new tokens/s.
  memory   peak CUDA memory of the same update with full fine-tuning and with a peft LoRA
           (r 16, alpha 32, every linear layer, the worker's default), each on a fresh
           model; plus the bytes of weights, gradients and AdamW state.

MFU = model FLOPs per update step / step seconds / peak dense bf16 FLOP/s, where

  FLOPs per step = 6 * N_body * T_all  +  6 * V * d * T_logits  +  12 * L * H * d_head * sum(s^2)

N_body: parameters outside the token embedding and the LM head; T_all: tokens run through
the model; V * d: the LM head, applied only at the T_logits positions that predict a
completion token; L layers, H query heads of d_head, s each sequence's length. 6 = 2
(multiply-add) * 3 (forward, then backward for activations and for weights). The
attention term counts the QK^T and AV matmuls forward and backward with no discount for
the causal mask (PaLM's convention, and verl's, whose ~0.33 on an H100 is the anchor).
Recomputation (--grad-checkpointing) is not counted: it is not model FLOPs. The peak is
989e12 for an H100 SXM or an H200 (dense bf16, no sparsity), a few other parts by name,
or --peak-flops.

    python -m agents.trainer.worker.bench_gpu            # from the repository root, on a GPU
    python -m agents.trainer.worker.bench_gpu --tiny     # a tiny shape in fp32 on the CPU

Without CUDA it runs --tiny: the same code on the CPU, in well under a minute, so the
path is proven. Progress goes to stderr; the last stdout line is one JSON object.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time

import torch

if __package__:
    from .grpo import grpo_token_loss, token_weights
    from .logprobs import token_logprobs
else:  # run by its path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from worker.grpo import grpo_token_loss, token_weights
    from worker.logprobs import token_logprobs

# Dense bf16 tensor-core peaks, FLOP/s, by a substring of the device name (first match).
PEAKS = [('H100 PCIe', 756e12), ('H100', 989e12), ('H200', 989e12), ('B200', 2250e12), ('A100', 312e12)]
TARGET_MFU = 0.35


def shape(tiny: bool) -> dict:
    if tiny:
        return dict(vocab_size=512, hidden_size=64, intermediate_size=192, num_hidden_layers=2, num_attention_heads=4,
                    num_key_value_heads=2, head_dim=16)
    return dict(vocab_size=151936, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
                num_attention_heads=16, num_key_value_heads=8, head_dim=128)


def defaults(tiny: bool) -> dict:
    """Workload sizes: a GRPO batch of 8 prompts x 8 completions on the GPU."""
    if tiny:
        return dict(sequences=8, micro_batch=4, prompt=16, completion=32, steps=2, warmup=1,
                    gen_batch=4, gen_prompt=16, gen_tokens=16)
    return dict(sequences=64, micro_batch=16, prompt=256, completion=768, steps=5, warmup=2,
                gen_batch=64, gen_prompt=256, gen_tokens=256)


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--tiny', action='store_true', help='a tiny shape in fp32 on the CPU (automatic without CUDA)')
    ap.add_argument('--peak-flops', type=float, default=None, help='peak dense bf16 FLOP/s of the GPU (e.g. 989e12)')
    ap.add_argument('--grad-checkpointing', action='store_true', help='recompute activations in the backward pass')
    ap.add_argument('--compile', action='store_true', help='torch.compile the decoder for the update')
    ap.add_argument('--lora-rank', type=int, default=16)
    ap.add_argument('--logprob-chunk', type=int, default=0,
                    help='completion positions per log-softmax chunk, recomputed in backward (0: the whole micro-batch at once)')
    for k, v in defaults(False).items():
        ap.add_argument('--' + k.replace('_', '-'), type=int, default=None, help=f'default {v} (tiny: {defaults(True)[k]})')
    args = ap.parse_args(argv)
    args.tiny = args.tiny or not torch.cuda.is_available()
    for k, v in defaults(args.tiny).items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    return args


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Device:
    """Where the run happens, its clock and its memory counters."""

    def __init__(self, tiny: bool):
        self.cuda = not tiny
        self.name = torch.cuda.get_device_name(0) if self.cuda else 'cpu'
        self.torch = torch.device('cuda' if self.cuda else 'cpu')
        self.dtype = torch.bfloat16 if self.cuda else torch.float32

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()

    def reset_peak(self):
        gc.collect()
        if self.cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()

    def peak_gib(self):
        return torch.cuda.max_memory_allocated() / 2**30 if self.cuda else None

    def peak_flops(self, override):
        if override or not self.cuda:
            return override
        return next((p for key, p in PEAKS if key.lower() in self.name.lower()), None)


def build_model(dev: Device, tiny: bool):
    from transformers import AutoModelForCausalLM, Qwen3Config

    cfg = Qwen3Config(**shape(tiny), tie_word_embeddings=True, max_position_embeddings=4096, pad_token_id=0)
    # Built on the device in its dtype: no fp32 copy of 0.6B weights on the host first.
    with dev.torch:
        model = AutoModelForCausalLM.from_config(cfg, dtype=dev.dtype, attn_implementation='sdpa')
    return model


def body_params(model) -> int:
    """Parameters outside the token embedding and the LM head (counted once if tied)."""
    skip = {id(model.get_input_embeddings().weight), id(model.get_output_embeddings().weight)}
    return sum(p.numel() for p in model.parameters() if id(p) not in skip)


def update_flops(cfg, n_body: int, sequences: int, prompt: int, completion: int) -> float:
    s = prompt + completion
    d_head = getattr(cfg, 'head_dim', None) or cfg.hidden_size // cfg.num_attention_heads
    dense = 6 * n_body * sequences * s
    head = 6 * cfg.vocab_size * cfg.hidden_size * sequences * completion
    attention = 12 * cfg.num_hidden_layers * cfg.num_attention_heads * d_head * sequences * s * s
    return dense + head + attention


def optimizer(model, dev: Device):
    params = [p for p in model.parameters() if p.requires_grad]
    # The fused kernel is the fast one on CUDA; torch's foreach path is on the CPU.
    return torch.optim.AdamW(params, lr=1e-6, weight_decay=0.0, **({'fused': True} if dev.cuda else {'foreach': True}))


def rollout_batch(args, vocab: int, dev: Device, seed: int = 0):
    """Token ids of prompt + completion and one advantage per sequence (mean zero, as
    group-normalised advantages are)."""
    g = torch.Generator(device='cpu').manual_seed(seed)
    ids = torch.randint(1, vocab, (args.sequences, args.prompt + args.completion), generator=g)
    adv = torch.randn(args.sequences, generator=g)
    return ids.to(dev.torch), (adv - adv.mean()).to(dev.torch)


def policy_parts(model, compile_model: bool):
    """The decoder and the LM head the update runs, as the engine runs them (model.py); the
    decoder compiled with --compile."""
    base = model.get_base_model() if hasattr(model, 'get_base_model') else model
    decoder = base.get_decoder()
    return (torch.compile(decoder) if compile_model else decoder), base.get_output_embeddings()


def completion_logprobs(decoder, head, ids, completion: int, chunk_rows: int = 0):
    """Log-probs of the last `completion` tokens of each row, by the engine's own function
    (logprobs.py): the LM head only at the positions that predict them, the log-softmax in
    fp32, in row chunks recomputed in backward with `chunk_rows` (--logprob-chunk)."""
    h = decoder(input_ids=ids).last_hidden_state[:, -completion - 1 : -1]
    logp, _ = token_logprobs(head, h.reshape(-1, h.shape[-1]), ids[:, -completion:].reshape(-1), chunk_rows=chunk_rows)
    return logp.view(ids.shape[0], completion)


def grpo_update(model, parts, opt, ids, adv, args):
    """One optimizer step over the batch in micro-batches; the token weights are fixed
    over the whole batch so the accumulated gradient is the full batch's. On-policy first
    pass: the sampling log-probs equal the current ones (ratio 1, same FLOPs)."""
    n, c = ids.shape[0], args.completion
    w = torch.cat(token_weights([c] * n, 'token-mean')).view(n, c).to(ids.device)
    loss_sum = 0.0
    for i in range(0, n, args.micro_batch):
        logp = completion_logprobs(*parts, ids[i : i + args.micro_batch], c, args.logprob_chunk)
        a = adv[i : i + args.micro_batch, None].expand_as(logp)
        loss_t, _, _, _ = grpo_token_loss(logp, logp.detach(), a, 0.2, 0.28)
        loss = (loss_t * w[i : i + args.micro_batch]).sum()
        loss.backward()
        loss_sum += loss.detach()
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return float(loss_sum)


def state_gib(model, opt) -> float:
    """Weights, gradients (one per trainable weight) and optimizer state, in GiB."""
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    grads = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    moments = sum(t.numel() * t.element_size() for s in opt.state.values() for t in s.values() if torch.is_tensor(t))
    return (weights + grads + moments) / 2**30


def time_updates(model, args, dev: Device, label: str) -> dict:
    """Warm-up steps, then timed steps; peak memory covers weights, gradients, optimizer
    state and activations."""
    if args.grad_checkpointing:
        model.activation_checkpointing_enable()
    model.train()
    parts = policy_parts(model, args.compile)
    opt = optimizer(model, dev)
    ids, adv = rollout_batch(args, model.config.vocab_size, dev)
    dev.reset_peak()
    for _ in range(args.warmup):
        grpo_update(model, parts, opt, ids, adv, args)
    dev.sync()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = grpo_update(model, parts, opt, ids, adv, args)
    dev.sync()
    dt = (time.perf_counter() - t0) / args.steps
    out = {'seconds_per_step': dt, 'tokens_per_s': ids.numel() / dt, 'peak_memory_gib': dev.peak_gib(),
           'state_gib': state_gib(model, opt), 'loss': loss,
           'trainable_params': sum(p.numel() for p in model.parameters() if p.requires_grad)}
    log(f'{label}: {dt:.3f} s/step, {out["tokens_per_s"]:,.0f} tok/s, peak {out["peak_memory_gib"]} GiB')
    del opt
    return out


@torch.inference_mode()
def time_generate(model, args, dev: Device, sample: bool) -> float:
    """New tokens/s of generate over a batch of prompts, every row to the full length."""
    model.eval()
    g = torch.Generator(device='cpu').manual_seed(1)
    prompts = torch.randint(1, model.config.vocab_size, (args.gen_batch, args.gen_prompt), generator=g).to(dev.torch)
    kw = dict(do_sample=sample, pad_token_id=0, use_cache=True,
              **({'temperature': 1.0, 'top_p': 1.0, 'top_k': 0} if sample else {}))
    warm = prompts[:, :8]
    model.generate(warm, attention_mask=torch.ones_like(warm), max_new_tokens=4, min_new_tokens=4, **kw)
    dev.sync()
    t0 = time.perf_counter()
    out = model.generate(prompts, attention_mask=torch.ones_like(prompts), max_new_tokens=args.gen_tokens,
                         min_new_tokens=args.gen_tokens, **kw)
    dev.sync()
    new = (out.shape[1] - args.gen_prompt) * args.gen_batch
    rate = new / (time.perf_counter() - t0)
    log(f'generate {"sampled" if sample else "greedy"}: {rate:,.0f} new tok/s')
    return rate


def with_lora(model, rank: int):
    from peft import LoraConfig, get_peft_model

    return get_peft_model(model, LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0, target_modules='all-linear'))


def run(args) -> dict:
    import peft
    import transformers

    dev = Device(args.tiny)
    torch.manual_seed(0)
    t_start = time.perf_counter()
    model = build_model(dev, args.tiny)
    cfg = model.config
    n_params, n_body = sum(p.numel() for p in model.parameters()), body_params(model)
    log(f'{dev.name}: {n_params / 1e6:.1f}M parameters ({n_body / 1e6:.1f}M outside '
        f'the embedding), {dev.dtype}')
    full = time_updates(model, args, dev, 'full update')
    flops = update_flops(cfg, n_body, args.sequences, args.prompt, args.completion)
    peak = dev.peak_flops(args.peak_flops)
    mfu = flops / full['seconds_per_step'] / peak if peak else None
    greedy = time_generate(model, args, dev, sample=False)
    sampled = time_generate(model, args, dev, sample=True)
    del model
    torch.manual_seed(0)
    lora = time_updates(with_lora(build_model(dev, args.tiny), args.lora_rank), args, dev, 'LoRA update')
    return {
        'name': 'trainer-gpu', 'device': dev.name, 'tiny': args.tiny, 'dtype': str(dev.dtype).removeprefix('torch.'),
        'torch': torch.__version__, 'transformers': transformers.__version__, 'peft': peft.__version__,
        'params': n_params, 'body_params': n_body,
        'sequences': args.sequences, 'micro_batch': args.micro_batch, 'prompt_tokens': args.prompt,
        'completion_tokens': args.completion, 'grad_checkpointing': args.grad_checkpointing, 'compile': args.compile,
        'logprob_chunk': args.logprob_chunk,
        'update_tokens_per_s': full['tokens_per_s'], 'update_seconds_per_step': full['seconds_per_step'],
        'update_flops_per_step': flops, 'peak_flops': peak, 'mfu': mfu,
        'rollout_batch': args.gen_batch, 'rollout_prompt_tokens': args.gen_prompt, 'rollout_new_tokens': args.gen_tokens,
        'rollout_greedy_tokens_per_s': greedy, 'rollout_sampled_tokens_per_s': sampled,
        'full_peak_memory_gib': full['peak_memory_gib'], 'full_state_gib': full['state_gib'],
        'lora_rank': args.lora_rank, 'lora_trainable_params': lora['trainable_params'],
        'lora_peak_memory_gib': lora['peak_memory_gib'], 'lora_state_gib': lora['state_gib'],
        'lora_update_tokens_per_s': lora['tokens_per_s'],
        'target': f'mfu >= {TARGET_MFU} on an H100/H200', 'pass': (mfu >= TARGET_MFU) if mfu is not None and dev.cuda else None,
        'seconds': time.perf_counter() - t_start,
    }


def main(argv=None) -> int:
    args = parse(argv)
    result = run(args)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
