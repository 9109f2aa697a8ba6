"""Small previews of the Loop's renders for the editor: the artist judges pictures, not scores.

``Thumbnails`` wraps a renderer: every picture it renders is also kept as a small JPEG (a data URL)
under the text it was rendered from, so the progress event can show each leaderboard row's render.
Everything else (key, fit_text, conditioning, ...) is the wrapped renderer's own.
"""
from __future__ import annotations

import base64
import io
import logging
import threading
from collections import OrderedDict
from typing import Sequence

import numpy as np
import torch

log = logging.getLogger(__name__)

SIZE = 96          # pixels, the longer side
KEPT = 256         # previews kept per renderer (the leaderboard shows ten)


def jpeg_data_url(image: torch.Tensor, size: int = SIZE, quality: int = 80) -> str:
    """A (H, W, 3) float image in [0, 1] as a small JPEG data URL."""
    from PIL import Image

    arr = (image.detach().float().clamp(0, 1).cpu().numpy() * 255).round().astype(np.uint8)
    pic = Image.fromarray(arr[..., :3])
    pic.thumbnail((size, size))
    buf = io.BytesIO()
    pic.save(buf, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


class Thumbnails:
    """A renderer that remembers a preview of each text it rendered."""

    def __init__(self, inner):
        self.inner = inner
        self._previews: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self.__dict__["inner"], name) if "inner" in self.__dict__ else super().__getattribute__(name)

    # the Renderer protocol's members, explicit (isinstance checks on protocols do not see __getattr__)
    @property
    def key(self) -> str:
        return self.inner.key

    @property
    def token_budget(self):
        return getattr(self.inner, "token_budget", None)

    def fit_text(self, text: str) -> str:
        fit = getattr(self.inner, "fit_text", None)
        return fit(text) if fit is not None else text

    def render(self, texts: Sequence[str], seed: int) -> torch.Tensor:
        images = self.inner.render(texts, seed)
        try:
            previews = [jpeg_data_url(img) for img in images]
        except Exception as exc:  # a preview must never fail a render
            log.debug("no preview: %s", exc)
            return images
        with self._lock:
            for text, url in zip(texts, previews):
                self._previews[text] = url
                self._previews.move_to_end(text)
            while len(self._previews) > KEPT:
                self._previews.popitem(last=False)
        return images

    def preview(self, text: str) -> str | None:
        """The preview of ``text`` (as given, or as the renderer reads it), or None if it was not rendered."""
        with self._lock:
            found = self._previews.get(text)
        if found is None:
            read = self.fit_text(text)
            with self._lock:
                found = self._previews.get(read)
        return found
