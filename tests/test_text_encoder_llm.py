"""MILS Text Encoder LLM without ComfyUI: a fake CLIP with ComfyUI's tokenize / generate / decode methods.

The fake tokenizes a text to one token per character, "generates" by answering the user turn it finds in
the tokens with ToyLLM (seeded with the seed it is given) behind a <think> block, and decodes characters
back; its text encoder is a torch module named like ComfyUI's (Qwen3_06B, Gemma2_2B, CLIPTextModel).
The real encoders run in tests/comfyui/test_text_encoder_llm_comfyui.py.
"""
from __future__ import annotations

import re

import pytest
import torch
from mils_pack.nodes import bridge
from mils_pack.nodes.model_memory import ManagedModel
from mils_pack.nodes.llm import MILSLLMGenerate
from mils_pack.nodes.loop import MILSLoop
from mils_pack.nodes.text_encoder_llm import CHAT_TEMPLATES, ClipGenerator, MILSTextEncoderLLM

from devkit.toys import ColourWordsEncoder, ToyLLM
from mils.cancel import cancel_scope
from mils.errors import GeneratorError, InputError
from mils.generators.base import GenerationParams

STOP = 0


class BaseGenerate:  # the name ComfyUI gives the mixin of its encoders that can sample tokens
    pass


def encoder_class(name: str, generates: bool = True):
    bases = (BaseGenerate, torch.nn.Module) if generates else (torch.nn.Module,)

    def init(self):
        torch.nn.Module.__init__(self)
        self.embed = torch.nn.Embedding(4, 2)

    return type(name, bases, {"__init__": init})


class FakeTE(torch.nn.Module):
    def __init__(self, encoder: str, generates: bool):
        super().__init__()
        self.inner = encoder_class(encoder, generates)()


class FakeCLIP:
    def __init__(self, encoder="Qwen3_06B", generates=True, user_turn=r"<\|im_start\|>user\n(.*?)<\|im_end\|>"):
        self.cond_stage_model = FakeTE(encoder, generates)
        self.user_turn = re.compile(user_turn, re.S)
        self.toy = ToyLLM()
        self.tokenized: list[tuple[str, dict]] = []
        self.seeds: list[int] = []
        self.sampling: list[dict] = []
        self.on_generate = None

    def tokenize(self, text, return_word_ids=False, **kwargs):
        self.tokenized.append((text, kwargs))
        return {"qwen3_06b": [[(ord(c), 1.0) for c in text]]}

    def generate(self, tokens, do_sample=True, max_length=256, temperature=1.0, top_k=50, top_p=0.95, min_p=0.0,
                 repetition_penalty=1.0, seed=None, presence_penalty=0.0):
        if self.on_generate:
            self.on_generate()
        text = "".join(chr(t) for t, _ in tokens["qwen3_06b"][0]).replace("\\(", "(").replace("\\)", ")")
        user = self.user_turn.search(text).group(1)
        self.seeds.append(seed)
        self.sampling.append(dict(do_sample=do_sample, max_length=max_length, temperature=temperature, top_k=top_k,
                                  top_p=top_p, repetition_penalty=repetition_penalty))
        reply = self.toy.generate(user, GenerationParams(seed=seed))[0]
        return [ord(c) for c in f"<think>\nseed {seed}, thinking it over\n</think>\n\n{reply}"] + [STOP]

    def decode(self, token_ids, skip_special_tokens=True):
        return "".join(chr(i) for i in token_ids if i != STOP)


PROMPT = "Candidates so far:\n0.5: a red (dark) tree\nWrite 3 new lines."


def test_qwen3_gets_one_user_turn_with_thinking_off():
    clip = FakeCLIP()
    ClipGenerator(clip).generate(PROMPT, GenerationParams(seed=3))
    text, kwargs = clip.tokenized[0]
    assert text == ("<|im_start|>user\nCandidates so far:\n0.5: a red \\(dark\\) tree\nWrite 3 new lines.<|im_end|>\n"
                    "<|im_start|>assistant\n<think>\n\n</think>\n\n")
    # the text is the whole turn: the tokenizers that would wrap it in their own template must not
    assert kwargs["llama_template"] == "{}" and kwargs["skip_template"] is True and kwargs["min_length"] == 1


@pytest.mark.parametrize("encoder, family", [("Qwen25_7BVLI", "chatml"), ("Gemma2_2B", "gemma"),
                                             ("Gemma3_12B", "gemma"), ("Gemma4_E4B", "gemma4"),
                                             ("Ministral3_3B", "mistral"), ("Qwen3VL", "qwen3"), ("Qwen35", "qwen3")])
def test_each_family_gets_its_chat_format(encoder, family):
    gen = ClipGenerator(FakeCLIP(encoder))
    assert gen.family == family
    assert gen.format_prompt("hi") == CHAT_TEMPLATES[family].format("hi")
    assert ("<think>" in gen.format_prompt("hi")) == (family == "qwen3")


def test_replies_have_no_think_block_and_reply_r_uses_seed_plus_r():
    clip = FakeCLIP()
    gen = ClipGenerator(clip)
    replies = gen.generate(PROMPT, GenerationParams(seed=10, num_replies=3, temperature=0.7, top_p=0.8,
                                                    max_new_tokens=64))
    assert clip.seeds == [10, 11, 12] and len(replies) == 3
    assert all("think" not in r and r.startswith("1. ") for r in replies), replies
    assert len(set(replies)) > 1, "different seeds, different replies"
    alone = ClipGenerator(FakeCLIP()).generate(PROMPT, GenerationParams(seed=11, temperature=0.7, top_p=0.8))
    assert alone == [replies[1]], "reply 1 of seed 10 is reply 0 of seed 11"
    s = clip.sampling[0]
    assert s["do_sample"] and s["temperature"] == 0.7 and s["top_p"] == 0.8 and s["max_length"] == 64


def test_temperature_zero_is_greedy_and_asks_once():
    clip = FakeCLIP()
    replies = ClipGenerator(clip).generate(PROMPT, GenerationParams(temperature=0.0, num_replies=3))
    assert len(clip.seeds) == 1 and clip.sampling[0]["do_sample"] is False and len(set(replies)) == 1


def test_node_settings_reach_the_sampler():
    clip = FakeCLIP()
    (handle,) = MILSTextEncoderLLM().wrap(clip, 40, 1.1)
    handle.use().generate(PROMPT, GenerationParams())
    assert clip.sampling[0]["top_k"] == 40 and clip.sampling[0]["repetition_penalty"] == 1.1


def test_the_loop_runs_p_replies_per_step_on_the_encoder(monkeypatch, tmp_path):
    monkeypatch.setattr(bridge, "state_dir", lambda: tmp_path / "states")
    clip = FakeCLIP()
    (llm,) = MILSTextEncoderLLM().wrap(clip, 0, 1.0)
    image = torch.full((1, 16, 16, 3), 0.05)
    image[..., 0] = 0.9
    out = MILSLoop().run(llm, task="auto", budget="preview", keep=3, new_per_step=4, steps=2, parallel=2,
                         patience=0, seed=5, image=image, scorer=ManagedModel(ColourWordsEncoder, label="toy"),
                         initial="a red tree\na blue sea\na cup")
    best = out["result"][0]
    assert best and "think" not in best[0]
    assert len(clip.seeds) == 4, "2 steps x P=2 replies"
    assert clip.seeds[0] + 1 == clip.seeds[1] and clip.seeds[2] + 1 == clip.seeds[3], "seed + reply index"
    assert clip.seeds[0] != clip.seeds[2], "each step its own seed"


def test_llm_generate_parses_the_encoder_reply():
    (llm,) = MILSTextEncoderLLM().wrap(FakeCLIP(), 0, 1.0)
    out = MILSLLMGenerate().generate(llm, "Write captions", "0.5: a red tree\nWrite 3 new lines.", 3, 7, 0.7, 0.9,
                                     128)
    candidates, reply = out["result"]
    assert 1 <= len(candidates) <= 3 and "think" not in reply


def test_cancel_between_replies_stops_asking_the_encoder():
    clip = FakeCLIP()
    with cancel_scope(lambda: len(clip.seeds) >= 1):
        replies = ClipGenerator(clip).generate(PROMPT, GenerationParams(num_replies=4))
    assert len(clip.seeds) == 1 and replies[0] and replies[1:] == ["", "", ""]


def test_comfyui_interrupt_between_replies_stops_too(monkeypatch):
    clip = FakeCLIP()
    monkeypatch.setattr(bridge, "interrupt_requested", lambda: len(clip.seeds) >= 2)
    replies = ClipGenerator(clip).generate(PROMPT, GenerationParams(num_replies=4))
    assert len(clip.seeds) == 2 and replies[2:] == ["", ""]


def test_an_interrupt_raised_inside_generate_propagates_as_itself_and_ends_the_batch(monkeypatch):
    """ComfyUI's progress hook raises its interrupt inside CLIP.generate and clears the flag as it does: the
    exception itself must reach the search (which counts it as a cancel), not a GeneratorError."""
    class InterruptProcessingException(Exception):
        pass

    clip, calls = FakeCLIP(), []

    def interrupt():
        calls.append(1)
        raise InterruptProcessingException()

    clip.on_generate = interrupt
    monkeypatch.setattr(bridge, "is_interrupt", lambda e: isinstance(e, InterruptProcessingException))
    with pytest.raises(InterruptProcessingException):
        ClipGenerator(clip).generate(PROMPT, GenerationParams(num_replies=3))
    assert len(calls) == 1, "no reply is asked after the interrupt"
    with pytest.raises(InterruptProcessingException):   # a batch ends at the cancel, nothing after it is asked
        ClipGenerator(clip).generate_batch([PROMPT, PROMPT], [GenerationParams(), GenerationParams()])
    assert len(calls) == 2


def test_a_failing_encoder_is_a_generator_error_in_its_slot():
    clip = FakeCLIP()

    def boom():
        raise RuntimeError("CUDA out of memory")

    clip.on_generate = boom
    gen = ClipGenerator(clip)
    with pytest.raises(GeneratorError, match="out of memory"):
        gen.generate(PROMPT, GenerationParams())
    out = gen.generate_batch([PROMPT, PROMPT], [GenerationParams(), GenerationParams()])
    assert all(isinstance(o, GeneratorError) for o in out)


def test_a_comfyui_without_clip_generate_names_the_input_and_the_version():
    class OldCLIP:  # ComfyUI < 0.15: tokenize and encode, no generate / decode
        cond_stage_model = FakeTE("Qwen3_4B", True)

        def tokenize(self, text, **kw):
            return {}

    with pytest.raises(InputError) as e:
        MILSTextEncoderLLM().wrap(OldCLIP(), 0, 1.0)
    msg = str(e.value)
    assert "clip" in msg and "0.15" in msg and "Qwen3" in msg and "Gemma" in msg


@pytest.mark.parametrize("encoder", ["CLIPTextModel", "T5"])
def test_an_encoder_that_cannot_generate_names_the_input_and_what_works(encoder):
    with pytest.raises(InputError) as e:
        MILSTextEncoderLLM().wrap(FakeCLIP(encoder, generates=False), 0, 1.0)
    msg = str(e.value)
    assert "clip" in msg and encoder in msg and "Qwen3" in msg and "Ministral" in msg


def test_no_clip_at_all_is_an_input_error():
    with pytest.raises(InputError, match="clip"):
        MILSTextEncoderLLM().wrap(None, 0, 1.0)


def test_the_socket_shares_the_given_clip():
    clip = FakeCLIP()
    (handle,) = MILSTextEncoderLLM().wrap(clip, 0, 1.0)
    gen = handle.use()
    assert gen.clip is clip and not hasattr(gen, "model"), "no copy, and nothing for a second model manager to wrap"
