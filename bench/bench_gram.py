"""Gram style scoring of 16 images: batched vs one image at a time (the paper's VGG batch was 2).

VGG19 trunk (conv1_1 .. conv3_1) with random weights: the timing does not depend on the weights.
256 x 256 inputs, style and content targets, as in the paper's style-transfer loop.

Seen so far: on CPUs batching does not pay (the convolutions are already multi-threaded, and a batch's
full-resolution conv1 maps thrash the caches): 0.7-0.8x at batches of 2-8 with 16 threads, 1.0x at 2
and 0.7-0.8x at 8 with 2 threads. On an H200, 1.4x at batches of 8 for 64 images and 1.4x at 16 for
16 images (tens of milliseconds in all, so run to run noise is large). Hence the scorer's default,
batch_size=None: 1 image per pass on the CPU, 8 on a GPU. `main(device="cuda")` measures the GPU.
"""
import torch

from mils.scorers.gram import GramStyleScorer
from mils.scorers.gram_features import VGG19Features

from ._common import report, timer


def main(n: int = 16, batch_size: int | None = None, size: int = 256, device: str = "cpu") -> float:
    torch.manual_seed(0)
    ext = VGG19Features()
    ext.model.to(device)
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
    bs = batched.effective_batch_size
    report("gram style scoring, batched vs one at a time", ratio,
           "goal > 1x on GPU; none expected on CPU",
           f"{n} images at {size}px on {device} ({torch.get_num_threads()} threads): one at a time "
           f"{t['single']:.2f} s, batches of {bs}{' (auto)' if batch_size is None else ''} {t['batched']:.2f} s")
    return ratio


if __name__ == "__main__":
    main()
    main(batch_size=8)
