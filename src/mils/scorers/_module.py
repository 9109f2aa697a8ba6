"""What the encoders that wrap one torch module (``self.model``) have in common."""
from __future__ import annotations

import torch


class TorchEncoder:
    key: str
    model: torch.nn.Module
    _dim: int | None = None

    @property
    def device(self) -> torch.device:
        """Where the weights are now (ComfyUI's model management may move them between uses)."""
        return next(self.model.parameters()).device

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r}, device={self.device!r})"

    @property
    def embedding_dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.encode_text(["a"]).shape[1])
        return self._dim

    text_batch_size: int = 256

    @torch.inference_mode()
    def encode_text(self, texts) -> torch.Tensor:
        from . import _preprocess as pp

        items = pp.check_texts(texts)
        if not items:
            return torch.zeros((0, self.embedding_dim))
        return torch.cat(pp.encode_in_chunks(items, self.text_batch_size, self._encode_text_chunk))

    def _encode_text_chunk(self, chunk: list[str]) -> torch.Tensor:  # pragma: no cover - per model
        raise NotImplementedError
