"""Reference-free CLIPScore (Hessel et al. 2021): w * max(cos(image, text), 0), w = 2.5, with any image-text encoder."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from ..errors import InputError

CLIPSCORE_WEIGHT = 2.5


def check_image_encoder(encoder, name: str) -> None:
    """``encoder`` must embed images as well as text; ``name`` is the input that named it."""
    if "image" not in getattr(encoder, "modalities", ()) or not hasattr(encoder, "encode_image"):
        raise InputError(name, "an image-text scorer (one that embeds images and text)",
                         f"{getattr(encoder, 'key', encoder)} (embeds {sorted(getattr(encoder, 'modalities', []))})")


def image_text_cosines(encoder, images: Sequence[torch.Tensor], texts: Sequence[str], *, batch: int = 16) -> list[float]:
    """cos(image_i, text_i) for each pair; each image is (1, H, W, 3) or (H, W, 3), float 0..1."""
    out: list[float] = []
    for i in range(0, len(texts), batch):
        ims = [im if im.ndim == 4 else im[None] for im in images[i:i + batch]]
        img = torch.cat([encoder.encode_image(im).float() for im in ims])   # sizes differ: one call each
        txt = encoder.encode_text(list(texts[i:i + batch])).float()
        img = torch.nn.functional.normalize(img, dim=-1)
        txt = torch.nn.functional.normalize(txt, dim=-1)
        out += (img * txt).sum(-1).tolist()
    return out


def clip_scores(encoder, images: Sequence[torch.Tensor], texts: Sequence[str], *,
                weight: float = CLIPSCORE_WEIGHT) -> list[float]:
    return [weight * max(c, 0.0) for c in image_text_cosines(encoder, images, texts)]


def find_media(recorded: str | None, name: str, source: str, media_dir: str | Path | None = None) -> Path:
    """The media file a result was made from: ``media_dir``/name, the recorded path, or beside the result file."""
    here = Path(source.split(":")[0].split("[")[0]).parent
    candidates = []
    if media_dir is not None:
        candidates.append(Path(media_dir) / name)
    if recorded:
        candidates += [Path(recorded), here / recorded]
    candidates.append(here / name)
    for c in candidates:
        if c.is_file():
            return c
    raise InputError(f"{source}: input", "the media file the caption was made from (or pass --media DIR)",
                     f"{recorded or name} (looked in: {', '.join(str(c) for c in candidates)})")
