"""Converts a GGUF file into a Hugging Face checkpoint directory, once, at set-up.

    python -m agents.trainer.worker.convert_gguf FILE.gguf OUT_DIR

transformers reads GGUF (through the gguf package) and dequantises it to float32; the
result is saved with safetensors and looptool's chat template, which renders tools (the
template inside SmolLM2's GGUF does not).
"""
from __future__ import annotations

import os
import shutil
import sys

import torch

from .model import read_template, require


def convert(gguf_path: str, out: str) -> None:
    require('gguf')
    require('transformers')
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = os.path.split(os.path.abspath(gguf_path))
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    # The loaded model remembers it came from a quantised file and refuses to save; its
    # weights are plain float32 tensors by now.
    model.hf_quantizer = None
    if hasattr(model.config, 'quantization_config'):
        del model.config.quantization_config
    tok.chat_template = read_template()
    tmp = f'{out}.tmp-{os.getpid()}'
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print('usage: python -m agents.trainer.worker.convert_gguf FILE.gguf OUT_DIR', file=sys.stderr)
        return 2
    convert(argv[0], argv[1])
    print(f'converted {argv[0]} -> {argv[1]}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
