"""MILS Scorer Mix called directly (no ComfyUI): chaining, errors, the Loop with a mix, and X-CLIP in the loader."""
from __future__ import annotations

import re

import pytest
import torch
from mils_pack.nodes.model_memory import ManagedModel
from mils_pack.nodes.loop import MILSLoop
from mils_pack.nodes.mix import MILSScorerMix, MixHandle
from mils_pack.nodes.scorer import KINDS, MILSScore, MILSScorerLoader, scorer_spec

from devkit.toys import ColourWordsEncoder, ToyLLM
from mils.errors import InputError
from mils.scorers.mix import ScorerMix


class CountingHandle(ManagedModel):
    def __init__(self, key: str, label: str):
        def make():
            enc = ColourWordsEncoder()
            enc.key = key
            return enc

        super().__init__(make, label=label, keep_loaded=False)
        self.uses = self.releases = 0

    def use(self):
        self.uses += 1
        return super().use()

    def release(self):
        self.releases += 1
        super().release()


def chain(*parts):
    """(handle, weight, name) per node, each node's output into the next one's mix."""
    mix = None
    for handle, weight, name in parts:
        (mix,) = MILSScorerMix().add(handle, weight, mix=mix, name=name)
    return mix


def test_chained_nodes_make_one_mix_in_order():
    judge = CountingHandle("judge-key", "scorer vlm:/models/mils/qwen-vl")
    looks = CountingHandle("hps-key", "scorer open_clip:ViT-H-14:/models/mils/hpsv2.1/HPS_v2.1_compressed.pt")
    plain = CountingHandle("clip-key", "scorer open_clip:local-dir:/models/mils/siglip2-b16")
    mix = chain((judge, 0.7, "vlm"), (looks, 0.2, ""), (plain, 0.1, ""))
    assert isinstance(mix, MixHandle)
    loaded = mix.use()
    assert isinstance(loaded, ScorerMix)
    assert [(w, label) for w, _, label in loaded.parts] == [(0.7, "vlm"), (0.2, "hpsv2.1"), (0.1, "siglip2-b16")]
    assert [m.key for _, m, _ in loaded.parts] == ["judge-key", "hps-key", "clip-key"]
    mix.release()
    assert (judge.uses, judge.releases, looks.releases, plain.releases) == (1, 1, 1, 1)


def test_a_repeated_name_is_told_apart():
    a, b = CountingHandle("a", "scorer x"), CountingHandle("b", "scorer x")
    assert [label for _, _, label in chain((a, 1, "same"), (b, 1, "same")).parts] == ["same", "same#2"]


def test_node_errors_name_their_input():
    a, b = CountingHandle("a", "scorer a"), CountingHandle("b", "scorer b")
    with pytest.raises(InputError, match=r"^weight: expected weights that sum to more than 0"):
        chain((a, 0.5, "a"), (b, -0.5, "b"))
    with pytest.raises(InputError, match=r"^weight: expected weights that sum to more than 0"):
        chain((a, 0.0, "a"))
    with pytest.raises(InputError, match=r"^mix: expected the scorer output of another MILS Scorer Mix"):
        MILSScorerMix().add(a, 1.0, mix=b)
    with pytest.raises(InputError, match=r"^scorer: expected one scorer from MILS Scorer Loader"):
        MILSScorerMix().add(chain((a, 1.0, "a")), 1.0)


def test_the_loop_searches_with_a_mix_and_shows_its_parts():
    words, judge = CountingHandle("words", "scorer w"), CountingHandle("judge", "scorer j")
    mix = chain((words, 0.6, "words"), (judge, 0.4, "judge"))
    image = torch.full((1, 16, 16, 3), 0.05)
    image[..., 0] = 0.9
    out = MILSLoop().run(ManagedModel(ToyLLM, label="toy llm"), task="auto", budget="preview", keep=3,
                         new_per_step=4, steps=2, parallel=0, patience=0, seed=1, scorer=mix, image=image,
                         initial="a red car\na blue sea\na green tree\na cup")
    best, top_k, scores = out["result"][:3]
    assert best == [top_k[0]] and scores == sorted(scores, reverse=True)
    assert re.search(rf"1\. -?\d\.\d{{3}} \(words -?\d+\.\d{{2}}, judge -?\d+\.\d{{2}}\)  {re.escape(best[0])}",
                     out["ui"]["text"][0])


def test_the_scorer_loader_lists_xclip(tmp_path):
    assert "X-CLIP (video)" in KINDS
    assert "X-CLIP (video)" in MILSScorerLoader.INPUT_TYPES()["required"]["kind"][0]
    folder = tmp_path / "clip-folder"
    folder.mkdir()
    assert scorer_spec("(use source below)", "X-CLIP (video)", str(folder)) == f"xclip:{folder}"


def test_mils_score_rates_images_by_a_mix_against_a_text():
    words, judge = CountingHandle("words", "scorer w"), CountingHandle("judge", "scorer j")
    mix = chain((words, 0.5, "words"), (judge, 0.5, "judge"))
    images = torch.full((2, 8, 8, 3), 0.05)
    images[0, ..., 0], images[1, ..., 2] = 0.9, 0.9
    out = MILSScore().score(mix, "", images=images, target_text="a red poster")
    scores, ranked, best = out["result"]
    expected = mix.use().prompt_image_scorer("a red poster").image_scores(images)
    assert scores == pytest.approx([float(s) for s in expected]) and best == "image 1"
    with pytest.raises(InputError, match="^target_text: expected the text the images should match"):
        MILSScore().score(mix, "", images=images, target_image=images[:1])


def test_mils_score_rates_texts_against_a_video_with_xclip(tmp_path):
    from devkit.tiny_models import make_tiny_xclip
    from mils.media import Media
    from mils.model_cache import MODEL_CACHE
    from mils.scorers.xclip import load_xclip

    folder = make_tiny_xclip(tmp_path)
    handle = ManagedModel(lambda: load_xclip(folder, device="cpu", dtype="float32"), label="scorer xclip")
    frames = torch.rand(6, 32, 32, 3)
    try:
        scores, ranked, _ = MILSScore().score(handle, "a cat\na dog\nthe sky", target_image=frames)["result"]
        direct = handle.use().caption_scorer(Media("video", images=frames)).score(["a cat", "a dog", "the sky"])
        assert scores == pytest.approx(direct) and ranked[0] == ["a cat", "a dog", "the sky"][direct.index(max(direct))]
        with pytest.raises(InputError, match=r"^image: expected a video \(several frames\)"):
            MILSScore().score(handle, "a cat", target_image=frames[:1])
    finally:
        MODEL_CACHE.unload()
