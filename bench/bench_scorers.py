"""Seconds per scored render: CLIP, PickScore and the VLM judge (whole prompt, and per concept), as ratios to CLIP.

What prompt enhancement pays per candidate after rendering it: CLIP / PickScore embed the render and
take the cosine with the prompt's embedding (cached); the VLM judge runs one forward pass of the VLM
per render (the image's tokens + the question), and with concept feedback one per concept.
The models are tiny random-weight ones of one shape (width 32, 2 layers in every tower: transformers
CLIP, PickScore = that CLIP loaded with its processor from another folder, Qwen3-VL), so the ratios
show the cost of the method (a generative pass over image + question tokens vs one embedding), not
of real checkpoints; at real sizes the gap follows the parameter counts (CLIP ViT-B/32 0.15 B,
PickScore ViT-H/14 1 B, Qwen3-VL 2 B / 8 B). The timing does not depend on the weights.
"""
import tempfile
from pathlib import Path

import torch

from devkit.tiny_models import make_tiny_hf_clip
from devkit.tiny_vlm import make_tiny_qwen3_vl
from mils import registry
from mils.scorers.render import CosineImageScorer
from mils.targets import text_target

from ._common import report, timer

PROMPT = "a red cube, a blue ball and a green lamp"


def _per_render(scorers: dict, images: torch.Tensor, repeats: int) -> dict[str, float]:
    """Best of ``repeats`` rounds, the scorers taking turns in each round (a busy machine slows all alike)."""
    for s in scorers.values():
        s.image_scores(images[:2])   # warm-up
    best = {name: float("inf") for name in scorers}
    for _ in range(repeats):
        for name, s in scorers.items():
            t: dict = {}
            with timer(t, "run"):
                s.image_scores(images)
            best[name] = min(best[name], t["run"] / images.shape[0])
    return best


def main(n: int = 32, size: int = 64, repeats: int = 7, device: str = "cpu") -> dict[str, float]:
    torch.manual_seed(0)
    images = torch.rand(n, size, size, 3, generator=torch.Generator().manual_seed(1))
    with tempfile.TemporaryDirectory(prefix="mils-bench-scorers-") as tmp:
        tmp = Path(tmp)
        clip_dir = make_tiny_hf_clip(tmp, name="clip")
        pick_dir = make_tiny_hf_clip(tmp, name="pickscore", with_processor=False, seed=1)
        (pick_dir / "processor").symlink_to(clip_dir, target_is_directory=True)
        vlm_dir = make_tiny_qwen3_vl(tmp / "vlm", hidden=32, layers=2)
        load = dict(device=device, dtype="float32")
        clip = registry.load_scorer_model(f"hf:{clip_dir}", **load)
        pick = registry.load_scorer_model(f"pickscore:{pick_dir}", **load)
        judge = registry.load_scorer_model(f"vlm:{vlm_dir}", **load)
        scorers = {
            "CLIP": CosineImageScorer(clip, text_target(clip, PROMPT)),
            "PickScore": CosineImageScorer(pick, text_target(pick, PROMPT)),
            "VLM judge": judge.render_judge(PROMPT),
            "VLM judge, 3 concepts": judge.with_options(concepts="parse").render_judge(PROMPT),
        }
        secs = _per_render(scorers, images, repeats)
    base = secs["CLIP"]
    for name, s in secs.items():
        report(f"seconds per scored render, {name} vs CLIP", s / base, "cost, not a goal",
               f"{1000 * s:.2f} ms per {size}px render on {device} ({torch.get_num_threads()} threads), CLIP "
               f"{1000 * base:.2f} ms; tiny models of one shape, {n} renders, best of {repeats}")
    return {name: s / base for name, s in secs.items()}


if __name__ == "__main__":
    main()
