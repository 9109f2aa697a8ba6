"""Embedding caches: text rows in memory per encoder, whole pools on disk per (encoder, pool)."""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Sequence

import torch

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """MILS_CACHE_DIR, else $XDG_CACHE_HOME/mils, else ~/.cache/mils."""
    env = os.environ.get("MILS_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mils"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; results are ordinary files
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


class TextEmbeddingCache:
    """Embeds texts through ``encode`` in batches, remembering each text's row (LRU-bounded)."""

    def __init__(self, encode: Callable[[Sequence[str]], torch.Tensor], *, batch_size: int = 64,
                 max_entries: int = 100_000):
        self._encode = encode
        self.batch_size = batch_size
        self.max_entries = max_entries
        self._rows: OrderedDict[str, torch.Tensor] = OrderedDict()
        self.encoded = 0
        self.hits = 0

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, texts: Sequence[str]) -> torch.Tensor:
        missing = list(dict.fromkeys(t for t in texts if t not in self._rows))
        for i in range(0, len(missing), self.batch_size):
            chunk = missing[i:i + self.batch_size]
            emb = self._encode(chunk)
            for t, row in zip(chunk, emb):
                self._rows[t] = row
            self.encoded += len(chunk)
        self.hits += len(texts) - len(missing)
        out = []
        for t in texts:
            self._rows.move_to_end(t)
            out.append(self._rows[t])
        while len(self._rows) > self.max_entries:
            self._rows.popitem(last=False)
        return torch.stack(out) if out else torch.empty(0, 0)


def pool_digest(texts: Sequence[str]) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


class PoolEmbeddingStore:
    """Pool embeddings on disk, one safetensors file per (encoder key, pool content)."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else default_cache_dir() / "pool-embeddings"
        self.loaded_from_disk = 0
        self.computed = 0

    def path_for(self, encoder_key: str, texts: Sequence[str]) -> Path:
        key = hashlib.sha256(f"{encoder_key}\n{pool_digest(texts)}".encode()).hexdigest()[:32]
        return self.root / f"{key}.safetensors"

    def get_or_compute(self, encoder_key: str, texts: Sequence[str],
                       encode: Callable[[Sequence[str]], torch.Tensor], *, batch_size: int = 256) -> torch.Tensor:
        from safetensors.torch import load_file, save

        path = self.path_for(encoder_key, texts)
        if path.exists():
            try:
                emb = load_file(str(path))["embeddings"]
                if emb.shape[0] == len(texts):
                    self.loaded_from_disk += 1
                    return emb
                log.warning("pool cache %s has %d rows for %d texts; recomputing", path, emb.shape[0], len(texts))
            except Exception as exc:  # a corrupt cache file is recomputed, never fatal
                log.warning("pool cache %s unreadable (%s); recomputing", path, exc)
        rows = [encode(list(texts[i:i + batch_size])) for i in range(0, len(texts), batch_size)]
        emb = torch.cat(rows).float().contiguous()
        self.computed += 1
        try:
            atomic_write_bytes(path, save({"embeddings": emb}, metadata={"encoder": encoder_key, "count": str(len(texts))}))
        except OSError as exc:
            log.warning("could not write pool cache %s: %s", path, exc)
        return emb
