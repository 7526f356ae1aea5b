"""Prompt-lookup decoding on the built-in model: does drafting the next tokens from the
prompt pay on this machine?

Three ways of generating the same greedy reply, interleaved in each round, 2 threads:

- `plain`: llama-cpp-python's `create_completion` (what Hearth does);
- `llama-cpp-python lookup`: the same with `draft_model=LlamaPromptLookupDecoding(...)`
  (which also makes llama.cpp compute logits for every prompt token);
- `hearth lookup`: prompt tokens evaluated as usual (logits of the last one only), then at
  each step the tokens that followed the latest earlier occurrence of the last 1–3 tokens
  (up to `--draft` of them) are verified in one batch with logits for each position
  (llama.cpp's low-level API through llama-cpp-python), the longest agreeing run kept
  and the KV cache cut back after it.

Two kinds of request: copy-heavy ("rewrite/quote from this ~500-token text") and ordinary
chat. Prints tokens/s (prompt included: the time from the request to the last token), the
speed-up against `plain`, the draft acceptance and whether the outputs are identical.
Medians of `--rounds`.

    python packaging/bench/bench_lookup.py [--rounds 3] [--draft 8] [--tokens 200]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import llama_cpp  # noqa: E402
from llama_cpp.llama_speculative import LlamaPromptLookupDecoding  # noqa: E402

from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT  # noqa: E402
from desktop.core.types import ChatMessage  # noqa: E402
from desktop.inference.embedded import find_embedded_model  # noqa: E402
from desktop.inference.templates import ChatTemplate  # noqa: E402

TEXT = (
    "The town library opens at nine in the morning and closes at six in the evening from "
    "Monday to Friday. On Saturdays it opens at ten and closes at four. It is closed on "
    "Sundays and public holidays. Members may borrow up to eight books at a time for three "
    "weeks each, and may renew a loan twice online or at the desk, unless another member "
    "has reserved the book. Films and music may be borrowed for one week. A lost book costs "
    "its price plus a fee of five euros; a book returned late costs twenty cents a day, at "
    "most five euros. Children under twelve borrow for free and pay no late fees. The "
    "reading room on the first floor is quiet: phones must be silent and calls are made in "
    "the hall. The computers on the ground floor can be booked for one hour a day; printing "
    "costs ten cents a page in black and white and fifty cents in colour. Study rooms for "
    "two to six people can be booked a week ahead. Lost property is kept at the desk for "
    "one month. The library runs a reading club on the first Tuesday of each month at seven "
    "in the evening, and story time for children every Wednesday at four."
)
REQUESTS = {
    "copy-heavy": f"Here is a notice:\n\n{TEXT}\n\nCopy the notice above word for word.",
    "chat": "Write a short story about a fox who learns to bake bread.",
}


def quiet_llama(path: Path, **kwargs: Any) -> Any:
    with contextlib.redirect_stderr(io.StringIO()):
        llm = llama_cpp.Llama(
            model_path=str(path),
            n_ctx=2048,
            n_threads=2,
            n_threads_batch=2,
            verbose=False,
            **kwargs,
        )
    return llm


def prompt_tokens(llm: Any, text: str, template: ChatTemplate) -> list[int]:
    messages = [ChatMessage("system", DEFAULT_SYSTEM_PROMPT), ChatMessage("user", text)]
    rendered = template.render(messages)
    return list(llm.tokenize(rendered.encode("utf-8"), add_bos=False, special=True))


def is_end(llm: Any, token: int) -> bool:
    return bool(llama_cpp.llama_vocab_is_eog(llm._model.vocab, token))


def plain(llm: Any, tokens: list[int], max_tokens: int) -> tuple[list[int], dict[str, Any]]:
    llm.reset()
    out: list[int] = []
    for token in llm.generate(tokens, temp=0.0, repeat_penalty=1.0, reset=True):
        if is_end(llm, token) or len(out) >= max_tokens:
            break
        out.append(int(token))
    return out, {}


def _draft(history: list[int], size: int) -> list[int]:
    """The tokens after the latest earlier occurrence of the last 3, 2 or 1 tokens."""
    for n in (3, 2, 1):
        if len(history) <= n:
            continue
        tail = history[-n:]
        for start in range(len(history) - n - 1, -1, -1):
            if history[start : start + n] == tail:
                follow = history[start + n : start + n + size]
                if follow:
                    return follow
    return []


def hearth_lookup(
    llm: Any, tokens: list[int], max_tokens: int, size: int
) -> tuple[list[int], dict[str, Any]]:
    llm.reset()
    llm._ctx.kv_cache_clear()
    llm.eval(tokens)  # logits of the last prompt token only
    ctx, n_vocab = llm.ctx, llm.n_vocab()
    logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, -1), shape=(n_vocab,))
    token = int(np.argmax(logits))
    out = [token]
    history = [*tokens, token]
    n_past = len(tokens)
    batch = llama_cpp.llama_batch_init(size + 1, 0, 1)
    drafted = accepted = batches = 0
    try:
        while len(out) < max_tokens and not is_end(llm, token):
            draft = _draft(history, min(size, max_tokens - len(out)))
            step = [token, *draft]
            batch.n_tokens = len(step)
            for i, t in enumerate(step):
                batch.token[i] = t
                batch.pos[i] = n_past + i
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = 0
                batch.logits[i] = True
            if llama_cpp.llama_decode(ctx, batch) != 0:
                raise RuntimeError("llama_decode failed")
            batches += 1
            drafted += len(draft)
            rows = np.ctypeslib.as_array(
                llama_cpp.llama_get_logits(ctx), shape=(len(step), n_vocab)
            )
            best = rows.argmax(axis=1)
            kept = 0
            while kept < len(draft) and int(best[kept]) == draft[kept]:
                kept += 1
            accepted += kept
            new = [*draft[:kept], int(best[kept])]
            n_past += 1 + kept  # `token` and the accepted drafts are in the cache
            llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(ctx), 0, n_past, -1)
            for t in new:
                if len(out) >= max_tokens:
                    break
                out.append(t)
                history.append(t)
                if is_end(llm, t):
                    break
            token = out[-1]
    finally:
        llama_cpp.llama_batch_free(batch)
    if out and is_end(llm, out[-1]):
        out.pop()
    return out, {"drafted": drafted, "accepted": accepted, "batches": batches}


def library_lookup(llm: Any, tokens: list[int], max_tokens: int) -> tuple[list[int], dict]:
    return plain(llm, tokens, max_tokens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--draft", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=200)
    args = parser.parse_args()
    path = find_embedded_model()
    base = quiet_llama(path)
    drafting = quiet_llama(path, draft_model=LlamaPromptLookupDecoding(num_pred_tokens=10))
    model = base._model
    bos = model.token_get_text(base.token_bos())
    eos = model.token_get_text(base.token_eos())
    template = ChatTemplate.from_model(base.metadata.get("tokenizer.chat_template"), bos, eos)
    ways = {
        "plain": lambda toks: plain(base, toks, args.tokens),
        "llama-cpp-python lookup": lambda toks: library_lookup(drafting, toks, args.tokens),
        "hearth lookup": lambda toks: hearth_lookup(base, toks, args.tokens, args.draft),
    }
    results: dict[tuple[str, str], list[float]] = {}
    notes: dict[tuple[str, str], Any] = {}
    for number in range(args.rounds):
        for kind, text in REQUESTS.items():
            tokens = prompt_tokens(base, text, template)
            reference: list[int] | None = None
            order = list(ways) if number % 2 == 0 else list(reversed(ways))
            for name in order:
                started = time.perf_counter()
                out, info = ways[name](tokens)
                elapsed = time.perf_counter() - started
                results.setdefault((kind, name), []).append(len(out) / elapsed)
                if name == "plain":
                    reference = out
                notes[(kind, name)] = (out, info, len(tokens))
            assert reference is not None
            for name in ways:
                out, info, n_prompt = notes[(kind, name)]
                same = next(
                    (i for i, (a, b) in enumerate(zip(out, reference, strict=False)) if a != b),
                    None if len(out) == len(reference) else min(len(out), len(reference)),
                )
                notes[(kind, name)] = (same, info, n_prompt, len(out))
        print(f"round {number + 1} done", file=sys.stderr)
    print(
        f"built-in model, 2 threads, greedy, {args.tokens} tokens at most, draft "
        f"{args.draft}, medians of {args.rounds} rounds (tokens/s from the request)"
    )
    print("| request | way | tokens/s | vs plain | same output as plain | drafts accepted |")
    print("|---|---|---|---|---|---|")
    for kind in REQUESTS:
        reference = statistics.median(results[(kind, "plain")])
        for name in ways:
            rate = statistics.median(results[(kind, name)])
            same, info, n_prompt, n_out = notes[(kind, name)]
            share = (
                f"{info['accepted']}/{info['drafted']} in {info['batches']} batches" if info else ""
            )
            agree = "yes" if same is None else f"from token {same}"
            print(
                f"| {kind} ({n_prompt} → {n_out} tokens) | {name} | {rate:.1f} | "
                f"{rate / reference:.2f}× | {agree} | {share} |"
            )


if __name__ == "__main__":
    main()
