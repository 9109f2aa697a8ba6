"""TransformersGenerator: a tiny random Llama built in code (default suite) and SmolLM2 GGUF (``real``)."""
from __future__ import annotations

import dataclasses
import logging
import time

import pytest
import torch

from devkit.tiny_models import make_tiny_llama as _save_tiny_lm
from mils.errors import InputError, ModelNotFoundError
from mils.generators.base import GenerationParams
from mils.generators.transformers_lm import TransformersGenerator, load_transformers_generator
from mils.model_cache import MODEL_CACHE

log = logging.getLogger(__name__)

PROMPT = "zebra quokka zebra quokka zebra quokka zebra quokka"
SAMPLE = GenerationParams(temperature=1.0, top_p=0.95, max_new_tokens=6, seed=7, num_replies=4)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return _save_tiny_lm(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture
def gen(tiny_dir) -> TransformersGenerator:
    MODEL_CACHE.unload()
    g = load_transformers_generator(str(tiny_dir), device="cpu")
    yield g
    MODEL_CACHE.unload()


def test_loads_as_generator(gen, tiny_dir):
    replies = gen.generate(PROMPT, dataclasses.replace(SAMPLE, num_replies=3))   # what the search asks of it
    assert len(replies) == 3 and all(isinstance(r, str) for r in replies)
    assert gen.key == f"transformers:{tiny_dir.resolve()}"
    assert gen.uses_chat_template
    assert gen.format_prompt("the cat") == "<|user|> the cat </s> <|assistant|>"


def test_seeded_sampling_is_deterministic_and_seed_dependent(gen):
    a = gen.generate(PROMPT, SAMPLE)
    b = gen.generate(PROMPT, SAMPLE)
    c = gen.generate(PROMPT, dataclasses.replace(SAMPLE, seed=8))
    assert len(a) == SAMPLE.num_replies
    assert a == b
    assert a != c
    assert len(set(a)) > 1  # batched sampling gives different replies within one call


@pytest.mark.parametrize("n", [1, 3])
def test_num_replies(gen, n):
    from dataclasses import replace

    assert len(gen.generate(PROMPT, replace(SAMPLE, num_replies=n))) == n


def test_only_new_text_is_returned(gen):
    for reply in gen.generate(PROMPT, SAMPLE):
        assert "zebra quokka zebra" not in reply
        assert "<|assistant|>" not in reply and "<|user|>" not in reply and "</s>" not in reply
        assert len(reply.split()) <= SAMPLE.max_new_tokens


def test_global_rng_state_untouched(gen):
    torch.manual_seed(1234)
    before = torch.get_rng_state()
    gen.generate(PROMPT, SAMPLE)
    assert torch.equal(before, torch.get_rng_state())
    expected = torch.Generator().manual_seed(1234)
    assert torch.equal(torch.rand(3), torch.rand(3, generator=expected))


def test_greedy_is_repeatable_and_seed_independent(gen):
    greedy = GenerationParams(temperature=0.0, max_new_tokens=6, seed=1, num_replies=3)
    a = gen.generate(PROMPT, greedy)
    assert len(a) == 3 and len(set(a)) == 1
    assert gen.generate(PROMPT, dataclasses.replace(greedy, seed=99)) == a


def test_invalid_params_rejected(gen):
    with pytest.raises(InputError):
        gen.generate(PROMPT, GenerationParams(num_replies=0))


def test_raw_prompt_without_chat_template(tmp_path):
    folder = _save_tiny_lm(tmp_path / "plain", chat_template=None)
    g = load_transformers_generator(str(folder), device="cpu")
    try:
        assert not g.uses_chat_template
        assert g.format_prompt("the cat") == "the cat"
        out = g.generate("the cat sits on", GenerationParams(temperature=0.7, max_new_tokens=4, seed=3, num_replies=2))
        assert len(out) == 2
    finally:
        MODEL_CACHE.unload()


def test_cache_returns_same_object(tiny_dir):
    MODEL_CACHE.unload()
    loads = MODEL_CACHE.loads
    g1 = load_transformers_generator(str(tiny_dir), device="cpu")
    g2 = load_transformers_generator(str(tiny_dir), device="cpu", dtype="float32")
    g3 = load_transformers_generator(tiny_dir, device="cpu")
    assert g1 is g2 is g3
    assert MODEL_CACHE.loads - loads == 1
    assert [k.kind for k in MODEL_CACHE.keys()] == ["generator"]
    MODEL_CACHE.unload()


def test_missing_folder(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelNotFoundError) as ei:
        load_transformers_generator(str(missing))
    msg = str(ei.value)
    assert str(missing) in msg and "mils download" in msg and "huggingface-cli download" in msg


def test_missing_gguf_file(tmp_path):
    missing = tmp_path / "model.Q4_0.gguf"
    with pytest.raises(ModelNotFoundError, match="model.Q4_0.gguf"):
        load_transformers_generator(str(missing))
    with pytest.raises(ModelNotFoundError, match="nope.gguf"):
        load_transformers_generator(str(tmp_path), gguf_file="nope.gguf")


def test_empty_folder(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no config.json"):
        load_transformers_generator(str(tmp_path))


def test_offline_hub_id():
    # conftest sets HF_HUB_OFFLINE=1; this id is not in any local hub cache.
    with pytest.raises(ModelNotFoundError) as ei:
        load_transformers_generator("mils-nodes-test/definitely-not-a-model")
    assert "mils-nodes-test/definitely-not-a-model" in str(ei.value)
    assert "huggingface-cli download mils-nodes-test/definitely-not-a-model" in str(ei.value)


def test_corrupt_gguf_file(tmp_path):
    bad = tmp_path / "model.gguf"
    bad.write_text("this is a text file, not a model\n")
    with pytest.raises(InputError) as ei:
        load_transformers_generator(str(bad))
    assert str(bad) in str(ei.value) and "GGUF" in str(ei.value)

    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\x00" * 16)
    with pytest.raises(InputError, match="truncated.gguf"):
        load_transformers_generator(str(truncated))


def test_corrupt_folder(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(InputError, match="config"):
        load_transformers_generator(str(tmp_path))


@pytest.mark.real
def test_smollm2_gguf_writes_captions():
    from devkit.real_models import SMOLLM2_GGUF, smollm2_gguf_path
    from mils.parsing import parse_candidates

    path = smollm2_gguf_path()
    t0 = time.perf_counter()
    gen = load_transformers_generator(path, device="cpu")
    t_load = time.perf_counter() - t0
    assert gen.key.endswith(f":{SMOLLM2_GGUF}")
    assert load_transformers_generator(path, device="cpu") is gen

    prompt = ("Write 5 short captions for a photo of a cat. "
              "Answer with a numbered list, one caption per line, nothing else.")
    t0 = time.perf_counter()
    replies = gen.generate(prompt, GenerationParams(temperature=0.5, top_p=0.9, max_new_tokens=120, seed=0,
                                                    num_replies=1))
    t_gen = time.perf_counter() - t0
    log.info("SmolLM2 load %.1f s, generate %.1f s:\n%s", t_load, t_gen, replies[0])
    assert len(replies) == 1
    assert any(line.strip() for line in replies[0].splitlines())
    candidates = parse_candidates(replies[0])
    assert len(candidates) >= 2, replies[0]
    MODEL_CACHE.unload()


def test_generation_stops_early_when_the_search_is_cancelled(gen):
    from mils.cancel import cancel_scope

    params = GenerationParams(temperature=0.0, max_new_tokens=40)
    full = gen.tokenizer(gen.generate("a cat", params)[0], add_special_tokens=False)["input_ids"]
    with cancel_scope(lambda: True):
        cut = gen.tokenizer(gen.generate("a cat", params)[0], add_special_tokens=False)["input_ids"]
    assert len(cut) <= 1 < len(full)


# --- parallel replies: one batch, one seed per row ---------------------------------------------

def test_each_reply_equals_the_same_reply_generated_alone(gen):
    from dataclasses import replace

    from mils.generators.base import row_seed

    batch = gen.generate(PROMPT, replace(SAMPLE, max_new_tokens=10))
    for r, reply in enumerate(batch):
        alone = gen.generate(PROMPT, replace(SAMPLE, max_new_tokens=10, seed=row_seed(SAMPLE.seed, r), num_replies=1))
        assert alone == [reply], f"reply {r} depends on the batch"


def test_generate_batch_pads_left_and_matches_each_prompt_alone(gen):
    from dataclasses import replace

    other = replace(SAMPLE, seed=3, num_replies=2, max_new_tokens=4)  # other length, other budget
    prompts = [PROMPT, "the cat", "a dog sleeps on a sofa near the window"]
    params = [SAMPLE, other, GenerationParams(temperature=0.0, max_new_tokens=5, num_replies=2)]
    batch = gen.generate_batch(prompts, params)
    assert [len(b) for b in batch] == [4, 2, 2]
    for prompt, p, got in zip(prompts, params, batch):
        assert gen.generate(prompt, p) == got


def test_default_parallel_on_cpu(gen):
    assert gen.default_parallel == 4


def test_generate_batch_returns_a_failure_in_place(gen, monkeypatch):
    from mils.errors import GeneratorError

    def boom(*a, **k):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(gen.model, "generate", boom)
    out = gen.generate_batch([PROMPT, "the cat"], [SAMPLE, SAMPLE])
    assert all(isinstance(o, GeneratorError) and "out of memory" in str(o) for o in out)


def test_a_reply_stops_at_the_end_of_its_list(gen):
    import torch

    ids = gen.tokenizer(PROMPT, add_special_tokens=False)["input_ids"]
    gen._newlines = torch.arange(len(gen.tokenizer))  # pretend every token ends a line
    try:
        short = gen.generate(PROMPT, GenerationParams(temperature=1.0, max_new_tokens=12, seed=1, num_replies=3,
                                                      max_items=2))
    finally:
        gen._newlines = None
    assert all(len(gen.tokenizer(r, add_special_tokens=False)["input_ids"]) <= 3 for r in short), short
    assert ids  # the prompt tokenises (sanity)
    assert gen._newline_ids().numel() >= 0  # the real table builds


@pytest.mark.real
def test_smollm2_parallel_replies_equal_each_reply_alone():
    from dataclasses import replace

    from devkit.real_models import smollm2_gguf_path
    from mils.generators.base import row_seed

    gen = load_transformers_generator(smollm2_gguf_path(), device="cpu")
    prompt = "Write 2 short captions for a photo of a cat, as a numbered list."
    params = GenerationParams(temperature=0.5, top_p=0.9, max_new_tokens=40, seed=5, num_replies=3, max_items=2)
    batch = gen.generate(prompt, params)
    assert len(batch) == 3
    for r, reply in enumerate(batch):
        assert gen.generate(prompt, replace(params, seed=row_seed(5, r), num_replies=1)) == [reply]
    assert all(reply.count("\n") <= 3 for reply in batch), batch
    MODEL_CACHE.unload()


def test_row_sampler_draws_from_the_nucleus_and_each_row_alone_draws_the_same():
    from mils.generators.transformers_lm import _Row, _RowSampler

    vocab = 2000
    g = torch.Generator().manual_seed(0)
    peaked = torch.full((vocab,), -10.0)            # nucleus inside the top tokens
    peaked[torch.randperm(vocab, generator=g)[:20]] = torch.rand(20, generator=g) * 2
    flat = torch.randn(vocab, generator=g) * 0.1     # nucleus needs the whole vocabulary sorted
    scores = torch.stack([peaked, flat, peaked])
    params = GenerationParams(temperature=1.0, top_p=0.5)
    rows = [_Row([1], seed, params) for seed in (11, 12, 13)]
    for _ in range(3):
        together = _RowSampler(rows, torch.device("cpu"))(None, scores).argmax(-1)
        alone = [int(_RowSampler([row], torch.device("cpu"))(None, scores[i:i + 1]).argmax(-1))
                 for i, row in enumerate(rows)]
        assert together.tolist() == alone
    probs = torch.softmax(peaked, -1)
    order = torch.argsort(probs, descending=True)
    nucleus = order[: int((probs[order].cumsum(0) < 0.5).sum()) + 1].tolist()
    draws = {int(_RowSampler([_Row([1], s, params)], torch.device("cpu"))(None, peaked[None]).argmax(-1))
             for s in range(40)}
    assert draws <= set(nucleus) and len(draws) > 1
