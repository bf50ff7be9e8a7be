"""Model backends: the built-in tiny GPT and Hugging Face checkpoints.

A backend owns a trainable torch module and its tokenizer, renders prompts, and offers
the few forward passes the engine needs (prefill, decode, hidden states for training).
Hugging Face imports happen only inside HFBackend: the CPU path needs torch alone.
"""
from __future__ import annotations

import inspect
import json
import os
import sys

import torch

from .render import RenderError, normalize_tool, render_chatml, to_hf_messages
from .tiny_gpt import PRESETS, GPTConfig, ListCache, StaticCache, TinyGPT
from .tokenizer import ByteTokenizer


class BadRequest(ValueError):
    """A request the worker cannot serve as given; the message names the field."""


def pick_device(requested: str | None) -> str:
    if requested in (None, '', 'auto'):
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    if requested.startswith('cuda') and not torch.cuda.is_available():
        raise BadRequest(f'model.device: {requested!r} asked for, but torch {torch.__version__} sees no CUDA device')
    return requested


class Backend:
    kind = 'base'
    #: the engine may run a group's prompt once and share its keys/values (training, generation)
    shares_prefix = False
    #: finished rows can be dropped from a generation batch
    can_select = False
    device = 'cpu'
    dtype = torch.float32
    model: torch.nn.Module
    eos_id: int
    pad_id: int
    stop_ids: set

    # --- text -------------------------------------------------------------------------
    def render(self, prompt, where: str) -> list[int]:
        """A prompt is {"text"}, {"ids"} or {"tools", "messages"}."""
        if not isinstance(prompt, dict):
            raise BadRequest(f'{where}: expected an object with "text", "ids" or "messages"')
        if 'ids' in prompt:
            ids = prompt['ids']
            if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and 0 <= i < self.vocab_size for i in ids):
                raise BadRequest(f'{where}.ids: expected a non-empty array of token ids below {self.vocab_size}')
            return list(ids)
        if 'text' in prompt:
            if not isinstance(prompt['text'], str) or not prompt['text']:
                raise BadRequest(f'{where}.text: expected a non-empty string')
            return self.encode(prompt['text'])
        if 'messages' in prompt:
            try:
                return self.encode(self.render_text(prompt.get('tools') or [], prompt['messages']))
            except RenderError as e:
                raise BadRequest(f'{where}.{e}') from None
        raise BadRequest(f'{where}: expected "text", "ids" or "messages"')

    def completion_ids(self, item: dict, where: str, add_eos: bool) -> list[int]:
        if 'completion_ids' in item:
            ids = item['completion_ids']
            if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and 0 <= i < self.vocab_size for i in ids):
                raise BadRequest(f'{where}.completion_ids: expected a non-empty array of token ids below {self.vocab_size}')
            return list(ids)
        text = item.get('completion')
        if not isinstance(text, str):
            raise BadRequest(f'{where}.completion: expected a string (or completion_ids)')
        ids = self.encode(text)
        if add_eos:
            ids.append(self.eos_id)
        if not ids:
            raise BadRequest(f'{where}.completion: empty completion and add_eos is false')
        return ids

    def render_text(self, tools, messages) -> str:
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def decode(self, ids) -> str:
        raise NotImplementedError

    # --- forward passes ----------------------------------------------------------------
    def hidden(self, idx, pos, key_mask):
        """Full-sequence hidden states [B, T, d] with gradients (training)."""
        raise NotImplementedError

    def out_logits(self, h):
        raise NotImplementedError

    def prefill(self, idx, pos, key_mask):
        """-> (logits of the last position [B, V], cache)."""
        raise NotImplementedError

    def expand(self, cache, repeats, max_len):
        raise NotImplementedError

    def decode_step(self, tok, pos, key_mask, cache):
        """tok, pos: [B, 1] -> (logits [B, V], cache)."""
        raise NotImplementedError

    def select(self, cache, rows):
        raise NotImplementedError

    def max_len(self) -> int | None:
        return None

    def info(self) -> dict:
        raise NotImplementedError

    def trainable_parameters(self):
        return [p for p in self.model.parameters() if p.requires_grad]


class TinyBackend(Backend):
    kind = 'tiny'
    shares_prefix = True
    can_select = True

    def __init__(self, spec: dict, device: str, config: dict | None = None):
        self.spec = spec
        self.tok = ByteTokenizer.from_config(spec.get('tokenizer_config') or {})
        if config is None:
            size = spec.get('size', 'tiny-0.5m')
            if size not in PRESETS and size != 'custom':
                raise BadRequest(f'model.size: expected one of {", ".join(PRESETS)} or "custom", got {size!r}')
            n_layer, n_head, d_model = PRESETS.get(size, (2, 4, 128))
            config = {
                'vocab_size': self.tok.vocab_size,
                'n_layer': int(spec.get('n_layer', n_layer)),
                'n_head': int(spec.get('n_head', n_head)),
                'd_model': int(spec.get('d_model', d_model)),
                'max_seq_len': int(spec.get('max_seq_len', 1024)),
                'dropout': float(spec.get('dropout', 0.0)),
            }
        try:
            self.cfg = GPTConfig.from_dict(config)
        except (TypeError, ValueError) as e:
            raise BadRequest(str(e)) from None
        self.device = device
        self.model = TinyGPT(self.cfg).to(device)
        self.style = spec.get('prompt_style', 'compact')
        self.vocab_size = self.tok.vocab_size
        self.eos_id = self.tok.eos_id
        self.pad_id = self.tok.pad_id
        self.stop_ids = set(self.tok.stop_ids)

    def render_text(self, tools, messages) -> str:
        return render_chatml(tools, messages, style=self.style)

    def encode(self, text):
        return self.tok.encode(text)

    def decode(self, ids):
        return self.tok.decode(ids)

    def hidden(self, idx, pos, key_mask, cache=None):
        return self.model.hidden(idx, pos, key_mask, cache)

    def out_logits(self, h):
        return self.model.logits(h)

    def prefill(self, idx, pos, key_mask):
        cache = ListCache(self.cfg.n_layer)
        h = self.model.hidden(idx, pos, key_mask, cache)
        return self.model.logits(h[:, -1]), cache

    def expand(self, cache, repeats, max_len):
        return StaticCache(cache, repeats, max_len)

    def decode_step(self, tok, pos, key_mask, cache):
        h = self.model.hidden(tok, pos, key_mask, cache)
        return self.model.logits(h[:, -1]), cache

    def select(self, cache, rows):
        cache.select(rows)
        return cache

    def max_len(self):
        return self.cfg.max_seq_len

    def info(self) -> dict:
        return {
            'kind': 'tiny',
            'size': self.spec.get('size', 'tiny-0.5m'),
            'params': self.model.num_params(),
            'config': self.cfg.to_dict(),
            'tokenizer': self.tok.config(),
            'prompt_style': self.style,
        }

    def state_dict(self):
        return self.model.state_dict()

    def load_state_dict(self, sd):
        self.model.load_state_dict(sd)

    def save_model(self, directory: str) -> dict:
        return {'config': self.cfg.to_dict()}


class HFBackend(Backend):
    """A local Hugging Face checkpoint directory (nothing is downloaded)."""

    kind = 'hf'

    def __init__(self, spec: dict, device: str, adapter_dir: str | None = None, weights_dir: str | None = None):
        try:
            import transformers  # noqa: F401
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as e:
            raise BadRequest(
                f'model.kind "hf" needs the transformers package, which this interpreter ({sys.executable}) '
                f'cannot import ({e}); install transformers (and peft for LoRA) or use model.kind "tiny"'
            ) from None
        path = spec.get('path')
        if not isinstance(path, str) or not os.path.isdir(path):
            raise BadRequest(f'model.path: expected a local checkpoint directory, got {path!r}')
        self.spec = spec
        self.device = device
        want = spec.get('dtype', 'auto')
        if want == 'auto':
            self.dtype = torch.bfloat16 if device.startswith('cuda') else torch.float32
        else:
            self.dtype = {'bfloat16': torch.bfloat16, 'float16': torch.float16, 'float32': torch.float32}[want]
        trust = bool(spec.get('trust_remote_code', False))
        self.tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust, local_files_only=True)
        version = tuple(int(p) for p in transformers.__version__.split('.')[:2])
        dtype_kw = 'dtype' if version >= (4, 56) else 'torch_dtype'
        kwargs = {dtype_kw: self.dtype, 'trust_remote_code': trust, 'local_files_only': True}
        if spec.get('attn_implementation'):
            kwargs['attn_implementation'] = spec['attn_implementation']
        # The tokenizer always comes from the base directory; a full fine-tune's weights from
        # the checkpoint's model/ folder.
        model = AutoModelForCausalLM.from_pretrained(weights_dir or path, **kwargs)
        if spec.get('gradient_checkpointing'):
            model.gradient_checkpointing_enable()
            if hasattr(model, 'enable_input_require_grads'):
                model.enable_input_require_grads()
        self.lora = spec.get('lora')
        if self.lora or adapter_dir:
            try:
                from peft import LoraConfig, PeftModel, get_peft_model
            except ImportError as e:
                raise BadRequest(f'model.lora needs the peft package ({e})') from None
            if adapter_dir:
                model = PeftModel.from_pretrained(model, adapter_dir, is_trainable=True)
            else:
                lc = LoraConfig(
                    r=int(self.lora.get('r', 16)),
                    lora_alpha=int(self.lora.get('alpha', 32)),
                    lora_dropout=float(self.lora.get('dropout', 0.0)),
                    target_modules=self.lora.get('target_modules') or 'all-linear',
                    task_type='CAUSAL_LM',
                )
                model = get_peft_model(model, lc)
        self.model = model.to(device)
        self.base = model.get_base_model() if hasattr(model, 'get_base_model') else model
        self.decoder = self.base.get_decoder()
        self.lm_head = self.base.get_output_embeddings()
        self.vocab_size = int(self.lm_head.weight.shape[0])
        vocab = self.tok.get_vocab()
        im_end = vocab.get('<|im_end|>')
        self.eos_id = im_end if im_end is not None else self.tok.eos_token_id
        self.stop_ids = {i for i in (im_end, self.tok.eos_token_id) if i is not None}
        self.pad_id = self.tok.pad_token_id if self.tok.pad_token_id is not None else self.eos_id
        fwd = inspect.signature(self.base.forward).parameters
        self._keep_kw = 'logits_to_keep' if 'logits_to_keep' in fwd else ('num_logits_to_keep' if 'num_logits_to_keep' in fwd else None)

    def render_text(self, tools, messages) -> str:
        mode = self.spec.get('chat_template', 'auto')
        if mode != 'chatml' and getattr(self.tok, 'chat_template', None):
            oa_tools = [{'type': 'function', 'function': normalize_tool(t, f'tools.{i}')} for i, t in enumerate(tools)]
            extra = {}
            if 'enable_thinking' in self.spec:
                extra['enable_thinking'] = bool(self.spec['enable_thinking'])
            try:
                return self.tok.apply_chat_template(
                    to_hf_messages(messages), tools=oa_tools or None, add_generation_prompt=True, tokenize=False, **extra
                )
            except TypeError as e:  # transformers too old for tools=; fall back to our ChatML
                print(f'[worker] chat template without tools support ({e}); using ChatML', file=sys.stderr)
        return render_chatml(tools, messages, style='full')

    def encode(self, text):
        return self.tok(text, add_special_tokens=False)['input_ids']

    def decode(self, ids):
        return self.tok.decode(ids, skip_special_tokens=False)

    def hidden(self, idx, pos, key_mask, cache=None):
        out = self.decoder(input_ids=idx, attention_mask=key_mask.long(), position_ids=pos, use_cache=False)
        return out.last_hidden_state if hasattr(out, 'last_hidden_state') else out[0]

    def out_logits(self, h):
        return self.lm_head(h)

    def _call(self, idx, pos, key_mask, cache):
        kw = dict(input_ids=idx, attention_mask=key_mask.long(), position_ids=pos, past_key_values=cache, use_cache=True)
        if self._keep_kw:
            kw[self._keep_kw] = 1
        out = self.model(**kw)
        return out.logits[:, -1].float(), out.past_key_values

    def prefill(self, idx, pos, key_mask):
        return self._call(idx, pos, key_mask, None)

    def decode_step(self, tok, pos, key_mask, cache):
        return self._call(tok, pos, key_mask, cache)

    def max_len(self):
        return getattr(self.base.config, 'max_position_embeddings', None)

    def info(self) -> dict:
        total = sum(p.numel() for p in self.model.parameters())
        trainable = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        return {
            'kind': 'hf',
            'path': self.spec.get('path'),
            'params': total,
            'trainable_params': trainable,
            'dtype': str(self.dtype).replace('torch.', ''),
            'lora': self.lora or None,
            'model_type': getattr(self.base.config, 'model_type', None),
        }

    def save_model(self, directory: str) -> dict:
        # LoRA: only the adapter is written; the base checkpoint path is in the spec.
        self.model.save_pretrained(os.path.join(directory, 'model'))
        return {}

    def state_dict(self):
        return None

    def load_state_dict(self, sd):
        pass


def build_backend(spec, device_req: str | None, saved: dict | None = None, ckpt_dir: str | None = None) -> Backend:
    if not isinstance(spec, dict):
        raise BadRequest('model: expected an object with "kind"')
    kind = spec.get('kind', 'tiny')
    device = pick_device(spec.get('device', device_req))
    if kind == 'tiny':
        return TinyBackend(spec, device, config=(saved or {}).get('config'))
    if kind == 'hf':
        if ckpt_dir:
            model_dir = os.path.join(ckpt_dir, 'model')
            if spec.get('lora'):
                return HFBackend(spec, device, adapter_dir=model_dir)
            return HFBackend(spec, device, weights_dir=model_dir)
        return HFBackend(spec, device)
    raise BadRequest(f'model.kind: expected "tiny" or "hf", got {json.dumps(kind)}')
