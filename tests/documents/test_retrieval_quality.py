"""A small part of the retrieval evaluation (`packaging/bench/eval_retrieval.py`): four
standard library modules indexed and embedded for real, their questions asked by words, by
meaning and both; the fused search finds at least what the better of the two finds."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).parents[2] / "packaging" / "bench" / "eval_retrieval.py"
MODULES = ("bisect", "secrets", "fnmatch", "getpass")


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_retrieval", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_fused_search_finds_at_least_the_better_of_words_and_meaning(
    tmp_path: Path, embedding_model_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEARTH_EMBEDDING_MODEL", str(embedding_model_file))
    evaluation = load_script()
    questions = [q for q in evaluation.load_questions()["questions"] if q["module"] in MODULES]
    assert len(questions) >= 6
    with evaluation.prepared(tmp_path, MODULES, quiet=True) as (store, embedder, _, _):
        scores = evaluation.Evaluation(store, embedder, questions).recall()
    assert scores["both"] >= max(scores["words"], scores["meaning"]), scores
    assert scores["both"] >= 0.8, scores
