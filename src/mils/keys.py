"""Short stable digests for cache keys and renderer identities."""
from __future__ import annotations

import hashlib

import torch


def digest(data: bytes, n: int = 12) -> str:
    return hashlib.sha256(data).hexdigest()[:n]


def tensor_digest(tensor: torch.Tensor, n: int = 12) -> str:
    """The digest of a tensor's shape and float32 values (device and dtype do not matter)."""
    t = tensor.detach().to("cpu", torch.float32).contiguous()
    return digest(repr(tuple(t.shape)).encode() + t.numpy().tobytes(), n)
