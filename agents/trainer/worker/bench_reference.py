"""The baseline of `npm run bench -- trainer`: the same work done the plain transformers way.

Reads one JSON job on stdin — a checkpoint path, thread count, and any of: SFT samples,
GRPO groups (token ids, sampling log-probs, advantages), generation prompts, BFCL answer
prompts — and prints one JSON line: sequences per second of a plain training loop
(`model(input_ids, labels=...)`, backward, AdamW) for SFT, of the plain per-sequence GRPO
loss for a GRPO step, new tokens per second of sampled `model.generate`, and answers per
second of greedy `model.generate` over the answer prompts in batches (`npm run bench --
eval`). Same model, dtype (fp32 on the CPU), batch and threads as the worker, so the ratio
measures what our orchestration costs or saves.
"""
from __future__ import annotations

import json
import sys
import time

import torch
import torch.nn.functional as F


def main() -> int:
    job = json.loads(sys.stdin.read())
    torch.set_num_threads(int(job['threads']))
    torch.manual_seed(0)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(job['path'], local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(job['path'], dtype=torch.float32, local_files_only=True)
    end = tok.convert_tokens_to_ids('<|im_end|>')

    def prompt_ids(p):
        text = tok.apply_chat_template(p['messages'], tools=[{'type': 'function', 'function': t} for t in p['tools']] or None,
                                       add_generation_prompt=True, tokenize=False)
        return tok(text, add_special_tokens=False)['input_ids']

    def padded(seqs, pad, left=False):
        t = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), t), pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), t), dtype=torch.long)
        for i, s in enumerate(seqs):
            sl = slice(t - len(s), t) if left else slice(0, len(s))
            ids[i, sl] = torch.tensor(s)
            mask[i, sl] = 1
        return ids, mask

    out = {}
    if 'sft' in job:
        train(job, model, tok, end, prompt_ids, padded, out)
    if 'gen' in job:
        sample(job['gen'], model, tok, end, prompt_ids, padded, out)
    if 'answer' in job:
        answer(job['answer'], model, tok, end, prompt_ids, padded, out)
    print(json.dumps(out))
    return 0


def train(job, model, tok, end, prompt_ids, padded, out):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, foreach=True)
    model.train()
    # SFT: labels -100 on the prompt, one batch per step
    seqs, labels = [], []
    for s in job['sft']:
        p = prompt_ids(s['prompt'])
        c = tok(s['completion'], add_special_tokens=False)['input_ids'] + [end]
        seqs.append(p + c)
        labels.append([-100] * len(p) + c)
    ids, mask = padded(seqs, tok.pad_token_id or 0)
    lab, _ = padded(labels, -100)
    times = []
    for _ in range(job['steps'] + 1):
        t0 = time.perf_counter()
        loss = model(input_ids=ids, attention_mask=mask, labels=lab).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t0)
    out['sft_seq_s'] = len(seqs) / (sum(times[1:]) / job['steps'])
    # GRPO step: every (prompt, completion) in full, per-token log-probs, clipped surrogate
    rows, olds, advs, starts = [], [], [], []
    for g in job['grpo']:
        p = prompt_ids(g['prompt'])
        for c in g['completions']:
            rows.append(p + c['token_ids'])
            olds.append(c['logprobs'])
            advs.append(c['advantage'])
            starts.append(len(p))
    ids, mask = padded(rows, tok.pad_token_id or 0)
    times = []
    for _ in range(job['steps'] + 1):
        t0 = time.perf_counter()
        logits = model(input_ids=ids, attention_mask=mask).logits.float()
        lp = F.log_softmax(logits[:, :-1], dim=-1).gather(2, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
        total, n = 0.0, 0
        for i, (st, old, a) in enumerate(zip(starts, olds, advs)):
            cur = lp[i, st - 1: st - 1 + len(old)]
            ratio = torch.exp(cur - torch.tensor(old))
            loss_t = torch.max(-a * ratio, -a * ratio.clamp(0.8, 1.28))
            total = total + loss_t.sum()
            n += len(old)
        (total / n).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t0)
    out['grpo_seq_s'] = len(rows) / (sum(times[1:]) / job['steps'])


def sample(gen, model, tok, end, prompt_ids, padded, out):
    """Sampled generation: n per prompt, one left-padded batch."""
    model.eval()
    pids = [prompt_ids(p) for p in gen['prompts']]
    ids, mask = padded(pids, tok.pad_token_id or 0, left=True)
    with torch.inference_mode():
        t0 = time.perf_counter()
        o = model.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=1.0, top_k=0, top_p=1.0,
                           num_return_sequences=gen['n'], max_new_tokens=gen['max_new_tokens'], eos_token_id=end,
                           pad_token_id=tok.pad_token_id or 0)
        dt = time.perf_counter() - t0
    new = o[:, ids.shape[1]:]
    produced = 0
    for row in new.tolist():
        produced += next((k + 1 for k, t in enumerate(row) if t == end), len(row))
    out['gen_tok_s'] = produced / dt


def answer(job, model, tok, end, prompt_ids, padded, out):
    """Greedy answers in batches of job['batch'], in order, as a plain script would run a
    benchmark's questions; the first batch also warms up and is timed like the rest."""
    model.eval()
    pids = [prompt_ids(p) for p in job['prompts']]
    produced = 0
    with torch.inference_mode():
        t0 = time.perf_counter()
        for k in range(0, len(pids), job['batch']):
            ids, mask = padded(pids[k:k + job['batch']], tok.pad_token_id or 0, left=True)
            o = model.generate(input_ids=ids, attention_mask=mask, do_sample=False,
                               max_new_tokens=job['max_new_tokens'], eos_token_id=end, pad_token_id=tok.pad_token_id or 0)
            for row in o[:, ids.shape[1]:].tolist():
                produced += next((j + 1 for j, t in enumerate(row) if t == end), len(row))
        dt = time.perf_counter() - t0
    out['answers_s'] = len(pids) / dt
    out['answer_tok_s'] = produced / dt


if __name__ == '__main__':
    sys.exit(main())
