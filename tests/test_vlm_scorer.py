"""The VLM judge on a tiny random-weight Qwen3-VL loaded through the user's `vlm:` path."""
from __future__ import annotations

import shutil

import pytest
import torch

from devkit.tiny_models import make_tiny_hf_clip
from devkit.tiny_vlm import make_tiny_qwen3_vl
from devkit.toys import ColourRenderer, ScriptedLLM
from mils import registry
from mils.errors import InputError, ModelNotFoundError
from mils.jobs import Job, run_job
from mils.scorers.vlm import DEFAULT_QUESTION
from mils.scorers.vlm_judge import VLMJudge


@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory):
    return make_tiny_qwen3_vl(tmp_path_factory.mktemp("vlm") / "tiny-qwen3-vl")


@pytest.fixture(scope="module")
def judge(tiny_vlm):
    return registry.load_scorer_model(f"vlm:{tiny_vlm}", device="cpu", dtype="float32")


def _images(n: int = 3, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 24, 28, 3, generator=g)


def _direct_p_yes(folder, image: torch.Tensor, question: str) -> float:
    """An independent forward pass: the model and processor loaded here, one pair, Qwen's chat format by hand."""
    from PIL import Image
    from transformers import AutoProcessor, Qwen3VLForConditionalGeneration

    model = Qwen3VLForConditionalGeneration.from_pretrained(folder, dtype=torch.float32).eval()
    proc = AutoProcessor.from_pretrained(folder)
    text = (f"<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>{question}<|im_end|>\n"
            f"<|im_start|>assistant\n")
    pil = Image.fromarray((image * 255).round().to(torch.uint8).numpy(), "RGB")
    enc = proc(text=[text], images=[pil], return_tensors="pt")
    with torch.no_grad():
        p = torch.softmax(model(**enc).logits[0, -1].double(), -1)
    tok = proc.tokenizer
    yes = sum(p[tok.convert_tokens_to_ids(w)] for w in ("Yes", "yes"))
    no = sum(p[tok.convert_tokens_to_ids(w)] for w in ("No", "no"))
    return float(yes / (yes + no))


def test_p_yes_equals_a_direct_forward_pass_batched(tiny_vlm, judge):
    assert isinstance(judge, VLMJudge) and judge.direction == "maximize"
    judge.backend.batch_size = 2          # 3 pairs: a batch of 2 (left-padded) and one of 1
    images = _images()
    texts = ["a red cube", "a blue ball left of a green lamp", "a cat"]
    got = judge.yes_probs(images, texts)
    want = [_direct_p_yes(tiny_vlm, im, DEFAULT_QUESTION.replace("{}", t)) for im, t in zip(images, texts)]
    assert got == pytest.approx(want, abs=1e-5)
    assert len({round(v, 6) for v in got}) == 3 and all(0.0 < v < 1.0 for v in got)


def test_question_template_is_the_users(tiny_vlm, judge):
    question = "Is <text> in this photo ? Answer yes or no ."
    custom = judge.with_options(question=question)
    img = _images(1, seed=3)
    got = custom.yes_probs(img, ["a dog"])[0]
    assert got == pytest.approx(_direct_p_yes(tiny_vlm, img[0], "Is a dog in this photo ? Answer yes or no ."),
                                abs=1e-5)
    assert custom.key != judge.key and custom.backend is judge.backend
    with pytest.raises(InputError, match="question") as e:
        judge.with_options(question="Does this image show the prompt?")
    assert "{}" in str(e.value) and "Does this image show the prompt?" in str(e.value)


def test_folder_auto_detects_and_preset_loads_from_models_dir(tiny_vlm, judge, tmp_path):
    assert registry.detect_scorer_kind(tiny_vlm) == "vlm"
    assert registry.load_scorer_model(str(tiny_vlm), device="cpu", dtype="float32").backend is judge.backend  # cached
    target = tmp_path / "mils" / "qwen3-vl-2b-instruct"
    shutil.copytree(tiny_vlm, target)
    with pytest.raises(ModelNotFoundError, match="mils download qwen3-vl-2b-instruct"):
        registry.load_scorer_model("vlm:qwen3-vl-2b-instruct", models_dir=tmp_path)
    (target / ".mils-complete").write_text("Qwen/Qwen3-VL-2B-Instruct\n")
    loaded = registry.load_scorer_model("vlm:qwen3-vl-2b-instruct", models_dir=tmp_path, device="cpu",
                                        dtype="float32")
    img = _images(2, seed=5)
    assert loaded.yes_probs(img, ["a cube", "a cube"]) == pytest.approx(judge.yes_probs(img, ["a cube", "a cube"]))


def test_a_folder_that_is_not_a_vlm_is_refused(tmp_path):
    clip = make_tiny_hf_clip(tmp_path)
    assert registry.detect_scorer_kind(clip) == "hf_clip"
    with pytest.raises(InputError, match="vision-language model") as e:
        registry.load_scorer_model(f"vlm:{clip}", device="cpu")
    assert str(clip) in str(e.value) and "clip" in str(e.value)


def test_the_judge_embeds_nothing(judge):
    with pytest.raises(InputError, match="embeds no text"):
        judge.encode_text(["a cat"])


def test_prompt_enhancement_searches_with_the_vlm_judge(judge):
    llm = ScriptedLLM(["1. a red cube\n2. a blue ball\n3. a green lamp", "1. a red cube on a blue ball"])
    job = Job("t2i_enhance", llm, judge, renderer=ColourRenderer(size=24), prompt="a red cube",
              preset="preview", overrides={"steps": 2, "keep": 2, "new_per_step": 3, "patience": 0})
    done = run_job(job)
    res = done.result
    direct = judge.yes_probs(done.images([res.best_text]), ["a red cube"])[0]
    assert res.best_score == pytest.approx(direct, abs=1e-6)   # renders judged against the ORIGINAL prompt
    assert res.renders >= 4       # the prompt and the new candidates, each rendered and judged
    assert all(len(s.shown) == 5 and s.shown.startswith("0.") for s in res.history[-1].leaderboard)
