"""Seconds per scored render: CLIP, PickScore and the VLM judge (whole prompt, and per concept), as ratios to CLIP.

What prompt enhancement pays per candidate after rendering it: CLIP / PickScore embed the render and
take the cosine with the prompt's embedding (cached); the VLM judge runs one forward pass of the VLM
per render (the image's tokens + the question), and with concept feedback one per concept.
The models are tiny random-weight ones of one shape (width 32, 2 layers in every tower: transformers
CLIP, PickScore = that CLIP loaded with its processor from another folder, Qwen3-VL), so the ratios
show the cost of the method (a generative pass over image + question tokens vs one embedding), not
of real checkpoints; at real sizes the gap follows the parameter counts (CLIP ViT-B/32 0.15 B,
PickScore ViT-H/14 1 B, Qwen3-VL 2 B / 8 B). The timing does not depend on the weights.

Seen in two runs on 2 busy shared CPU cores, one torch thread, 64 px renders, as ratios to CLIP: CPU time
PickScore 0.9-1.0x (the same shape here), VLM judge 8.2-9.4x, VLM judge with 3 concepts 24-27x; wall clock
PickScore 0.4-1.0x, VLM judge 9.9-17.7x, with 3 concepts 29-47x (the machine's load scatters wall times).
"""
import tempfile
import time
from pathlib import Path

import torch

from devkit.tiny_models import make_tiny_hf_clip
from devkit.tiny_vlm import make_tiny_qwen3_vl
from mils import registry
from mils.scorers.render import CosineImageScorer
from mils.targets import text_target

from ._common import report, timer

PROMPT = "a red cube, a blue ball and a green lamp"


def _per_render(scorers: dict, images: torch.Tensor, repeats: int) -> tuple[dict[str, float], dict[str, float]]:
    """Wall and CPU seconds per render, best of ``repeats`` rounds, the scorers taking turns in each round
    (a busy machine slows all alike; CPU time counts only this process's work)."""
    for s in scorers.values():
        s.image_scores(images[:2])   # warm-up
    wall = {name: float("inf") for name in scorers}
    cpu = dict(wall)
    for _ in range(repeats):
        for name, s in scorers.items():
            t: dict = {}
            c0 = time.process_time()
            with timer(t, "run"):
                s.image_scores(images)
            wall[name] = min(wall[name], t["run"] / images.shape[0])
            cpu[name] = min(cpu[name], (time.process_time() - c0) / images.shape[0])
    return wall, cpu


def main(n: int = 32, size: int = 64, repeats: int = 7, device: str = "cpu", threads: int | None = None
         ) -> dict[str, float]:
    """``threads``: torch's CPU threads (None: as set); 1 gives steadier figures on a busy machine."""
    if threads:
        torch.set_num_threads(threads)
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
            "VLM judge": judge.prompt_image_scorer(PROMPT),
            "VLM judge, 3 concepts": judge.with_options(concepts="parse").prompt_image_scorer(PROMPT),
        }
        wall, cpu = _per_render(scorers, images, repeats)
    for name in scorers:
        report(f"seconds per scored render, {name} vs CLIP", wall[name] / wall["CLIP"], "cost, not a goal",
               f"{1000 * wall[name]:.2f} ms per {size}px render on {device} ({torch.get_num_threads()} threads; "
               f"CLIP {1000 * wall['CLIP']:.2f} ms); CPU time {cpu[name] / cpu['CLIP']:.1f}x CLIP's; tiny models "
               f"of one shape, {n} renders, best of {repeats}")
    return {name: wall[name] / wall["CLIP"] for name in scorers}


if __name__ == "__main__":
    main(threads=1)   # one thread: steady figures on a shared CPU; main(device="cuda") measures a GPU
