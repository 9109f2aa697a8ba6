"""MILS Scorer Loader (kind VLM judge), MILS VLM Judge, MILS Score and MILS Loop with a VLM judge, without ComfyUI."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from mils_pack.nodes import bridge
from mils_pack.nodes.model_memory import ManagedModel
from mils_pack.nodes.loop import MILSLoop
from mils_pack.nodes.renderer import MILSRenderer
from mils_pack.nodes.scorer import MILSScore, MILSScorerLoader
from mils_pack.nodes.vlm import MILSVLMJudge

from devkit.tiny_models import make_tiny_open_clip_dir
from devkit.tiny_vlm import make_tiny_qwen3_vl
from devkit.toys import ScriptedLLM
from mils.errors import InputError
from mils.scorers.vlm_judge import VLMJudge


@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory):
    return make_tiny_qwen3_vl(tmp_path_factory.mktemp("node-vlm") / "tiny-vlm")


@pytest.fixture
def models_dir(tmp_path, monkeypatch, tiny_vlm):
    d = tmp_path / "models"
    monkeypatch.setenv("MILS_MODELS_DIR", str(d))
    shutil.copytree(tiny_vlm, d / "mils" / "tiny-vlm")
    shutil.copytree(Path(make_tiny_open_clip_dir(tmp_path / "b").removeprefix("local-dir:")), d / "mils" / "tiny-clip")
    return d


def test_the_loader_lists_and_loads_a_vlm_and_the_judge_node_sets_its_options(models_dir):
    assert "VLM judge" in MILSScorerLoader.INPUT_TYPES()["required"]["kind"][0]
    assert "tiny-vlm" in MILSScorerLoader.INPUT_TYPES()["required"]["model"][0]
    (auto,) = MILSScorerLoader().load("tiny-vlm", "auto", "", "float32", "cpu", True)
    (named,) = MILSScorerLoader().load("(use source below)", "VLM judge", str(models_dir / "mils" / "tiny-vlm"),
                                       "float32", "cpu", True)
    assert isinstance(auto.use(), VLMJudge) and auto.use().key == named.use().key
    (judge,) = MILSVLMJudge().configure(auto, "Is <text> here ? Answer yes or no .", "parse")
    used = judge.use()
    assert used.concepts == "parse" and used.question.startswith("Is <text>") and used.backend is auto.use().backend
    with pytest.raises(InputError, match="question"):
        MILSVLMJudge().configure(auto, "Is it nice?", "off")
    (clip,) = MILSScorerLoader().load("tiny-clip", "auto", "", "float32", "cpu", True)
    with pytest.raises(InputError, match="a VLM judge"):
        MILSVLMJudge().configure(clip, "Does this image show {}?", "off")


def test_score_node_asks_the_judge(models_dir):
    (scorer,) = MILSScorerLoader().load("tiny-vlm", "auto", "", "float32", "cpu", True)
    images = torch.rand(2, 16, 16, 3, generator=torch.Generator().manual_seed(0))
    out = MILSScore().score(scorer, "", images=images, target_text="a red cube")
    assert out["result"][0] == pytest.approx(scorer.use().yes_probs(images, ["a red cube"] * 2))
    out = MILSScore().score(scorer, "a cat\na dog", target_image=images[:1])
    assert out["result"][0] == pytest.approx(scorer.use().yes_probs(images[:1].repeat(2, 1, 1, 1), ["a cat", "a dog"]))
    with pytest.raises(InputError, match="target_text"):
        MILSScore().score(scorer, "", images=images)


class ColourVLM:
    """P(yes) 0.9 when the concept's colour word is the render's strongest channel, else 0.1."""

    key, model = "colour-vlm", None

    def yes_probs(self, images, questions):
        cols = {"red": 0, "green": 1, "blue": 2}
        out = []
        for img, q in zip(images, questions):
            want = next((c for w, c in cols.items() if w in q), None)
            out.append(0.9 if want is not None and int(img.mean((0, 1)).argmax()) == want else 0.1)
        return out


class Paint:
    """Stands in for ComfyUI sampling: paints the last colour word a prompt names."""

    def __init__(self, model, clip, vae, **kw):
        self.key = "paint"

    def render(self, texts, seed):
        cols = {"red": 0, "green": 1, "blue": 2}
        out = []
        for t in texts:
            img = torch.full((8, 8, 3), 0.1)
            idx = next((cols[w.strip(",")] for w in reversed(t.split()) if w.strip(",") in cols), None)
            if idx is not None:
                img[..., idx] = 0.9
            out.append(img)
        return torch.stack(out)

    def conditioning(self, text):
        return [[torch.zeros(1, 77, 8), {"pooled_output": None, "text": text}]]


def test_the_loop_shows_the_missing_concepts(monkeypatch, tmp_path):
    import mils_pack.nodes.comfy_render as comfy_render

    monkeypatch.setattr(comfy_render, "ComfyRenderer", Paint)
    monkeypatch.setattr(bridge, "state_dir", lambda: tmp_path / "states")
    handle = ManagedModel(lambda: VLMJudge(ColourVLM()), label="colour vlm")
    (judge,) = MILSVLMJudge().configure(handle, 'Does this image show "{}"? Answer yes or no.', "parse")
    llm = ManagedModel(lambda: ScriptedLLM(["1. a blue frame\n2. a green lamp"]), label="scripted")
    settings = MILSRenderer().make(object(), object(), object(), "euler", "normal", 2, 7.0, 64, 64, "", 4)[0]
    out = MILSLoop().run(llm, task="auto", budget="preview", keep=3, new_per_step=2, steps=1, parallel=0,
                         patience=0, seed=1, scorer=judge, renderer=settings, text="a red poster, a blue frame")
    text = out["ui"]["text"][0]
    assert "0.500 (missing: a red poster)  a red poster, a blue frame" in text
    assert "0.100 (missing: a red poster; a blue frame)  a green lamp" in text
