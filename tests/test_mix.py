"""Weighted mixes of scorers: the value and display on parts with known outputs, the `mix:` spec, jobs
(captioning, and prompt enhancement where each render is made once and rated by every part), errors."""
from __future__ import annotations

import re

import pytest
import torch

from devkit.tiny_models import make_tiny_hf_clip, make_tiny_open_clip_dir
from devkit.toys import ColourRenderer, ColourWordsEncoder, ScriptedLLM
from mils import registry, targets
from mils.errors import InputError
from mils.jobs import Job, prepare, run_job, run_jobs
from mils.media import Media
from mils.model_cache import MODEL_CACHE
from mils.scorers.base import Score
from mils.scorers.embedding import EmbeddingScorer
from mils.scorers.mix import ScorerMix, WeightedMix, parse_mix_spec
from mils.scorers.render import CosineImageScorer, RenderedTextScorer


class Fixed:
    """A scorer with known outputs per text (and per image: keyed by the image's first pixel's red value)."""

    def __init__(self, key, values, *, scale=None, direction="maximize", fmt="{:.2f}", per_image=None):
        self.key, self.values, self.direction, self.fmt = key, values, direction, fmt
        self.per_image = per_image or {}
        if scale is not None:
            self.score_scale = scale
        self.calls = 0

    def score(self, texts):
        self.calls += 1
        return [self.values[t] for t in texts]

    def image_scores(self, images):
        self.calls += 1
        return [self.per_image[round(float(im[0, 0, 0]), 2)] for im in images]

    def format_score(self, s):
        return self.fmt.format(s)


def vlm_and_hps():
    vlm = Fixed("vlm-judge", {"a": 0.82, "b": 0.40}, scale=(0.0, 1.0))
    hps = Fixed("hps", {"a": 0.27, "b": 0.35}, scale=(0.0, 0.5), fmt="{:.2f}")
    hps.format_score = lambda s: f"{100 * s:.2f}"
    return vlm, hps


def test_value_is_the_weighted_mean_on_fixed_scales_and_the_display_shows_every_part():
    vlm, hps = vlm_and_hps()
    a, b = WeightedMix([(0.7, vlm, "vlm"), (0.3, hps, "hps")]).score(["a", "b"])
    assert isinstance(a, Score)
    assert float(a) == pytest.approx(0.7 * 0.82 + 0.3 * 0.27 / 0.5)
    assert float(b) == pytest.approx(0.7 * 0.40 + 0.3 * 0.35 / 0.5)
    assert a.shown == "0.736 (vlm 0.82, hps 27.00)" and b.shown == "0.490 (vlm 0.40, hps 35.00)"


def test_weights_are_divided_by_their_sum_and_decide_the_ranking():
    vlm, hps = vlm_and_hps()
    judge_first = WeightedMix([(2.0, vlm, "vlm"), (1.0, hps, "hps")]).score(["a", "b"])
    assert float(judge_first[0]) == pytest.approx((2 * 0.82 + 0.27 / 0.5) / 3)
    assert judge_first[0] > judge_first[1]
    looks_first = WeightedMix([(0.1, vlm, "vlm"), (0.9, hps, "hps")]).score(["a", "b"])
    assert looks_first[1] > looks_first[0]


def test_a_scorer_without_a_scale_counts_on_0_to_1_and_a_parts_own_display_is_kept():
    gram = Fixed("gram", {"a": 0.5}, fmt="{:.1f}")
    gram.score = lambda texts: [Score(0.5, "style 0.4, content 0.1") for _ in texts]
    other = Fixed("other", {"a": 0.25})
    (s,) = WeightedMix([(1, gram, "g"), (3, other, "o")]).score(["a"])
    assert float(s) == pytest.approx((0.5 + 3 * 0.25) / 4)
    assert s.shown == "0.312 (g style 0.4, content 0.1, o 0.25)"


def test_minimized_parts_make_a_minimized_mix_and_mixed_directions_are_refused():
    lo1 = Fixed("l1", {"a": 1.0}, direction="minimize")
    lo2 = Fixed("l2", {"a": 3.0}, direction="minimize")
    mix = WeightedMix([(1, lo1, "l1"), (1, lo2, "l2")])
    assert mix.direction == "minimize" and float(mix.score(["a"])[0]) == pytest.approx(2.0)
    up = Fixed("up", {"a": 0.5})
    with pytest.raises(InputError, match=r"scorer: expected parts that all maximize or all minimize.*"
                                         r"got l1 minimizes, up maximizes"):
        WeightedMix([(1, lo1, "l1"), (1, up, "up")])


@pytest.mark.parametrize("weights, message", [
    ((0.5, -0.5), r"weights that sum to more than 0 .*got 0.5 \(vlm\) \+ -0.5 \(hps\) = 0"),
    ((0.0, 0.0), r"weights that sum to more than 0"),
    ((float("nan"), 1.0), r"a finite weight for vlm"),
])
def test_bad_weights_are_refused_naming_them(weights, message):
    vlm, hps = vlm_and_hps()
    with pytest.raises(InputError, match=message):
        WeightedMix([(weights[0], vlm, "vlm"), (weights[1], hps, "hps")])
    with pytest.raises(InputError, match=message):
        ScorerMix([(weights[0], object(), "vlm"), (weights[1], object(), "hps")])


def test_the_spec_parses_weights_and_part_specs():
    assert parse_mix_spec("mix:0.7*vlm:qwen2.5-vl-3b, 0.3 * hpsv2.1") == [(0.7, "vlm:qwen2.5-vl-3b"),
                                                                        (0.3, "hpsv2.1")]
    assert parse_mix_spec("mix:.5*open_clip:ViT-B-32:laion2b_s34b_b79k,1e-1*/models/pick score") == [
        (0.5, "open_clip:ViT-B-32:laion2b_s34b_b79k"), (0.1, "/models/pick score")]
    assert parse_mix_spec("mix:2*a,-1*b") == [(2.0, "a"), (-1.0, "b")]


@pytest.mark.parametrize("spec, got", [
    ("mix:", "'mix:' \\(no parts\\)"),
    ("mix:0.7 vlm", "part 1 '0.7 vlm'"),
    ("mix:0.7*a,,0.3*b", "part 2 ''"),
    ("mix:0.7*a,x*b", "part 2 'x\\*b'"),
    ("mix:0.7*", "part 1 '0.7\\*'"),
    ("mix:1*mix:1*a", "part 1 'mix:1\\*a'"),
])
def test_a_bad_spec_names_the_part_and_the_expected_form(spec, got):
    with pytest.raises(InputError, match=rf"^scorer: expected mix:WEIGHT\*SCORER,WEIGHT\*SCORER,.*got {got}"):
        parse_mix_spec(spec)


def test_registry_loads_every_part_and_names_it():
    mix = registry.load_scorer_model("mix:0.6*py:devkit.toys:toy_encoder,0.4*py:devkit.toys:toy_judge")
    assert isinstance(mix, ScorerMix)
    assert [(w, label) for w, _, label in mix.parts] == [(0.6, "toy_encoder"), (0.4, "toy_judge")]
    assert [m.key for _, m, _ in mix.parts] == ["colour-words", "colour-words-judge"]
    assert mix.modalities == frozenset({"image", "audio"})
    with pytest.raises(InputError, match="weights that sum to more than 0"):
        registry.load_scorer_model("mix:1*py:devkit.toys:toy_encoder,-1*py:devkit.toys:toy_judge")


def two_toys() -> ScorerMix:
    judge = ColourWordsEncoder()
    judge.key = "colour-words-judge"
    return ScorerMix([(0.75, ColourWordsEncoder(), "words"), (0.25, judge, "judge")])


class RecordingLLM(ScriptedLLM):
    def __init__(self, replies):
        super().__init__(replies)
        self.prompts = []

    def generate(self, prompt, params):
        self.prompts.append(prompt)
        return super().generate(prompt, params)


RED = torch.zeros(1, 16, 16, 3)
RED[..., 0] = 0.9
START = ["a red car", "a blue sky", "a green tree", "a cup"]
BUDGET = {"keep": 3, "new_per_step": 2, "steps": 2, "patience": 0}


def test_a_caption_job_scores_by_each_part_and_shows_the_parts_to_the_llm():
    llm = RecordingLLM(["1. a red red car\n2. a dark cup"])
    mix = two_toys()
    done = run_job(Job("image_caption", llm, mix, media=Media("image", images=RED), pool=START, overrides=BUDGET))
    assert isinstance(done.scorer, WeightedMix)
    parts = [EmbeddingScorer(m, targets.image_target(m, RED)) for _, m, _ in mix.parts]
    best = done.result.best_text
    direct = (0.75 * parts[0].score([best])[0] + 0.25 * parts[1].score([best])[0]) / 0.5
    assert done.result.best_score == pytest.approx(direct)
    assert re.search(r"-?\d\.\d{3} \(words -?\d+\.\d{2}, judge -?\d+\.\d{2}\)", llm.prompts[0])
    assert done.result.history[-1].leaderboard[0].shown.startswith(f"{done.result.best_score:.3f} (words ")


def test_lockstep_batches_mixes_like_single_runs():
    llm = ScriptedLLM(["1. a red red car\n2. a dark cup"])
    jobs = [Job("image_caption", llm, two_toys(), media=Media("image", images=RED), pool=START, overrides=BUDGET,
                seed=s) for s in (0, 1)]
    together = run_jobs(jobs)
    alone = [run_job(Job("image_caption", ScriptedLLM(["1. a red red car\n2. a dark cup"]), two_toys(),
                         media=Media("image", images=RED), pool=START, overrides=BUDGET, seed=s)) for s in (0, 1)]
    assert [r.result.best_score for r in together] == pytest.approx([r.result.best_score for r in alone])


def test_enhancement_renders_each_candidate_once_and_rates_it_by_every_part(tmp_path):
    clip_folder = make_tiny_hf_clip(tmp_path)
    open_clip_dir = make_tiny_open_clip_dir(tmp_path)
    try:
        mix = registry.load_scorer_model(f"mix:0.7*{clip_folder},0.3*open_clip:{open_clip_dir}", device="cpu",
                                         dtype="float32")
        assert [label for _, _, label in mix.parts] == ["hf_clip", "open_clip"]
        renderer = ColourRenderer(size=8)
        prep = prepare(Job("t2i_enhance", ScriptedLLM(["1. a red fox"]), mix, renderer=renderer,
                           prompt="a light red fox", pool=["a blue fox", "a green fox"], overrides={"keep": 2}))
        assert isinstance(prep.scorer, RenderedTextScorer) and isinstance(prep.scorer.image_scorer, WeightedMix)
        texts = ["a light red fox", "a blue fox", "a green fox", "a blue fox"]
        scores = prep.scorer.score(texts)
        assert sum(len(c) for c in renderer.calls) == 3   # once per distinct text, whatever the number of parts
        images = ColourRenderer(size=8).render(texts, prep.scorer.seed)
        cosines = [CosineImageScorer(m, targets.text_target(m, "a light red fox")).image_scores(images)
                   for _, m, _ in mix.parts]
        expected = [(0.7 * a / 0.5 + 0.3 * b / 0.5) for a, b in zip(*cosines)]
        assert [float(s) for s in scores] == pytest.approx(expected, abs=1e-5)
        assert scores[0].shown.startswith(f"{expected[0]:.3f} (hf_clip ")
    finally:
        MODEL_CACHE.unload()


def test_a_mix_has_no_single_embedding_space_for_invert():
    with pytest.raises(InputError, match="scorer: expected one embedding model for a target embedding"):
        prepare(Job("invert", ScriptedLLM(["1. x"]), two_toys(), prompt="a cat", pool=START, overrides={"keep": 2}))


def test_parts_with_a_fixed_display_per_render_see_the_same_render():
    """Two parts over one render: each part is called once per batch of renders, on the same images."""
    per_image = {0.9: 0.5, 0.4: 0.1}
    a = Fixed("a", {}, per_image=per_image)
    b = Fixed("b", {}, per_image={0.9: 0.2, 0.4: 0.3})
    images = torch.zeros(2, 4, 4, 3)
    images[0, ..., 0], images[1, ..., 0] = 0.9, 0.4
    out = WeightedMix([(1, a, "a"), (1, b, "b")]).image_scores(images)
    assert [float(s) for s in out] == pytest.approx([0.35, 0.2]) and a.calls == b.calls == 1
