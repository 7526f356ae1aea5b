"""The training child: LoRA fine-tuning of a GGUF model on the CPU, in a process of its own.

Started by `desktop.teach.trainer.Trainer` as `python -m desktop.teach.train_child` (torch,
transformers and peft are imported only here: Hearth itself never imports them). It reads
one JSON job on stdin and writes JSON lines on stdout:

    {"ev": "phase", "name": ..., "detail": ...}     loading, anchoring, training, checking
    {"ev": "step", "step", "total", "loss", "seconds", "seconds_left"}
    {"ev": "epoch", "epoch", "train_loss", "held_out_loss"}
    {"ev": "done", "adapter", "seconds", "peak_mb", "cosine", "before", "after", "epochs"}
    {"ev": "error", "message"}

What it does: loads the model with transformers from the GGUF file (dequantised), renders
each example with the model's own chat template, and trains a LoRA (rank 8 on the seven
projections) on the answers only. The user's examples are mixed with *anchor* examples:
general prompts shipped with Hearth, answered by the model itself before training, so the
adapter learns the user's task without forgetting how to answer anything else. A held-out
share of the examples stops training when their loss stops falling (the best epoch is
kept). The adapter is then written as a llama.cpp GGUF LoRA and checked: llama.cpp with the
adapter must give the same next-token logits as transformers with it (cosine ≥ 0.99), or
it is refused. Finally the held-out questions are answered by llama.cpp without and with
the adapter, for the before/after comparison. No network: everything is read from files.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

MIN_COSINE = 0.99
PR_SET_PDEATHSIG = 1  # prctl(2)
PARENT_GONE = 3  # the exit code when the parent went away


def emit(event: str, **fields: Any) -> None:
    sys.__stdout__.write(json.dumps({"ev": event, **fields}) + "\n")  # type: ignore[union-attr]
    sys.__stdout__.flush()  # type: ignore[union-attr]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def end_with_parent() -> None:
    """Training holds gigabytes: once the process that started it is gone (killed, crashed),
    stop too. The parent keeps this process's stdin open while it waits, so its end shows
    as end-of-file here; on Linux the kernel also kills this process when the parent dies,
    which works even while it is paused (stopped)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    def watch() -> None:
        sys.stdin.read()  # until the parent's end closes
        os._exit(PARENT_GONE)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main() -> int:
    sys.stdout = sys.stderr  # libraries' prints must not mix with the events
    job = json.loads(sys.stdin.readline())
    end_with_parent()
    try:
        run(job)
    except Exception as error:  # the parent shows it as a sentence; the traceback is logged
        import traceback

        traceback.print_exc()
        emit("error", message=f"{type(error).__name__}: {error}")
        return 1
    return 0


def run(job: dict[str, Any]) -> None:
    import torch

    started = time.monotonic()
    torch.manual_seed(int(job.get("seed", 0)))
    torch.set_num_threads(int(job["threads"]))
    base = Path(job["base"])
    emit("phase", name="loading", detail=base.name)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base.parent, gguf_file=base.name)
    model = AutoModelForCausalLM.from_pretrained(
        base.parent, gguf_file=base.name, dtype=torch.float32
    )
    system = str(job.get("system") or "")
    examples = [(e["prompt"], e["answer"]) for e in job["examples"]]
    held_out = [(e["prompt"], e["answer"]) for e in job["held_out"]]
    anchors = _anchor_examples(job, base, tokenizer, system)
    train_rows = [_row(tokenizer, system, p, a, job) for p, a in examples + anchors]
    held_rows = [_row(tokenizer, system, p, a, job) for p, a in held_out]
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=int(job["rank"]),
        lora_alpha=float(job["alpha"]),
        lora_dropout=0.05,
        target_modules=list(job["targets"]),
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, config)
    best = _train(model, tokenizer, train_rows, held_rows, job, started)
    if best is None:
        emit("error", message="cancelled")
        return
    model.load_state_dict(best, strict=False)
    model.eval()
    emit("phase", name="checking", detail="")
    adapter = Path(job["out"])
    _export(model, adapter, job)
    cosine = _agreement(model, tokenizer, base, adapter, system, held_out or examples, job)
    if cosine < MIN_COSINE:
        emit(
            "error",
            message=f"the adapter does not behave the same in llama.cpp (cosine {cosine:.3f})",
        )
        adapter.unlink(missing_ok=True)
        return
    before = _answers(base, None, tokenizer, system, held_out, job)
    after = _answers(base, adapter, tokenizer, system, held_out, job)
    emit(
        "done",
        adapter=str(adapter),
        seconds=time.monotonic() - started,
        peak_mb=_peak_mb(),
        cosine=cosine,
        before=before,
        after=after,
        anchors=len(anchors),
    )


def _row(tokenizer: Any, system: str, prompt: str, answer: str, job: dict[str, Any]) -> Any:
    """Token ids and labels of one example: the prompt as the chat template renders it
    (labels ignored), then the answer and the turn's end (learnt)."""
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}
    ]
    head = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    whole = tokenizer.apply_chat_template(
        [*messages, {"role": "assistant", "content": answer}], tokenize=False
    )
    if not whole.startswith(head):  # a template that changes the prompt around the answer
        whole = head + answer + (tokenizer.eos_token or "")
    head_ids = tokenizer(head, add_special_tokens=False)["input_ids"]
    tail_ids = tokenizer(whole[len(head) :], add_special_tokens=False)["input_ids"]
    limit = int(job.get("max_tokens", 512))
    ids = (head_ids + tail_ids)[:limit]
    labels = ([-100] * len(head_ids) + tail_ids)[:limit]
    return ids, labels


def _batches(rows: list[Any], size: int, pad: int) -> Any:
    import torch

    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        width = max(len(ids) for ids, _ in chunk)
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        labels = torch.full((len(chunk), width), -100, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for n, (row_ids, row_labels) in enumerate(chunk):
            ids[n, : len(row_ids)] = torch.tensor(row_ids)
            labels[n, : len(row_labels)] = torch.tensor(row_labels)
            mask[n, : len(row_ids)] = 1
        yield ids, labels, mask


def _answer_loss(model: Any, ids: Any, labels: Any, mask: Any) -> Any:
    """The summed cross-entropy of the answer tokens of a padded batch. The vocabulary
    projection is applied only where there is something to learn (the answers): most tokens
    of an example are its prompt, and their logits (49,152 floats each for the built-in
    model) would be most of the memory and a sixth of the time for nothing."""
    import torch

    inner = model.get_base_model()
    hidden = inner.model(input_ids=ids, attention_mask=mask).last_hidden_state
    targets = labels[:, 1:]
    learnt = targets != -100
    logits = inner.lm_head(hidden[:, :-1][learnt])
    return torch.nn.functional.cross_entropy(logits.float(), targets[learnt], reduction="sum")


def _loss(model: Any, rows: list[Any], size: int, pad: int) -> float:
    """The mean loss of the held-out rows' answer tokens."""
    import torch

    if not rows:
        return math.nan
    total, count = 0.0, 0
    with torch.no_grad():
        for ids, labels, mask in _batches(rows, size, pad):
            total += float(_answer_loss(model, ids, labels, mask))
            count += int((labels[:, 1:] != -100).sum())
    return total / max(1, count)


def _train(
    model: Any,
    tokenizer: Any,
    train_rows: list[Any],
    held_rows: list[Any],
    job: dict[str, Any],
    started: float,
) -> dict[str, Any] | None:
    """Train for up to `epochs`; the LoRA state of the epoch with the lowest held-out loss."""
    import random

    import torch

    size, epochs = int(job["batch"]), int(job["epochs"])
    budget = int(job.get("part_tokens", 256))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=float(job["lr"]))
    steps_per_epoch = math.ceil(len(train_rows) / size)
    total = steps_per_epoch * epochs
    emit("phase", name="training", detail=f"{len(train_rows)} examples, {total} steps")
    best_state, best_loss, worse = None, math.inf, 0
    step, train_started = 0, time.monotonic()
    order = list(train_rows)
    for epoch in range(1, epochs + 1):
        random.Random(epoch).shuffle(order)
        model.train()
        losses = []
        for start in range(0, len(order), size):
            losses.append(_step(model, order[start : start + size], budget, pad))
            optimizer.step()
            optimizer.zero_grad()
            step += 1
            elapsed = time.monotonic() - train_started
            emit(
                "step",
                step=step,
                total=total,
                loss=losses[-1],
                seconds=time.monotonic() - started,
                seconds_left=elapsed / step * (total - step),
            )
        model.eval()
        held = _loss(model, held_rows, size, pad)
        emit("epoch", epoch=epoch, train_loss=sum(losses) / len(losses), held_out_loss=held)
        if math.isnan(held) or held < best_loss:
            best_loss, worse = held, 0
            best_state = {
                k: v.detach().clone() for k, v in model.state_dict().items() if "lora_" in k
            }
        else:
            worse += 1
            if worse >= int(job.get("patience", 1)):
                break  # the held-out loss rose: the best epoch is kept
    return best_state


def _step(model: Any, batch: list[Any], budget: int, pad: int) -> float:
    """Accumulate the gradient of one batch's mean answer-token loss, in parts of at most
    `budget` padded tokens (the activations kept for the backward pass are most of
    training's memory: a batch of 8 rows of ~100 tokens at once held ~4 GB for the built-in
    model). The rows are sorted by length, so rows padded together are about as long and
    short rows still go through several at a time. The gradient is the batch's, whatever
    the budget."""
    learnt = sum(sum(label != -100 for label in labels[1:]) for _, labels in batch)
    total = 0.0
    for part in _parts(sorted(batch, key=lambda row: len(row[0])), budget):
        for ids, labels, mask in _batches(part, len(part), pad):
            loss = _answer_loss(model, ids, labels, mask) / max(1, learnt)
            loss.backward()
            total += float(loss.detach())
    return total


def _parts(rows: list[Any], budget: int) -> list[list[Any]]:
    """`rows` (sorted by length) in runs whose padded size (rows × the longest) fits
    `budget` tokens; a row longer than the budget goes alone."""
    parts: list[list[Any]] = []
    for row in rows:
        if parts and (len(parts[-1]) + 1) * len(row[0]) <= budget:
            parts[-1].append(row)
        else:
            parts.append([row])
    return parts


def _export(model: Any, path: Path, job: dict[str, Any]) -> None:
    from desktop.teach.export import write_adapter

    config = model.base_model.model.config
    state = {k: v.detach().float().numpy() for k, v in model.state_dict().items() if "lora_" in k}
    write_adapter(
        path,
        state,
        alpha=float(job["alpha"]),
        n_head=int(config.num_attention_heads),
        n_head_kv=int(getattr(config, "num_key_value_heads", config.num_attention_heads)),
        name=str(job.get("name", "")),
    )


def _llama(base: Path, adapter: Path | None, job: dict[str, Any], logits_all: bool = False) -> Any:
    import llama_cpp

    extra: dict[str, Any] = {} if adapter is None else {"lora_path": str(adapter)}
    return llama_cpp.Llama(
        model_path=str(base),
        n_ctx=int(job.get("n_ctx", 1024)),
        n_threads=int(job["threads"]),
        logits_all=logits_all,
        verbose=False,
        **extra,
    )


def _prompt_text(tokenizer: Any, system: str, prompt: str) -> str:
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}
    ]
    text: str = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    return text


def _agreement(
    model: Any,
    tokenizer: Any,
    base: Path,
    adapter: Path,
    system: str,
    pairs: list[tuple[str, str]],
    job: dict[str, Any],
) -> float:
    """The lowest cosine between transformers' and llama.cpp's next-token logits (both with
    the adapter) over a few prompts, on the same token ids."""
    import numpy as np
    import torch

    llm = _llama(base, adapter, job, logits_all=True)  # without: the last row is not kept
    worst = 1.0
    for prompt, _ in pairs[:3]:
        ids = tokenizer(_prompt_text(tokenizer, system, prompt), add_special_tokens=False)[
            "input_ids"
        ]
        with torch.no_grad():
            ours = model(input_ids=torch.tensor([ids])).logits[0, -1].numpy()
        llm.reset()
        llm.eval(ids)
        theirs = np.asarray(llm.scores[llm.n_tokens - 1], dtype=np.float64)
        ours = ours.astype(np.float64)
        cosine = float(ours @ theirs / (np.linalg.norm(ours) * np.linalg.norm(theirs)))
        worst = min(worst, cosine)
    llm.close()
    return worst


def _answers(
    base: Path,
    adapter: Path | None,
    tokenizer: Any,
    system: str,
    pairs: list[tuple[str, str]],
    job: dict[str, Any],
) -> list[str]:
    """Greedy answers of llama.cpp (with the adapter, or not) to the held-out prompts."""
    llm = _llama(base, adapter, job)
    answers = []
    for prompt, expected in pairs[: int(job.get("compare", 20))]:
        text = _prompt_text(tokenizer, system, prompt)
        budget = min(200, len(tokenizer(expected)["input_ids"]) + 24)
        out = llm.create_completion(
            text, max_tokens=budget, temperature=0.0, stop=["<|im_end|>", "<|endoftext|>"]
        )
        answers.append(str(out["choices"][0]["text"]).strip())
    llm.close()
    return answers


def _anchor_examples(
    job: dict[str, Any], base: Path, tokenizer: Any, system: str
) -> list[tuple[str, str]]:
    """General prompts answered by the model itself (with llama.cpp, before any training):
    learning them again keeps the adapter from changing how it answers everything else."""
    prompts = [str(p) for p in job.get("anchors", [])]
    if not prompts:
        return []
    emit("phase", name="anchoring", detail=f"{len(prompts)} general prompts")
    llm = _llama(base, None, job)
    pairs = []
    for prompt in prompts:
        out = llm.create_completion(
            _prompt_text(tokenizer, system, prompt),
            max_tokens=int(job.get("anchor_tokens", 64)),
            temperature=0.0,
            stop=["<|im_end|>", "<|endoftext|>"],
        )
        answer = str(out["choices"][0]["text"]).strip()
        if answer:
            pairs.append((prompt, answer))
    llm.close()
    return pairs


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    sys.exit(main())
