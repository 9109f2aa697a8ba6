"""Gram style scoring of 16 images: batched vs one image at a time (the paper's VGG batch was 2).

VGG19 trunk (conv1_1 .. conv3_1) with random weights: the timing does not depend on the weights.
256 x 256 inputs, style and content targets, as in the paper's style-transfer loop.
"""
import _common  # noqa: F401
import torch
from _common import report, timer

from mils.scorers.gram import GramStyleScorer, VGG19Features


def main(n: int = 16, batch_size: int = 8, size: int = 256) -> float:
    torch.manual_seed(0)
    ext = VGG19Features()
    g = torch.Generator().manual_seed(1)
    style, content = torch.rand(1, 300, 300, 3, generator=g), torch.rand(1, 320, 280, 3, generator=g)
    images = torch.rand(n, 288, 320, 3, generator=g)
    single = GramStyleScorer(ext, style, content, size=size, batch_size=1)
    batched = GramStyleScorer(ext, style, content, size=size, batch_size=batch_size)
    batched.combined(images[:2])  # warm-up (first-call allocations)
    t = {}
    with timer(t, "single"):
        one = [single.combined(images[i:i + 1])[0] for i in range(n)]
    with timer(t, "batched"):
        many = batched.combined(images)
    assert max(abs(a - b) / max(abs(a), 1e-12) for a, b in zip(one, many)) < 1e-3
    ratio = t["single"] / t["batched"]
    report("gram style scoring, batched vs one at a time", ratio, "goal >= 1x; CPU convs are already parallel",
           f"{n} images at {size}px, {torch.get_num_threads()} threads: one at a time {t['single']:.2f} s, "
           f"batches of {batch_size} {t['batched']:.2f} s")
    return ratio


if __name__ == "__main__":
    main()
