"""GPU benchmark of the Hugging Face path: a Qwen3-0.6B-shaped model built from a config
(random weights, nothing downloaded), bf16 on CUDA. Reports training tokens/s, model
FLOPs utilisation and generation tokens/s; the last stdout line is one JSON object.

    python3 agents/trainer/worker/bench_gpu.py              # on a GPU machine
    python3 agents/trainer/worker/bench_gpu.py --tiny       # a tiny config, runs on the CPU

MFU = 6 * N * tokens/s / peak bf16 FLOP/s of the detected GPU (N = parameters, the tied
output projection counted once); mfu_attn adds the attention matmuls (12 * layers *
heads * head_dim * seq per token, as in the PaLM paper). Without transformers installed
the script says so and exits 0 with {"skipped": true}.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

# Dense bf16 tensor-core peaks (no sparsity), FLOP/s, by a substring of the device name.
PEAKS = [
    ('H200', 989e12),
    ('H100 PCIe', 756e12),
    ('H100', 989e12),
    ('GH200', 989e12),
    ('B200', 2250e12),
    ('A100', 312e12),
    ('L40S', 362e12),
    ('L4', 121e12),
    ('A10G', 125e12),
    ('A10', 125e12),
    ('RTX 4090', 165e12),
    ('RTX 3090', 71e12),
]


def emit(obj) -> None:
    print(json.dumps(obj), flush=True)


def qwen3_06b_shape(tiny: bool) -> dict:
    if tiny:
        return dict(vocab_size=1024, hidden_size=64, intermediate_size=192, num_hidden_layers=2, num_attention_heads=4,
                    num_key_value_heads=2, head_dim=16, max_position_embeddings=1024, tie_word_embeddings=True,
                    rms_norm_eps=1e-6, rope_theta=1e6)
    # Qwen3-0.6B: 28 layers, hidden 1024, 16 query / 8 key-value heads of 128, MLP 3072,
    # vocabulary 151936, tied embeddings.
    return dict(vocab_size=151936, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28, num_attention_heads=16,
                num_key_value_heads=8, head_dim=128, max_position_embeddings=40960, tie_word_embeddings=True,
                rms_norm_eps=1e-6, rope_theta=1e6)


def build_config(transformers, shape: dict):
    if hasattr(transformers, 'Qwen3Config'):
        return 'qwen3', transformers.Qwen3Config(**shape)
    # Older transformers: a Llama config of the same shape (Qwen3 differs by q/k norms only).
    return 'llama', transformers.LlamaConfig(**shape)


def peak_flops(name: str, override_tflops: float | None):
    if override_tflops:
        return override_tflops * 1e12
    for key, peak in PEAKS:
        if key.lower() in name.lower():
            return peak
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--tiny', action='store_true', help='tiny config; runs on the CPU')
    ap.add_argument('--batch', type=int, default=None, help='sequences per training step')
    ap.add_argument('--seq', type=int, default=None, help='tokens per sequence')
    ap.add_argument('--steps', type=int, default=None, help='measured training steps')
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--gen-batch', type=int, default=None)
    ap.add_argument('--gen-prompt', type=int, default=None)
    ap.add_argument('--gen-tokens', type=int, default=None)
    ap.add_argument('--grad-checkpointing', action='store_true')
    ap.add_argument('--peak-tflops', type=float, default=None, help='override the detected peak bf16 TFLOP/s')
    ap.add_argument('--attn', default=None, help='attn_implementation (default: transformers\' choice, sdpa on torch 2)')
    args = ap.parse_args(argv)

    import torch

    try:
        import transformers
    except ImportError as e:
        msg = (f'transformers is not installed for {sys.executable} ({e}); the GPU benchmark needs it '
               '(pip install transformers, or a CUDA image that has it). Nothing was measured.')
        print(msg, file=sys.stderr)
        emit({'name': 'trainer-gpu', 'skipped': True, 'reason': msg, 'torch': torch.__version__})
        return 0

    cuda = torch.cuda.is_available()
    if not cuda and not args.tiny:
        msg = 'no CUDA device: the full-size benchmark needs a GPU; use --tiny for a CPU smoke run'
        print(msg, file=sys.stderr)
        emit({'name': 'trainer-gpu', 'skipped': True, 'reason': msg, 'torch': torch.__version__})
        return 0
    device = 'cuda' if cuda else 'cpu'
    dtype = torch.bfloat16 if cuda else torch.float32
    batch = args.batch or (2 if args.tiny else 8)
    seq = args.seq or (64 if args.tiny else 2048)
    steps = args.steps or (3 if args.tiny else 10)
    gen_batch = args.gen_batch or (2 if args.tiny else 64)
    gen_prompt = args.gen_prompt or (16 if args.tiny else 256)
    gen_tokens = args.gen_tokens or (16 if args.tiny else 256)

    torch.manual_seed(0)
    kind, config = build_config(transformers, qwen3_06b_shape(args.tiny))
    kwargs = {}
    if args.attn:
        kwargs['attn_implementation'] = args.attn
    model = transformers.AutoModelForCausalLM.from_config(config, **kwargs).to(device=device, dtype=dtype)
    if args.grad_checkpointing:
        model.gradient_checkpointing_enable()
    n_params = sum(p.numel() for p in model.parameters())
    import inspect

    opt_kwargs = {'lr': 1e-5, 'weight_decay': 0.0}
    if cuda and 'fused' in inspect.signature(torch.optim.AdamW).parameters:
        opt_kwargs['fused'] = True
    opt = torch.optim.AdamW(model.parameters(), **opt_kwargs)
    sync = torch.cuda.synchronize if cuda else (lambda: None)

    def train_step():
        ids = torch.randint(0, config.vocab_size, (batch, seq), device=device)
        out = model(input_ids=ids, labels=ids)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(out.loss)

    model.train()
    for _ in range(args.warmup):
        train_step()
    sync()
    t0 = time.time()
    for _ in range(steps):
        loss = train_step()
    sync()
    dt = time.time() - t0
    train_tok_s = batch * seq * steps / dt

    name = torch.cuda.get_device_name(0) if cuda else 'cpu'
    peak = peak_flops(name, args.peak_tflops) if cuda else None
    attn_per_token = 12 * config.num_hidden_layers * config.num_attention_heads * getattr(config, 'head_dim', config.hidden_size // config.num_attention_heads) * seq
    mfu = 6 * n_params * train_tok_s / peak if peak else None
    mfu_attn = (6 * n_params + attn_per_token) * train_tok_s / peak if peak else None
    mem = torch.cuda.max_memory_allocated() / 2**30 if cuda else None

    # Generation: greedy, KV cache, every row runs the full length (no early stop).
    model.eval()
    prompts = torch.randint(0, config.vocab_size, (gen_batch, gen_prompt), device=device)
    with torch.no_grad():
        model.generate(prompts[:1], max_new_tokens=4, min_new_tokens=4, do_sample=False, pad_token_id=0)
        sync()
        t0 = time.time()
        out = model.generate(prompts, attention_mask=torch.ones_like(prompts), max_new_tokens=gen_tokens,
                             min_new_tokens=gen_tokens, do_sample=False, pad_token_id=0, use_cache=True)
        sync()
        gdt = time.time() - t0
    new = (out.shape[1] - gen_prompt) * gen_batch

    result = {
        'name': 'trainer-gpu',
        'skipped': False,
        'device': name,
        'torch': torch.__version__,
        'transformers': transformers.__version__,
        'config': kind + ('-tiny' if args.tiny else '-0.6b-shape'),
        'dtype': str(dtype).replace('torch.', ''),
        'params': n_params,
        'batch': batch,
        'seq': seq,
        'steps': steps,
        'final_loss': loss,
        'train_tokens_per_s': train_tok_s,
        'peak_flops': peak,
        'mfu': mfu,
        'mfu_attn': mfu_attn,
        'max_memory_gib': mem,
        'gen_batch': gen_batch,
        'gen_tokens_per_s': new / gdt,
        'target': 'mfu >= 0.35 on an H100/H200',
        'pass': (mfu is not None and mfu >= 0.35) if cuda else None,
    }
    print(f"{result['config']} {n_params / 1e6:.1f}M params on {name}: train {train_tok_s:,.0f} tok/s"
          + (f", MFU {mfu:.1%} ({mfu_attn:.1%} with attention)" if mfu else '') + f", generate {new / gdt:,.0f} tok/s", file=sys.stderr)
    emit(result)
    return 0


if __name__ == '__main__':
    sys.exit(main())
