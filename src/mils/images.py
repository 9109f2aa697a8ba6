"""Pictures out: tensors as PIL images and PNG bytes, labelled contact sheets, and the score curve."""
from __future__ import annotations

import io
import textwrap

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont


def to_pil(image: torch.Tensor) -> Image.Image:
    """A (H, W, 3) float 0..1 tensor as an RGB PIL image."""
    arr = (image.detach().to("cpu").float().clamp(0, 1).numpy() * 255.0).round().astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def png_bytes(image) -> bytes:
    """A PIL image or a (H, W, 3) tensor as PNG file bytes."""
    buf = io.BytesIO()
    (image if hasattr(image, "save") else to_pil(image)).save(buf, format="PNG")
    return buf.getvalue()


def label_font_size(tile_width: int) -> int:
    return max(10, min(20, tile_width // 14))


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        return ImageFont.load_default()


def wrap_label(head: str, text: str, tile_width: int, max_lines: int = 3) -> list[str]:
    """``head``, then ``text`` wrapped to about the tile's width (``max_lines`` lines at most)."""
    chars = max(12, int(tile_width / (0.6 * label_font_size(tile_width))))
    return [head, *textwrap.wrap(text, chars, max_lines=max_lines, placeholder=" ...")]


def contact_sheet(images, labels: list[list[str]]) -> Image.Image:
    """One row of images, each with its lines of label centred below it (white background, Pillow's font)."""
    tiles = [to_pil(im) for im in images]
    w, h = max(t.width for t in tiles), max(t.height for t in tiles)
    font = _font(label_font_size(w))
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))

    def extent(text: str) -> tuple[int, int]:
        left, top, right, bottom = probe.textbbox((0, 0), text, font=font)
        return right - left, bottom - top

    lines = [line for lab in labels for line in lab]
    line_h = max([extent(line)[1] for line in lines] + [8]) + 4
    col = max([w] + [extent(line)[0] for line in lines])
    pad = 8
    rows = max([len(lab) for lab in labels] + [0])
    sheet = Image.new("RGB", (pad + len(tiles) * (col + pad), 2 * pad + h + 4 + rows * line_h), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (tile, lab) in enumerate(zip(tiles, labels)):
        x = pad + i * (col + pad)
        sheet.paste(tile, (x + (col - tile.width) // 2, pad))
        for j, line in enumerate(lab):
            draw.text((x + (col - extent(line)[0]) // 2, pad + h + 4 + j * line_h), line, fill="black", font=font)
    return sheet


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
