"""The diffusers renderers and `mils enhance`, on tiny random pipelines built from configs.

The pipelines are devkit/tiny_diffusers.py's, saved with save_pretrained and loaded back through
``load_diffusers_pipeline``, the loader the CLI uses.
"""
import json
import sys

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("diffusers")

from devkit.tiny_diffusers import PREVIEW  # noqa: E402
from devkit.tiny_diffusers import enhance_args as _enhance_args  # noqa: E402
from devkit.toys import ColourWordsEncoder  # noqa: E402
from mils.cli import main
from mils.cli.enhance import ENHANCE_FILES  # noqa: E402
from mils.errors import InputError, ModelNotFoundError  # noqa: E402
from mils.model_cache import MODEL_CACHE  # noqa: E402
from mils.renderers import DiffusersEditRenderer, DiffusersRenderer, MissingDependencyError, load_diffusers_pipeline  # noqa: E402
from mils.scorers.render import RenderScorer  # noqa: E402
from mils.targets import text_target  # noqa: E402

@pytest.fixture(scope="module")
def models(tiny_pipelines):
    """Folders: a text-to-image SD pipeline, an InstructPix2Pix pipeline, a tiny HF CLIP scorer."""
    return tiny_pipelines


@pytest.fixture(scope="module")
def sd(models):
    return load_diffusers_pipeline(str(models["sd"]), "cpu", "float32")


TEXTS = ["a red cat", "a blue dog on a sofa", "a red cat"]


def test_renders_are_float_images_in_range_and_deterministic(sd):
    r = DiffusersRenderer(sd, width=PREVIEW, height=48, steps=2, guidance_scale=5.0)
    a = r.render(TEXTS, 2024)
    assert a.shape == (3, 48, PREVIEW, 3) and a.dtype == torch.float32 and a.device.type == "cpu"
    assert torch.isfinite(a).all() and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, r.render(TEXTS, 2024))
    assert not torch.allclose(a[0], a[1], atol=1e-3)                  # different prompts differ
    assert not torch.allclose(a[0], r.render(TEXTS[:1], 7)[0], atol=1e-3)  # another seed differs
    assert r.render([], 2024).shape == (0, 48, PREVIEW, 3)


def test_one_seed_for_every_candidate_batched_equals_one_at_a_time(sd):
    r = DiffusersRenderer(sd, width=PREVIEW, height=PREVIEW, steps=3, batch_size=8)
    batched = r.render(TEXTS, 2024)
    assert r.pipeline_calls == 1
    torch.testing.assert_close(batched[0], batched[2], atol=1e-5, rtol=0)  # same prompt, same noise
    single = torch.cat([r.render([t], 2024) for t in TEXTS])
    torch.testing.assert_close(batched, single, atol=1e-4, rtol=0)
    # the start noise: batch 1 from a CPU generator seeded with the seed, repeated
    lat = r.initial_latents(2024, 3)
    assert lat.shape == (3, 4, PREVIEW // 2, PREVIEW // 2)
    expected = torch.randn((1, 4, PREVIEW // 2, PREVIEW // 2), generator=torch.Generator().manual_seed(2024))
    assert all(torch.equal(row[None], expected) for row in lat)


def test_small_batches_split_the_pipeline_calls(sd):
    r = DiffusersRenderer(sd, width=PREVIEW, height=PREVIEW, steps=2, batch_size=2)
    out = r.render(TEXTS, 3)
    assert out.shape[0] == 3 and r.pipeline_calls == 2


def test_loader_goes_through_the_model_cache(models, sd):
    loads = MODEL_CACHE.loads
    again = load_diffusers_pipeline(str(models["sd"]), "cpu", "float32")
    assert again is sd and MODEL_CACHE.loads == loads
    assert any(k.kind == "renderer" and str(models["sd"].resolve()) in k.source for k in MODEL_CACHE.keys())
    r = DiffusersRenderer(str(models["sd"]), width=PREVIEW, height=PREVIEW, steps=2, device="cpu", dtype="float32")
    assert r.pipe is sd and MODEL_CACHE.loads == loads
    assert r.key != DiffusersRenderer(sd, width=PREVIEW, height=PREVIEW, steps=3).key


def test_render_scorer_renders_each_text_once(sd):
    enc = ColourWordsEncoder()
    r = DiffusersRenderer(sd, width=PREVIEW, height=PREVIEW, steps=2)
    scorer = RenderScorer(r, enc, text_target(enc, "a light red picture"), seed=2024, batch_size=4)
    first = scorer.score(["a red cat", "a blue dog"])
    calls = r.pipeline_calls
    assert scorer.score(["a blue dog", "a red cat"]) == pytest.approx(first[::-1])
    assert r.pipeline_calls == calls and scorer.renders == 2 and scorer.cache.hits >= 2


def test_instruct_pix2pix_edit_renderer(models):
    pipe = load_diffusers_pipeline(str(models["ip2p"]), "cpu", "float32", task="edit")
    content = torch.rand(40, 44, 3, generator=torch.Generator().manual_seed(0))
    r = DiffusersEditRenderer(pipe, content, steps=2, image_guidance_scale=1.5)
    assert r.mode == "instruct" and (r.width, r.height) == (40, 40)
    batched = r.render(["make it red", "turn it into a sketch", "make it red"], 5)
    assert batched.shape == (3, 40, 40, 3) and batched.min() >= 0 and batched.max() <= 1
    torch.testing.assert_close(batched[0], batched[2], atol=1e-5, rtol=0)
    single = torch.cat([r.render([t], 5) for t in ["make it red", "turn it into a sketch", "make it red"]])
    torch.testing.assert_close(batched, single, atol=1e-4, rtol=0)
    other = DiffusersEditRenderer(pipe, content.flip(0), steps=2)
    assert other.key != r.key  # the content image is part of the render-cache identity
    with pytest.raises(InputError, match="pipeline: expected a text-to-image pipeline"):
        DiffusersRenderer(pipe)


def test_img2img_edit_renderer_from_a_text_to_image_folder(models):
    pipe = load_diffusers_pipeline(str(models["sd"]), "cpu", "float32", task="edit")
    assert "Img2Img" in type(pipe).__name__
    content = Image.fromarray(np.full((24, 32, 3), (200, 30, 30), np.uint8))
    r = DiffusersEditRenderer(pipe, content, width=PREVIEW, height=PREVIEW, steps=4, strength=0.5)
    assert r.mode == "img2img"
    out = r.render(["watercolor", "oil painting", "watercolor"], 11)
    assert out.shape == (3, PREVIEW, PREVIEW, 3)
    torch.testing.assert_close(out[0], out[2], atol=1e-5, rtol=0)
    torch.testing.assert_close(out[1], r.render(["oil painting"], 11)[0], atol=1e-4, rtol=0)
    with pytest.raises(InputError, match="strength"):
        DiffusersEditRenderer(pipe, content, strength=0.0)


# --- loader errors ------------------------------------------------------------------------------

def test_folder_that_is_not_a_pipeline(tmp_path, models):
    (tmp_path / "weights.txt").write_text("nothing")
    with pytest.raises(InputError, match=r"pipeline: expected a diffusers pipeline folder") as e:
        load_diffusers_pipeline(str(tmp_path))
    assert str(tmp_path) in str(e.value) and "model_index.json" in str(e.value)
    with pytest.raises(InputError, match="single model"):   # a component folder, not a whole pipeline
        load_diffusers_pipeline(str(models["sd"] / "unet"))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline",
                                                         "unet": ["diffusers", "UNet2DConditionModel"]}))
    with pytest.raises(InputError, match="failed to load") as e:
        load_diffusers_pipeline(str(broken), "cpu", "float32")
    assert e.value.input_name == "pipeline" and str(broken) in str(e.value)


def test_missing_path_and_missing_diffusers(tmp_path, models, monkeypatch):
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        load_diffusers_pipeline(str(tmp_path / "no" / "such-pipeline"))
    with pytest.raises(InputError, match="pipeline: expected"):
        load_diffusers_pipeline("  ")
    monkeypatch.setitem(sys.modules, "diffusers", None)  # import diffusers -> ImportError
    with pytest.raises(MissingDependencyError, match=r'pip install "mils-nodes\[diffusers\]"'):
        load_diffusers_pipeline(str(models["sd"]), "cpu", "float16")


# --- mils enhance ---------------------------------------------------------------------------------

def silent_llm():
    """An LLM that never proposes anything: the search fails after its retries."""
    from devkit.toys import ScriptedLLM

    return ScriptedLLM([""])


def _png_size(path):
    with Image.open(path) as im:
        assert im.format == "PNG"
        return im.size


def test_enhance_end_to_end(models, tmp_path, capsys):
    out = tmp_path / "enhanced"
    assert main(_enhance_args(models, out, "--json")) == 0
    printed = json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in out.iterdir()) == sorted(ENHANCE_FILES.values())  # no temp files left
    res = json.loads((out / "result.json").read_text())
    assert res == printed
    assert res["prompt"] == "a red cat on a sofa" and res["task"] == "t2i_enhance"
    assert (out / "best_prompt.txt").read_text().strip() == res["best_prompt"] == res["best_text"]
    assert len(res["history"]) == 3 and res["history"][0]["leaderboard"][0]["text"] == "a red cat on a sofa"
    assert res["best_score"] >= res["history"][0]["best_score"]
    assert res["best_score"] == max(h["best_score"] for h in res["history"])
    assert res["settings"]["preview_size"] == [PREVIEW, PREVIEW] and res["settings"]["final_size"] == [64, 48]
    assert res["settings"]["render_seed"] == 2024 and res["renders"] >= 1
    assert set(res["final_scores"]) == {"before", "after"}
    assert _png_size(out / "before.png") == _png_size(out / "after.png") == (64, 48)
    sheet_w, sheet_h = _png_size(out / "contact_sheet.png")
    assert sheet_w >= 3 * PREVIEW and PREVIEW < sheet_h < 64 + PREVIEW * 2
    # the sheet holds the preview renders of each step's best, unscaled
    sheet = np.asarray(Image.open(out / "contact_sheet.png").convert("RGB"))
    assert sheet.shape[:2] == (sheet_h, sheet_w)


def test_enhance_human_summary_and_same_seed_for_before_and_after(models, tmp_path, capsys):
    out = tmp_path / "summary"
    assert main(_enhance_args(models, out, "--steps", "0")) == 0
    text = capsys.readouterr().out
    assert text.startswith("enhance: a red cat on a sofa") and f"saved in {out}" in text
    # no step: the best is the prompt itself, so before and after are the same render
    assert (out / "before.png").read_bytes() == (out / "after.png").read_bytes()


def test_enhance_errors(models, tmp_path, capsys):
    for empty in ("", "  "):
        assert main(["enhance", empty, "--pipeline", str(models["sd"]), "--llm", "py:devkit.toys:toy_llm"]) == 2
        assert "prompt: expected a non-empty" in capsys.readouterr().err

    not_pipeline = tmp_path / "not_a_pipeline"
    not_pipeline.mkdir()
    (not_pipeline / "readme.txt").write_text("hello")
    args = _enhance_args(models, tmp_path / "o1")
    args[args.index("--pipeline") + 1] = str(not_pipeline)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "pipeline: expected a diffusers pipeline folder" in err and str(not_pipeline) in err

    args[args.index("--pipeline") + 1] = str(tmp_path / "missing" / "pipe")
    assert main(args) == 2
    assert "does not exist" in capsys.readouterr().err

    assert main(_enhance_args(models, tmp_path / "o2", "--preview-size", "30")) == 2
    assert "--preview-size: expected" in capsys.readouterr().err
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


def test_enhance_failure_leaves_no_output(models, tmp_path, capsys):
    out = tmp_path / "failed"
    args = _enhance_args(models, out)
    args[args.index("--llm") + 1] = "py:test_diffusers:silent_llm"
    assert main(args) == 2
    assert "no usable candidate" in capsys.readouterr().err
    assert not out.exists()


def test_clip_pipelines_have_a_token_budget_and_long_candidates_are_scored_trimmed(sd):
    r = DiffusersRenderer(sd, width=PREVIEW, height=PREVIEW, steps=2)
    assert r.token_budget == sd.tokenizer.model_max_length == 16
    long = " ".join(["a red cat on a blue sofa"] * 6)
    fit = r.fit_text(long)
    assert len(sd.tokenizer(fit)["input_ids"]) <= 16 < len(sd.tokenizer(long)["input_ids"])
    assert long.startswith(fit) and r.fit_text("a red cat") == "a red cat"
    enc = ColourWordsEncoder()
    scorer = RenderScorer(r, enc, text_target(enc, "a light red picture"), seed=2024)
    over, short = scorer.score([long, "a red cat"])
    assert "trimmed to 16 tokens" in over.shown and not hasattr(short, "shown")
    assert over == pytest.approx(scorer.score([fit])[0])  # judged as the model reads it
    torch.testing.assert_close(scorer.images([long]), r.render([fit], 2024))


def test_the_llm_is_told_the_budget_and_long_text_encoders_have_none(sd):
    from mils.jobs import Job, prepare

    r = DiffusersRenderer(sd, width=PREVIEW, height=PREVIEW, steps=2)
    enc = ColourWordsEncoder()
    prep = prepare(Job("t2i_enhance", None, enc, renderer=r, prompt="a red cat", preset="preview"))
    prompt = prep.task.build_prompt(["1.00: a red cat"], 4, intent="a red cat")
    assert "first 16 tokens" in prompt and prep.task.max_words == 10

    class LongReader:  # e.g. a T5 encoder (SD3, FLUX): reads the whole prompt
        key, token_budget = "t5-like", None

        def render(self, texts, seed):
            return torch.zeros(len(texts), 8, 8, 3)

    prep = prepare(Job("t2i_enhance", None, enc, renderer=LongReader(), prompt="a red cat", preset="preview"))
    assert "tokens" not in prep.task.build_prompt(["1.00: a red cat"], 4, intent="a red cat")
