"""MILS Loop and MILS Renderer called directly, without ComfyUI (the bridge degrades to no-ops; renders are faked)."""
import sys
from types import SimpleNamespace

import pytest
import torch
from mils_pack.nodes import bridge
from mils_pack.nodes.model_memory import ManagedModel
from mils_pack.nodes.loop import MILSLoop
from mils_pack.nodes.renderer import MILSRenderer

from devkit.toys import ColourWordsEncoder, ScriptedLLM, ToyLLM
from mils.errors import GeneratorError, InputError
from mils.scorers.embedding import EmbeddingScorer

RENDER_WIDGETS = {"sampler_name", "scheduler", "cfg", "negative", "denoise", "width", "height", "batch"}


def toy_handles():
    return ManagedModel(ToyLLM, label="toy llm"), ManagedModel(ColourWordsEncoder, label="toy scorer")


def coloured(*channels, size=16):
    img = torch.full((len(channels), size, size, 3), 0.05)
    for i, c in enumerate(channels):
        img[i, ..., c] = 0.9
    return img


@pytest.fixture(autouse=True)
def own_state_dir(monkeypatch, tmp_path):
    """Each test keeps its searches' resumable state to itself (a Cancel in one must not resume in another)."""
    monkeypatch.setattr(bridge, "state_dir", lambda: tmp_path / "states")
    return tmp_path / "states"


RED, GREEN, BLUE = 0, 1, 2
START = "a dark blue sea\na light green field\nan old red tree\na small cup\nnight"


def loop(llm=None, **kw):
    toy_llm, scorer = toy_handles()
    args = dict(task="auto", budget="preview", keep=4, new_per_step=5, steps=3, parallel=0, patience=0, seed=1,
                scorer=scorer)
    args.update(kw)
    return MILSLoop().run(llm or toy_llm, **args)


def renderer(content_image=None, denoise=0.6, batch=4):
    return MILSRenderer().make(object(), object(), object(), "euler", "normal", 2, 7.0, 64, 64, "", batch,
                               content_image=content_image, denoise=denoise)[0]


def test_captioning_shows_no_rendering_widget_and_the_renderer_has_them():
    loop_inputs = {**MILSLoop.INPUT_TYPES()["required"], **MILSLoop.INPUT_TYPES()["optional"]}
    renderer_inputs = {**MILSRenderer.INPUT_TYPES()["required"], **MILSRenderer.INPUT_TYPES()["optional"]}
    assert not RENDER_WIDGETS & set(loop_inputs) and not {"model", "clip", "vae", "content_image"} & set(loop_inputs)
    assert RENDER_WIDGETS | {"model", "clip", "vae", "content_image", "steps"} <= set(renderer_inputs)
    assert {"llm", "scorer", "renderer", "image", "video", "audio", "target", "keep", "new_per_step", "steps",
            "parallel", "seed"} <= set(loop_inputs)


def test_loop_captions_an_image_with_all_outputs(monkeypatch):
    events = []
    monkeypatch.setattr(bridge, "send_event", lambda name, data: events.append((name, data)))
    out = loop(image=coloured(RED), initial=START)
    best, top_k, scores, best_image, curve, conditioning = out["result"]
    assert best == [top_k[0]] and scores == sorted(scores, reverse=True) and len(top_k) == 4
    assert EmbeddingScorer(ColourWordsEncoder(), ColourWordsEncoder().encode_image(coloured(RED))[0]).score(best)[0] \
        >= max(EmbeddingScorer(ColourWordsEncoder(), ColourWordsEncoder().encode_image(coloured(RED))[0]).score(
            START.splitlines()))
    assert best_image.shape == (1, 16, 16, 3) and curve.shape[0] == 1 and curve.shape[-1] == 3
    assert conditioning is None
    assert [e[1]["step"] for e in events] == [0, 1, 2, 3] and {e[1]["task"] for e in events} == {"image_caption"}
    assert events[-1][1]["leaderboard"][0]["text"] == best[0]
    assert out["ui"]["mils_leaderboard"][0]["text"] == best[0] and "best" in out["ui"]["text"][0]


def test_loop_is_deterministic_under_its_seed():
    a = loop(image=coloured(RED), seed=3)["result"][:3]
    b = loop(image=coloured(RED), seed=3)["result"][:3]
    c = loop(image=coloured(RED), seed=4)["result"][:3]
    assert a == b and a != c


def test_an_image_batch_gives_one_caption_per_image_equal_to_each_alone(monkeypatch):
    events = []
    monkeypatch.setattr(bridge, "send_event", lambda name, data: events.append(data))
    out = loop(image=coloured(RED, GREEN, BLUE), initial=START, seed=5)
    assert {(e["search"], e["searches"]) for e in events} == {(1, 3), (2, 3), (3, 3)}
    best, top_k, scores, best_image, curve, _ = out["result"]
    assert len(best) == 3 and len(top_k) == 12 and len(scores) == 12 and curve.shape[0] == 3
    assert best_image.shape[0] == 3
    enc = ColourWordsEncoder()
    for i, colour in enumerate((RED, GREEN, BLUE)):
        alone = loop(image=coloured(colour), initial=START, seed=5)["result"]
        assert best[i] == alone[0][0] and top_k[4 * i:4 * i + 4] == alone[1], f"image {i + 1} differs from alone"
        own = EmbeddingScorer(enc, enc.encode_image(coloured(colour))[0]).score(best)
        assert own[i] >= max(own) - 1e-5, f"image {i + 1}'s caption fits it best"
    assert out["ui"]["text"][0].startswith("image 1: best") and "image 3: best" in out["ui"]["text"][0]


def test_video_caption_reads_an_image_batch_as_frames(monkeypatch):
    seen = []
    monkeypatch.setattr(bridge, "send_event", lambda name, data: seen.append(data["task"]))
    best = loop(task="video_caption", image=coloured(RED, RED, GREEN, RED))["result"][0]
    assert set(seen) == {"video_caption"} and len(best) == 1


class FakeVideo:
    """ComfyUI's VIDEO (VideoInput): get_components() gives the frames."""

    def __init__(self, frames=None, error=None):
        self.frames, self.error = frames, error

    def get_components(self):
        if self.error:
            raise self.error
        return SimpleNamespace(images=self.frames, audio=None, frame_rate=24)


def test_a_video_input_is_captioned_from_its_frames(monkeypatch):
    seen = []
    monkeypatch.setattr(bridge, "send_event", lambda name, data: seen.append(data["task"]))
    frames = coloured(BLUE, BLUE, BLUE)
    via_video = loop(video=FakeVideo(frames), initial=START)["result"]
    via_frames = loop(task="video_caption", image=frames, initial=START)["result"]
    assert set(seen) == {"video_caption"} and via_video[:2] == via_frames[:2]
    assert via_video[2] == pytest.approx(via_frames[2], abs=1e-6)
    with pytest.raises(InputError, match="video.*decoded.*broken file"):
        loop(video=FakeVideo(error=RuntimeError("broken file")))
    with pytest.raises(InputError, match="video.*not both"):
        loop(task="video_caption", video=FakeVideo(frames), image=frames)
    with pytest.raises(InputError, match="video.*VIDEO"):
        loop(video="clip.mp4")


def test_loop_errors_name_their_input():
    with pytest.raises(InputError, match="image"):
        loop()
    with pytest.raises(InputError, match="keep"):
        loop(image=coloured(RED), initial="a cat\na dog", keep=5)
    with pytest.raises(InputError, match="text"):
        loop(task="t2i_enhance", renderer=renderer())
    with pytest.raises(InputError, match="renderer"):
        loop(task="t2i_enhance", text="a cat")
    with pytest.raises(InputError, match="audio.*AUDIO"):
        loop(task="audio_caption", image=coloured(RED))
    with pytest.raises(InputError, match="video"):
        loop(task="video_caption")
    with pytest.raises(InputError, match="parallel"):
        loop(image=coloured(RED), new_per_step=3, parallel=4)
    with pytest.raises(InputError, match="scorer"):
        loop(image=coloured(RED), scorer=None)


def test_parallel_replies_reach_the_llm():
    asked = []

    class CountingLLM(ToyLLM):
        def generate(self, prompt, params):
            asked.append(params.num_replies)
            return super().generate(prompt, params)

    loop(ManagedModel(CountingLLM, label="counting"), image=coloured(RED), initial=START, steps=2, new_per_step=4,
         parallel=4)
    assert asked and set(asked) == {4}, "P=4 replies per step"
    asked.clear()
    loop(ManagedModel(CountingLLM, label="counting"), image=coloured(RED), initial=START, steps=2, new_per_step=4,
         parallel=1)
    assert set(asked) == {1}


def test_an_llm_that_fails_is_a_clear_error_with_the_best_so_far():
    class DownLLM:
        key = "down"

        def generate(self, prompt, params):
            raise GeneratorError("LLM server http://127.0.0.1:9 is down")

    with pytest.raises(GeneratorError, match="is down.*best so far"):
        loop(ManagedModel(DownLLM, label="down"), image=coloured(RED), initial=START)


def test_interrupt_stops_the_loop_between_steps(monkeypatch):
    calls = {"n": 0}

    def interrupted():
        calls["n"] += 1
        return calls["n"] > 2

    monkeypatch.setattr(bridge, "interrupt_requested", interrupted)
    out = loop(image=coloured(RED), steps=10)
    assert "cancelled" in out["ui"]["text"][0]


class PaintRenderer:
    """Stands in for ComfyUI sampling: paints the last colour word a prompt names (on the content image, if any)."""

    made: dict = {}

    def __init__(self, model, clip, vae, **kw):
        PaintRenderer.made = kw
        self.key, self.kw = "paint", kw
        self.content, self.denoise = kw.get("content_image"), kw.get("denoise", 1.0)

    def render(self, texts, seed):
        cols = {"red": 0, "green": 1, "blue": 2}
        out = []
        for t in texts:
            img = self.content[0].clone() if self.content is not None else torch.full((8, 8, 3), 0.1)
            idx = next((cols[w] for w in reversed(t.split()) if w in cols), None)
            if idx is not None:
                img[..., idx] = (1 - self.denoise) * img[..., idx] + self.denoise * 0.9
            out.append(img)
        return torch.stack(out)

    def conditioning(self, text):
        return [[torch.zeros(1, 77, 8), {"pooled_output": None, "text": text}]]


@pytest.fixture
def paint(monkeypatch):
    import mils_pack.nodes.comfy_render as comfy_render

    monkeypatch.setattr(comfy_render, "ComfyRenderer", PaintRenderer)
    return PaintRenderer


def test_prompt_enhancement_renders_with_the_renderer(paint):
    settings = renderer(batch=3)
    out = loop(text="a light red poster", initial="a blue poster", renderer=settings)
    best, top_k, scores, best_image, curve, conditioning = out["result"]
    assert best_image.shape == (1, 8, 8, 3) and float(best_image[0, ..., 0].mean()) > 0.5
    assert conditioning[0][1]["text"] == best[0]
    assert paint.made["steps"] == 2 and paint.made["width"] == 64 and paint.made["batch_size"] == 3
    assert paint.made["content_image"] is None and paint.made["denoise"] == 1.0


def test_edit_mode_takes_the_content_image_and_denoise_of_the_renderer(paint):
    content = torch.zeros(1, 8, 8, 3)
    content[..., 2] = 0.5
    intent = "a light red poster"
    llm = ManagedModel(lambda: ScriptedLLM(["1. make it red\n2. make it green"]), label="scripted")
    out = loop(llm, text=intent, initial="make it blue", renderer=renderer(content, denoise=0.8), keep=2,
               new_per_step=2, steps=1)
    assert paint.made["content_image"] is content and paint.made["denoise"] == 0.8
    best, top_k, scores, best_image, _, _ = out["result"]
    enc, editor = ColourWordsEncoder(), PaintRenderer(None, None, None, **paint.made)
    target = enc.encode_text([intent])[0]
    texts = [intent, "make it blue", "make it red", "make it green"]
    render_score = {t: float(enc.encode_image(editor.render([t], 0))[0] @ target) for t in texts}
    assert best[0] == max(render_score, key=render_score.get)
    assert top_k == sorted(texts, key=render_score.get, reverse=True)[:2]
    assert scores == pytest.approx([render_score[t] for t in top_k], abs=1e-5)
    assert torch.allclose(best_image, editor.render([best[0]], 0))


def test_renderer_node_checks_its_inputs():
    with pytest.raises(InputError, match="vae"):
        MILSRenderer().make(object(), object(), None, "euler", "normal", 2, 7.0, 64, 64, "", 4)
    with pytest.raises(InputError, match="content_image.*one image"):
        renderer(content_image=torch.zeros(2, 8, 8, 3))
    assert "edit, denoise 0.5" in repr(renderer(torch.zeros(1, 8, 8, 3), denoise=0.5))


def test_style_transfer_searches_edit_instructions_ranked_by_gram_loss(paint):
    """The Loop with MILS Gram Style and a renderer: instructions are rendered as edits of the content image."""
    import torch.nn as nn
    from mils_pack.nodes.gram import GramStyleHandle

    from mils.scorers.gram_features import ModuleFeatures

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1))
    features = ManagedModel(lambda: ModuleFeatures(net, {"a": "0", "b": "2"}, key="tiny-cnn", content_layer="b"),
                            label="tiny cnn")
    content = torch.rand(1, 32, 32, 3) * 0.3
    style = content.clone()
    style[..., 2] = 0.9                                    # the "style" is a blue version of the photo
    handle = GramStyleHandle(features, style, content, size=32)
    llm = ManagedModel(lambda: ToyLLM(vocab=["red", "green", "blue", "tint", "make", "it", "strong"]), label="toy")
    out = loop(llm, scorer=None, keep=2, new_per_step=6, steps=5, seed=3, style_scorer=handle,
               renderer=renderer(denoise=1.0), initial="make it red\nmake it green\nmake it warm")
    best, top_k, scores = out["result"][:3]
    assert "blue" in best[0].split() and scores == sorted(scores), (top_k, scores)  # minimised: lowest first
    assert paint.made["content_image"] is content, "the Gram Style's content image is edited"
    with pytest.raises(InputError, match="content_image"):
        loop(llm, scorer=None, keep=1, new_per_step=2, steps=1, style_scorer=GramStyleHandle(features, style, None,
                                                                                              size=32),
             renderer=renderer(), initial="make it red")
    with pytest.raises(InputError, match="renderer"):
        loop(llm, scorer=None, keep=1, new_per_step=2, steps=1, style_scorer=handle, initial="make it red")


def test_arithmetic_target_is_inverted_by_the_loop():
    from mils_pack.nodes.arithmetic import MILSArithmeticTerm, MILSEmbeddingArithmetic

    llm, scorer = toy_handles()
    (terms,) = MILSArithmeticTerm().add(1.0, image=coloured(RED))
    target, recipe = MILSEmbeddingArithmetic().combine(scorer, "-1 dark\n+1 light green", terms=terms)
    assert recipe == "+1 image 1 -1 'dark' +1 'light green'"
    start = ["a blue sea", "an old tree", "a cup", "night sky", "red light"]
    out = loop(llm, scorer=scorer, keep=4, new_per_step=6, steps=4, seed=2, target=target, initial="\n".join(start))
    rate = EmbeddingScorer(scorer.use(), target)
    assert rate.score(out["result"][0])[0] > max(rate.score(start)), "the inverted text is closer than any start"
    with pytest.raises(InputError, match="target"):
        loop(task="image_caption", image=coloured(RED), target=target)


def test_a_requeue_after_cancel_resumes_at_the_last_finished_step(monkeypatch, own_state_dir):
    prompts = []

    class RecordingToy(ToyLLM):
        def generate(self, prompt, params):
            prompts.append((params.seed, prompt))
            return super().generate(prompt, params)

    llm = ManagedModel(RecordingToy, label="recording")
    whole = loop(llm, image=coloured(RED), initial=START, steps=4, unique_id="7")["result"]
    assert not list(own_state_dir.glob("*.json")), "a finished search leaves no state behind"
    uninterrupted = list(prompts)
    prompts.clear()

    finished = []
    monkeypatch.setattr(bridge, "send_event", lambda name, data: finished.append(data["step"]))
    monkeypatch.setattr(bridge, "interrupt_requested", lambda: len(finished) >= 3)   # after steps 0, 1, 2
    out = loop(llm, image=coloured(RED), initial=START, steps=4, unique_id="7")
    assert "cancelled" in out["ui"]["text"][0] and len(list(own_state_dir.glob("*.json"))) == 1
    first_part = list(prompts)
    assert len(first_part) == 2
    prompts.clear()
    monkeypatch.setattr(bridge, "interrupt_requested", lambda: False)
    resumed = loop(llm, image=coloured(RED), initial=START, steps=4, unique_id="7")["result"]
    assert first_part + prompts == uninterrupted, "no finished step was asked again"
    assert resumed[:2] == whole[:2] and resumed[2] == pytest.approx(whole[2])
    prompts.clear()
    loop(llm, image=coloured(RED), initial=START, steps=4, unique_id="7", resume=False)
    assert prompts == uninterrupted, "resume off starts over"


# --- Cancel inside ComfyUI: the queue shows an interruption, never an error ------------------------

class FakeComfy:
    """ComfyUI's interrupt as the engine meets it: /interrupt sets a flag; the sampler's callback and every
    ProgressBar update raise InterruptProcessingException once and clear the flag."""

    class InterruptProcessingException(Exception):
        pass

    def __init__(self, monkeypatch):
        import types

        self.flag = False
        mm = types.ModuleType("comfy.model_management")
        mm.InterruptProcessingException = self.InterruptProcessingException
        mm.processing_interrupted = lambda: self.flag
        mm.throw_exception_if_processing_interrupted = self.throw
        utils = types.ModuleType("comfy.utils")
        fake = self

        class ProgressBar:
            def __init__(self, total):
                self.total = total

            def update_absolute(self, value, total=None, preview=None):
                fake.throw()   # ComfyUI's progress hook

        utils.ProgressBar = ProgressBar
        comfy = types.ModuleType("comfy")
        comfy.model_management, comfy.utils = mm, utils
        for name, mod in (("comfy", comfy), ("comfy.model_management", mm), ("comfy.utils", utils),
                          ("folder_paths", types.ModuleType("folder_paths"))):
            monkeypatch.setitem(sys.modules, name, mod)

    def throw(self):
        if self.flag:
            self.flag = False
            raise self.InterruptProcessingException()


class InterruptingLLM(ToyLLM):
    """Presses Cancel during its ``at``-th call; ``how``: "flag" (the flag only, as /interrupt does), "raise"
    (the exception itself, flag cleared, as a sampler callback does), "wrapped" (inside a backend's error)."""

    comfy: FakeComfy = None
    at, how = 2, "flag"

    def generate(self, prompt, params):
        if self.calls + 1 == self.at:
            self.comfy.flag = True
            if self.how != "flag":
                self.comfy.flag = False
                try:
                    raise self.comfy.InterruptProcessingException()
                except Exception as e:
                    if self.how == "raise":
                        raise
                    raise GeneratorError("generation failed") from e
        return super().generate(prompt, params)


class InterruptingEncoder(ColourWordsEncoder):
    comfy: FakeComfy = None
    at = 0

    def encode_text(self, texts):
        self.calls = getattr(self, "calls", 0) + 1
        if self.calls == self.at:
            self.comfy.flag = True
            self.comfy.throw()
        return super().encode_text(texts)


@pytest.mark.parametrize("images", [1, 3])
def test_a_cancel_at_any_moment_shows_as_an_interruption_and_a_requeue_resumes(monkeypatch, own_state_dir, images):
    comfy = FakeComfy(monkeypatch)
    InterruptingLLM.comfy = InterruptingEncoder.comfy = comfy
    moments = [("llm", at, how) for at in (1, 2, 4) for how in ("flag", "raise", "wrapped")]
    moments += [("encode", at, "raise") for at in (2, 3, 5)]
    for where, at, how in moments:
        monkeypatch.setattr(InterruptingLLM, "at", at if where == "llm" else 0)
        monkeypatch.setattr(InterruptingLLM, "how", how)
        monkeypatch.setattr(InterruptingEncoder, "at", at if where == "encode" else 0)
        llm = ManagedModel(InterruptingLLM, label="interrupting")
        scorer = ManagedModel(InterruptingEncoder, label="interrupting scorer")
        image = coloured(*[RED, GREEN, BLUE][:images])
        with pytest.raises(FakeComfy.InterruptProcessingException):
            loop(llm, scorer=scorer, image=image, initial=START, steps=6, unique_id="9")
        assert not comfy.flag
        if where == "llm":  # the starts were scored: their state is kept for a requeue
            assert len(list(own_state_dir.glob("*.json"))) == images, f"{where} call {at} ({how})"
        monkeypatch.setattr(InterruptingLLM, "at", 0)
        monkeypatch.setattr(InterruptingEncoder, "at", 0)
        out = loop(llm, scorer=scorer, image=image, initial=START, steps=6, unique_id="9")
        assert all("(steps)" in t for t in out["ui"]["text"]), out["ui"]["text"]
        assert not list(own_state_dir.glob("*.json"))


def test_a_total_failure_is_reported_with_its_own_error_and_the_best_so_far():
    class BrokenEncoder(ColourWordsEncoder):
        calls = 0

        def encode_text(self, texts):
            BrokenEncoder.calls += 1
            if BrokenEncoder.calls > 2:
                raise ZeroDivisionError("division by zero in the text tower")
            return super().encode_text(texts)

    with pytest.raises(ZeroDivisionError, match="text tower.*best so far"):
        loop(scorer=ManagedModel(BrokenEncoder, label="broken"), image=coloured(RED), initial=START)


def test_a_state_from_other_settings_is_ignored_with_a_warning_naming_them(caplog, own_state_dir, monkeypatch):
    import logging

    finished = []
    monkeypatch.setattr(bridge, "send_event", lambda name, data: finished.append(data["step"]))
    monkeypatch.setattr(bridge, "interrupt_requested", lambda: len(finished) >= 2)
    loop(image=coloured(RED), initial=START, steps=4, unique_id="5", seed=1)
    assert list(own_state_dir.glob("*.json"))
    monkeypatch.setattr(bridge, "interrupt_requested", lambda: False)
    caplog.set_level(logging.WARNING)
    out = loop(image=coloured(RED), initial=START, steps=4, unique_id="5", seed=2)
    warned = [r.getMessage() for r in caplog.records if "other arguments" in r.getMessage()]
    assert warned and "seed (1 -> 2)" in warned[0] and "llm" not in warned[0]
    assert "after 4 steps" in out["ui"]["text"][0]
