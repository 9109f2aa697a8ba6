"""A local Hugging Face transformers causal LM as a MILS generator.

``load_transformers_generator`` accepts

* a local model folder (``config.json`` + weights + tokenizer files, as ``save_pretrained`` writes),
* a hub id (``HuggingFaceTB/SmolLM2-135M-Instruct``), loaded from the local hub cache or downloaded,
* a ``.gguf`` file (or a folder plus ``gguf_file=``): transformers de-quantises it to a regular
  PyTorch model; this needs the optional ``gguf`` and ``accelerate`` packages.

Loaded models go through ``MODEL_CACHE`` (kind ``"generator"``), so a second load of the same
source / dtype / device returns the same object.
"""
from __future__ import annotations

import copy
import importlib.util
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any

from ..errors import GeneratorError, InputError, ModelNotFoundError
from ..model_cache import MODEL_CACHE, ModelKey, resolve_device, resolve_dtype
from .base import GenerationParams, row_seed

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def _download_hint(target: str, hub_id: str = "<hub id>") -> str:
    return (f"Get it with `mils download <preset>`, or with `huggingface-cli download {hub_id} --local-dir {target}` "
            f"on a machine with network access, then pass that folder (or its .gguf file).")


def _require_gguf_support() -> None:
    missing = [m for m in ("gguf", "accelerate") if importlib.util.find_spec(m) is None]
    if missing:
        raise GeneratorError(
            f"loading a .gguf model through transformers needs {' and '.join(missing)}: "
            f'pip install "mils-nodes[gguf]"')


def _check_gguf_file(path: Path) -> None:
    """Fail early and clearly on a file that is not GGUF (a renamed text file, an HTML error page...)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise InputError("model", "a readable .gguf model file", f"{str(path)!r} ({e})") from e
    if head != GGUF_MAGIC:
        raise InputError("model", "a GGUF model file (it must start with the bytes 'GGUF')",
                         f"{str(path)!r}, which starts with {head!r}: the file is corrupt or not a GGUF model")


def _resolve_source(source: str | os.PathLike, gguf_file: str | None) -> tuple[str, str | None, bool]:
    """Return (folder or hub id, gguf file name or None, is_local)."""
    if source is None or str(source).strip() == "":
        raise InputError("model", "a model folder, a hub id or a .gguf file", repr(source))
    raw = str(source).strip()
    path = Path(raw).expanduser()

    if path.is_file():
        if gguf_file is not None and gguf_file != path.name:
            raise InputError("gguf_file", "no gguf_file when the source is already a file",
                             f"source={raw!r}, gguf_file={gguf_file!r}")
        return str(path.resolve().parent), path.name, True

    if path.is_dir():
        folder = path.resolve()
        if gguf_file is not None:
            if not (folder / gguf_file).is_file():
                raise ModelNotFoundError(f"no GGUF file {gguf_file!r} in {folder}. " + _download_hint(str(folder)))
            return str(folder), gguf_file, True
        if not (folder / "config.json").is_file():
            ggufs = sorted(p.name for p in folder.glob("*.gguf"))
            if len(ggufs) == 1:
                log.info("%s has no config.json; using its only GGUF file %s", folder, ggufs[0])
                return str(folder), ggufs[0], True
            if ggufs:
                raise InputError("gguf_file", f"one of {', '.join(ggufs)} (the folder {folder} holds several)", "none")
            raise ModelNotFoundError(f"{folder} holds no model: no config.json and no .gguf file. "
                                     + _download_hint(str(folder)))
        return str(folder), None, True

    looks_like_path = (raw.startswith((".", "/", "~", "\\")) or raw.lower().endswith(".gguf")
                       or "\\" in raw or raw.count("/") > 1 or re.match(r"^[A-Za-z]:[\\/]", raw))
    if looks_like_path or not _HUB_ID.match(raw):
        target = str(path.parent) if raw.lower().endswith(".gguf") else raw
        raise ModelNotFoundError(f"no model at {raw}: the path does not exist. " + _download_hint(target))
    return raw, gguf_file, False


def _is_missing_hub_model(exc: BaseException) -> bool:
    names = {c.__name__ for c in type(exc).__mro__}
    return isinstance(exc, (OSError, FileNotFoundError)) or bool(names & {
        "LocalEntryNotFoundError", "EntryNotFoundError", "RepositoryNotFoundError", "RevisionNotFoundError",
        "HfHubHTTPError", "OfflineModeIsEnabled", "GatedRepoError"})


class TransformersGenerator:
    """A loaded causal LM + tokenizer answering one user turn per request."""

    def __init__(self, model: Any, tokenizer: Any, key: str):
        self.model = model
        self.tokenizer = tokenizer
        self.key = key
        self._lock = threading.Lock()
        if getattr(tokenizer, "pad_token_id", None) is None:
            eos = getattr(tokenizer, "eos_token_id", None)
            if eos is None:
                eos = getattr(model.generation_config, "eos_token_id", None)
                if isinstance(eos, (list, tuple)):
                    eos = eos[0] if eos else None
            self._pad_token_id = eos if eos is not None else 0
        else:
            self._pad_token_id = tokenizer.pad_token_id

    def __repr__(self) -> str:
        return f"TransformersGenerator({self.key!r})"

    @property
    def device(self):
        return self.model.device

    @property
    def uses_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def format_prompt(self, prompt: str) -> str:
        """The text the model sees: the chat template around one user turn, or the raw prompt.

        ``enable_thinking=False`` turns off the reasoning block of templates that have one (Qwen3 and
        others); templates without the switch ignore it.
        """
        if self.uses_chat_template:
            return self.tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True,
                enable_thinking=False)
        return prompt

    @property
    def default_parallel(self) -> int:
        """Replies per search step when the config leaves it open: a GPU batches more for free."""
        return 8 if self.model.device.type == "cuda" else 4

    def _generation_config(self, max_new_tokens: int):
        gc = copy.deepcopy(self.model.generation_config)
        gc.max_new_tokens = max_new_tokens
        gc.max_length = None
        gc.num_beams = 1
        gc.num_return_sequences = 1
        gc.pad_token_id = self._pad_token_id
        if gc.eos_token_id is None and getattr(self.tokenizer, "eos_token_id", None) is not None:
            gc.eos_token_id = self.tokenizer.eos_token_id
        # Sampling happens in _RowSampler (one seeded torch.Generator per row); generate() itself
        # only takes the argmax of what it returns, so no global RNG is involved.
        gc.do_sample = False
        gc.temperature = None
        gc.top_p = None
        gc.top_k = None
        return gc

    def _newline_ids(self):
        """Token ids whose text holds a line break (counted to stop a reply at the end of its list)."""
        if getattr(self, "_newlines", None) is None:
            import torch

            vocab = len(self.tokenizer)
            texts = self.tokenizer.batch_decode([[i] for i in range(vocab)])
            self._newlines = torch.tensor([i for i, t in enumerate(texts) if "\n" in t], dtype=torch.long)
        return self._newlines

    def _encode(self, prompt: str) -> list[int]:
        text = self.format_prompt(prompt)
        # The chat template already holds the BOS / role markers; add them only for a raw prompt.
        return list(self.tokenizer(text, add_special_tokens=not self.uses_chat_template)["input_ids"])

    def generate(self, prompt: str, params: GenerationParams) -> list[str]:
        """``params.num_replies`` replies sampled as one batch; reply r uses seed row_seed(seed, r)."""
        return self._generate_rows([(prompt, params)])[0]

    def generate_batch(self, prompts: list[str], params_list: list[GenerationParams]) -> list[list[str] | Exception]:
        """All prompts' replies in one left-padded batch (one seed per row); errors in place."""
        if not prompts:
            return []
        try:
            return list(self._generate_rows(list(zip(prompts, params_list))))
        except GeneratorError as e:
            return [e] * len(prompts)

    def _generate_rows(self, requests: list[tuple[str, GenerationParams]]) -> list[list[str]]:
        import torch
        from transformers import LogitsProcessorList

        rows: list[_Row] = []
        owners: list[tuple[int, int, bool]] = []  # per request: first row, row count, greedy
        encoded: dict[str, list[int]] = {}
        for prompt, params in requests:
            params = params.validate()
            if not isinstance(prompt, str):
                raise InputError("prompt", "a string", type(prompt).__name__)
            if prompt not in encoded:
                encoded[prompt] = self._encode(prompt)
            greedy = params.temperature <= 0
            # Greedy decoding gives one answer however often it is asked; compute it once.
            seeds = [None] if greedy else [row_seed(params.seed, r) for r in range(params.num_replies)]
            owners.append((len(rows), len(seeds), greedy))
            rows += [_Row(encoded[prompt], seed, params) for seed in seeds]

        width = max(len(r.ids) for r in rows)
        dev = self.model.device
        ids = torch.full((len(rows), width), self._pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):  # left padding: every row's next token lands in the last column
            ids[i, width - len(r.ids):] = torch.tensor(r.ids, dtype=torch.long)
            mask[i, width - len(r.ids):] = 1
        budgets = [r.params.max_new_tokens for r in rows]
        gc = self._generation_config(max(budgets))
        criteria = _cancel_criteria()
        if len(set(budgets)) > 1:
            criteria.append(_RowBudget(budgets, width))
        line_limits = [None if r.params.max_items is None else r.params.max_items + 1 for r in rows]
        if any(limit is not None for limit in line_limits):
            criteria.append(_RowLines(line_limits, width, self._newline_ids()))
        try:
            with self._lock, torch.inference_mode():
                sampler = _RowSampler(rows, dev)
                out = self.model.generate(input_ids=ids.to(dev), attention_mask=mask.to(dev), generation_config=gc,
                                          logits_processor=LogitsProcessorList([sampler]), stopping_criteria=criteria)
        except Exception as e:
            raise GeneratorError(f"{self.key}: generation failed: {type(e).__name__}: {e}") from e

        new = out[:, width:].cpu()
        texts = [r.strip() for r in self.tokenizer.batch_decode(
            [row[:budget] for row, budget in zip(new, budgets)], skip_special_tokens=True)]
        log.debug("%s: %d rows, %d new tokens max", self.key, len(rows), new.shape[1])
        replies = []
        for (first, count, greedy), (_, params) in zip(owners, requests):
            got = texts[first:first + count]
            replies.append(got * params.num_replies if greedy else got)
        return replies


class _Row:
    __slots__ = ("ids", "seed", "params")

    def __init__(self, ids: list[int], seed: int | None, params: GenerationParams):
        self.ids, self.seed, self.params = ids, seed, params


class _RowSampler:  # a transformers LogitsProcessor (duck-typed: importing transformers here is slow)
    """Nucleus sampling with one seeded generator per row; returns logits whose argmax is the draw.

    A row's draws depend only on its own logits and seed, so a reply does not change with the
    rest of the batch. Greedy rows (seed None) pass through unchanged.
    """

    def __init__(self, rows: list[_Row], device):
        import torch

        self.sampled = [i for i, r in enumerate(rows) if r.seed is not None]
        self.gens = [torch.Generator(device=device).manual_seed(int(rows[i].seed)) for i in self.sampled]
        self.temps = torch.tensor([[float(rows[i].params.temperature)] for i in self.sampled], device=device)
        self.top_ps = torch.tensor([[float(rows[i].params.top_p)] for i in self.sampled], device=device)
        self.index = torch.tensor(self.sampled, dtype=torch.long, device=device)

    def __call__(self, input_ids, scores):
        import torch

        if not self.sampled:
            return scores
        logits = scores.index_select(0, self.index).float() / self.temps
        u = torch.stack([torch.rand((), generator=g, device=scores.device) for g in self.gens]).unsqueeze(-1)
        log_z = torch.logsumexp(logits, dim=-1, keepdim=True)
        # The nucleus almost always lies in the top few hundred tokens: look there first, and sort
        # the whole vocabulary only for a row whose top tokens do not reach top_p.
        top_logits, top_ids = torch.topk(logits, min(_NUCLEUS_FIRST, logits.shape[-1]), dim=-1)
        top_probs = torch.exp(top_logits - log_z)
        tokens = _draw(top_probs, top_ids, self.top_ps, u)
        for r in (top_probs.sum(-1) < self.top_ps.squeeze(-1)).nonzero().flatten().tolist():
            row_logits, row_ids = torch.sort(logits[r:r + 1], dim=-1, descending=True)
            tokens[r] = _draw(torch.exp(row_logits - log_z[r:r + 1]), row_ids, self.top_ps[r:r + 1], u[r:r + 1])[0]
        chosen = torch.full_like(logits, float("-inf")).scatter_(-1, tokens, 0.0)
        out = scores.clone()
        out[self.index] = chosen.to(out.dtype)
        return out


_NUCLEUS_FIRST = 256


def _draw(probs, ids, top_p, u):
    """One token per row from probabilities sorted best first: the smallest prefix reaching top_p, then u."""
    import torch

    probs = probs.masked_fill((probs.cumsum(-1) - probs) >= top_p, 0.0)  # the first token always stays
    cdf = probs.cumsum(-1)
    pick = torch.searchsorted(cdf, u * cdf[:, -1:]).clamp_(max=cdf.shape[-1] - 1)
    return ids.gather(-1, pick)


class _RowLines:  # a transformers StoppingCriteria
    """Stops each row once it has written ``limit`` line breaks (its list is complete)."""

    def __init__(self, limits: list[int | None], prompt_width: int, newline_ids):
        import torch

        self.limits = torch.tensor([limit if limit is not None else 2**62 for limit in limits])
        self.width = prompt_width
        self.newline_ids = newline_ids

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        made = input_ids[:, self.width:]
        lines = torch.isin(made, self.newline_ids.to(made.device)).sum(-1)
        return lines >= self.limits.to(made.device)


class _RowBudget:  # a transformers StoppingCriteria
    """Stops each row at its own max_new_tokens (rows of a batch may ask for different lengths)."""

    def __init__(self, budgets: list[int], prompt_width: int):
        self.budgets = budgets
        self.width = prompt_width

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        made = input_ids.shape[1] - self.width
        return torch.tensor([made >= b for b in self.budgets], dtype=torch.bool, device=input_ids.device)


def _cancel_criteria():
    """Stop generating as soon as the running search is cancelled (ComfyUI's interrupt, Ctrl-C)."""
    from transformers import StoppingCriteria, StoppingCriteriaList

    from ..cancel import requested

    class _Cancelled(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            import torch

            return torch.full((input_ids.shape[0],), requested(), dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([_Cancelled()])


def _load(folder: str, gguf_file: str | None, is_local: bool, device: str, dtype, key: str) -> TransformersGenerator:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {}
    if gguf_file is not None:
        kwargs["gguf_file"] = gguf_file
    if is_local:
        kwargs["local_files_only"] = True
    what = os.path.join(folder, gguf_file) if gguf_file else folder
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, **kwargs)
    except (ModelNotFoundError, InputError, GeneratorError):
        raise
    except Exception as e:
        if not is_local and _is_missing_hub_model(e):
            raise ModelNotFoundError(
                f"the hub model {folder!r} is not in the local Hugging Face cache and could not be downloaded "
                f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}). "
                + _download_hint("<dir>", folder)) from e
        raise InputError("model", "a loadable causal language model (transformers folder, hub id or .gguf file)",
                         f"{what!r}, which failed to load: {type(e).__name__}: {e}") from e
    model = model.to(device).eval()
    log.info("loaded %s: %s, %.1fM parameters on %s (%s)", key, type(model).__name__,
             sum(p.numel() for p in model.parameters()) / 1e6, device, str(dtype).replace("torch.", ""))
    return TransformersGenerator(model, tokenizer, key)


def load_transformers_generator(source: str | os.PathLike, *, gguf_file: str | None = None,
                                device: str = "auto", dtype: str = "auto") -> TransformersGenerator:
    """Load (or fetch from MODEL_CACHE) a causal LM as a :class:`TransformersGenerator`.

    ``source``: a local folder, a hub id, or a path to a ``.gguf`` file (then the folder is its
    parent and ``gguf_file`` its name). Raises ModelNotFoundError when nothing is there,
    InputError when what is there is not a loadable model, GeneratorError when the optional
    GGUF dependencies are missing.
    """
    folder, gguf_name, is_local = _resolve_source(source, gguf_file)
    if gguf_name is not None:
        _require_gguf_support()
        if is_local:
            _check_gguf_file(Path(folder) / gguf_name)
    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, dev)
    key = f"transformers:{folder}" + (f":{gguf_name}" if gguf_name else "")
    mkey = ModelKey(kind="generator", source=folder, dtype=str(torch_dtype).replace("torch.", ""), device=dev,
                    extra=f"transformers:{gguf_name or ''}")
    return MODEL_CACHE.get_or_load(mkey, lambda: _load(folder, gguf_name, is_local, dev, torch_dtype, key))


__all__ = ["TransformersGenerator", "load_transformers_generator"]
