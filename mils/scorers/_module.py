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

    def encode_text(self, texts) -> torch.Tensor:  # pragma: no cover - implemented by subclasses
        raise NotImplementedError
