"""The score curve as an IMAGE (drawn with Pillow, no plotting library needed)."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw


def score_curve_image(best: list[float], mean_top_k: list[float] | None = None, *, width: int = 512,
                      height: int = 256, title: str = "best score per step") -> torch.Tensor:
    """(1, H, W, 3) float image: best score (and mean of the top K) against the step."""
    img = Image.new("RGB", (width, height), (24, 24, 28))
    d = ImageDraw.Draw(img)
    left, right, top, bottom = 56, width - 12, 24, height - 28
    d.rectangle([left, top, right, bottom], outline=(90, 90, 100))
    d.text((left, 6), title, fill=(220, 220, 220))
    series = [s for s in (best, mean_top_k) if s]
    if best:
        lo = min(min(s) for s in series)
        hi = max(max(s) for s in series)
        if hi - lo < 1e-9:
            lo, hi = lo - 0.5, hi + 0.5
        n = max(1, len(best) - 1)

        def xy(i, v):
            return (left + (right - left) * i / n, bottom - (bottom - top) * (v - lo) / (hi - lo))

        for s, colour in ((mean_top_k, (120, 140, 200)), (best, (250, 190, 60))):
            if not s:
                continue
            pts = [xy(i, v) for i, v in enumerate(s)]
            if len(pts) > 1:
                d.line(pts, fill=colour, width=2)
            for x, y in pts:
                d.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        d.text((4, top - 4), f"{hi:.4f}", fill=(200, 200, 200))
        d.text((4, bottom - 10), f"{lo:.4f}", fill=(200, 200, 200))
        d.text((left, bottom + 8), "step 0", fill=(200, 200, 200))
        d.text((right - 48, bottom + 8), f"step {len(best) - 1}", fill=(200, 200, 200))
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0)[None]
