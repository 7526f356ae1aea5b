"""Model files that pass inspection but that an engine cannot run, for the trial-load tests.

* `write_llama_cpp_crash`: a llama GGUF whose key/value head count (3) does not divide its
  4 heads: llama.cpp aborts the process (GGML_ASSERT ggml_can_mul_mat) on the first decode.
* `write_ctransformers_crash`: a legacy GGML gpt2 with 0 heads (a division by zero: SIGFPE)
  or 3 heads for a 64-wide embedding (GGML_ASSERT: SIGABRT) inside ctransformers.
* `write_unknown_architecture`: a GGUF whose architecture llama.cpp does not know.
* `HANG_COMMAND`: a probe child that never answers, as a hung engine would.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gguf
import numpy as np

from tests import tinymodels

HANG_COMMAND = [sys.executable, "-c", "import time; time.sleep(600)"]


@contextmanager
def tiny_constants(**values: Any) -> Iterator[None]:
    saved = {name: getattr(tinymodels, name) for name in values}
    for name, value in values.items():
        setattr(tinymodels, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(tinymodels, name, value)


def write_llama_cpp_crash(path: Path) -> Path:
    with tiny_constants(N_HEAD_KV=3):
        return tinymodels.write_tiny_llama_gguf(path)


def write_ctransformers_crash(path: Path, n_head: int = 0) -> Path:
    with tiny_constants(N_HEAD=n_head):
        return tinymodels.write_tiny_gpt2_ggml(path)


def write_unknown_architecture(path: Path) -> Path:
    writer = gguf.GGUFWriter(str(path), "nosucharch")
    writer.add_name("mystery")
    writer.add_context_length(256)
    writer.add_block_count(1)
    writer.add_tokenizer_model("llama")
    tokens = ["<unk>", "<s>", "</s>", "▁hello"]
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * len(tokens))
    writer.add_token_types([2, 3, 3, 1])
    writer.add_tensor("token_embd.weight", np.zeros((len(tokens), 16), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
