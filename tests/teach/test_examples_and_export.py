"""Reading teaching examples (each problem a sentence naming its line) and writing a trained
LoRA in llama.cpp's layout (names and the query/key row order)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from desktop.inference.adapters import check_fits
from desktop.teach import trainer
from desktop.teach.examples import ExamplesError, read_examples, split
from desktop.teach.export import gguf_pairs, permute_rows, write_adapter
from tests.tinymodels import N_EMBD, N_FF, N_HEAD, N_HEAD_KV, N_LAYER, write_tiny_llama_gguf


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_examples_from_jsonl_and_csv(tmp_path: Path) -> None:
    rows = [{"prompt": f"Q{n}", "answer": f"A{n}"} for n in range(5)]
    rows[1] = {"user": "Q1", "assistant": "A1"}  # the chat names work too
    examples = read_examples(write_jsonl(tmp_path / "e.jsonl", rows))
    assert [(e.prompt, e.answer) for e in examples][:2] == [("Q0", "A0"), ("Q1", "A1")]
    csv = tmp_path / "e.csv"
    csv.write_text("question,answer\n" + "".join(f"Q{n},A{n}\n" for n in range(4)))
    assert len(read_examples(csv)) == 4
    training, held = split(examples)
    assert len(held) == 1 and len(training) == 4 and split(examples) == (training, held)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"prompt": "a", "answer": "b"}\nnot json\n', "line 2 is not JSON"),
        ('{"prompt": "a", "answer": ""}\n', "line 1: the 'answer' is missing or empty"),
        ('{"text": "a"}\n', "line 1: no prompt and answer"),
        ("[1, 2]\n", "line 1 is not a JSON object"),
        ('{"prompt": "a", "answer": "b"}\n', "has 1 example; teaching needs at least 4"),
    ],
)
def test_bad_examples_are_refused_with_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ExamplesError, match=message):
        read_examples(path)
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(ExamplesError, match="is not UTF-8"):
        read_examples(latin)


def test_query_rows_are_reordered_like_llama_cpp_orders_heads() -> None:
    # Two heads of four rows: each head's two rotary halves interleaved (0,2,1,3 within it).
    rows = np.arange(8 * 2).reshape(8, 2)
    assert permute_rows(rows, 2)[:, 0].tolist() == [0, 4, 2, 6, 8, 12, 10, 14]


def test_a_trained_state_becomes_an_adapter_that_fits(tmp_path: Path) -> None:
    model = write_tiny_llama_gguf(tmp_path / "tiny.gguf")
    rng = np.random.default_rng(0)
    state = {}
    for layer in range(N_LAYER):
        prefix = f"base_model.model.model.layers.{layer}"
        for module, (inputs, outputs) in {
            "self_attn.q_proj": (N_EMBD, N_EMBD),
            "self_attn.k_proj": (N_EMBD, N_EMBD * N_HEAD_KV // N_HEAD),
            "mlp.down_proj": (N_FF, N_EMBD),
        }.items():
            state[f"{prefix}.{module}.lora_A.default.weight"] = rng.normal(size=(8, inputs))
            state[f"{prefix}.{module}.lora_B.default.weight"] = rng.normal(size=(outputs, 8))
    pairs = gguf_pairs(state, N_HEAD, N_HEAD_KV)
    assert sorted(pairs)[:3] == [
        "blk.0.attn_k.weight",
        "blk.0.attn_q.weight",
        "blk.0.ffn_down.weight",
    ]
    q_b = state["base_model.model.model.layers.0.self_attn.q_proj.lora_B.default.weight"]
    assert np.array_equal(pairs["blk.0.attn_q.weight"][1], permute_rows(q_b, N_HEAD))
    down_b = state["base_model.model.model.layers.0.mlp.down_proj.lora_B.default.weight"]
    assert np.array_equal(pairs["blk.0.ffn_down.weight"][1], down_b)  # not reordered
    adapter = write_adapter(tmp_path / "a.gguf", state, 16.0, N_HEAD, N_HEAD_KV, name="mine")
    info = check_fits(adapter, model)
    assert (info.rank, info.alpha, len(info.weights)) == (8, 16.0, 6)


def test_without_the_component_teaching_says_how_to_add_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        trainer.importlib.util, "find_spec", lambda name: None if name == "peft" else object()
    )
    reason = trainer.missing_component()
    assert reason is not None and "(peft missing)" in reason and "hearth[teach]" in reason


def test_private_folders_left_by_killed_processes_are_swept() -> None:
    import subprocess
    import sys

    from desktop.core.files import private_temp_folder

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    first = private_temp_folder("teach")
    root = first.parent
    stale = root / f"hearth-teach-{dead.pid}-abc"
    stale.mkdir()
    (stale / "adapter.gguf").write_bytes(b"secret")
    second = private_temp_folder("teach")
    try:
        assert not stale.exists()  # its process is gone
        assert first.exists()  # this process still runs: its folder stays
        assert second.stat().st_mode & 0o777 == 0o700
    finally:
        first.rmdir()
        second.rmdir()
