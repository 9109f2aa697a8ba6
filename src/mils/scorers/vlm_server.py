"""The VLM judge through an OpenAI-compatible server (vLLM, SGLang, llama.cpp server, ...).

Each (image, question) pair is one ``/chat/completions`` request: the image as a PNG data URL, the
question as text, ``max_tokens: 1, temperature: 0, logprobs: true, top_logprobs: N``. P(yes) comes
from the first token's top logprobs as in ``mils.scorers.vlm`` (the "yes" and "no" spellings among
them, normalised over the two; an answer missing from the top N counts as probability 0). Requests
run ``max_in_flight`` at a time so the server batches them.
"""
from __future__ import annotations

import base64
import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

import torch

from ..errors import GeneratorError, InputError
from ..generators.openai_transport import Transport, normalize_base_url, resolve_api_key, validate_retry_args
from .vlm import NO_WORDS, YES_WORDS, to_pil, yes_share

_YES = {w.lower() for w in YES_WORDS}
_NO = {w.lower() for w in NO_WORDS}


def data_url(image) -> str:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


class ServerVLM:
    """A VLM behind ``base_url`` (the API root, e.g. http://127.0.0.1:8000/v1); ``model``: its name there
    (None: the one model GET /models lists)."""

    model = None   # no torch module here: nothing for ComfyUI's model management to move

    def __init__(self, base_url: str, model: str | None = None, *, api_key_env: str | None = None,
                 top_logprobs: int = 20, max_in_flight: int = 8, timeout: float = 120.0, max_retries: int = 2):
        self.base_url = normalize_base_url(base_url)
        if not isinstance(top_logprobs, int) or not 1 <= top_logprobs <= 20:
            raise InputError("top_logprobs", "an integer from 1 to 20 (the OpenAI API's limit)", repr(top_logprobs))
        if not isinstance(max_in_flight, int) or max_in_flight < 1:
            raise InputError("max_in_flight", "an integer >= 1", repr(max_in_flight))
        self.top_logprobs, self.max_in_flight = top_logprobs, max_in_flight
        timeout, max_retries, backoff, max_wait = validate_retry_args(timeout, max_retries, 0.5, 30.0)
        self._transport = Transport(self.base_url, what=f"VLM judge model {model or '(default)'!r}",
                                    api_key_env=api_key_env, api_key=resolve_api_key(api_key_env), timeout=timeout,
                                    max_retries=max_retries, backoff=backoff, max_wait=max_wait)
        self.served = (model or "").strip() or self._only_model()
        self.key = f"vlm-server:{self.base_url}#{self.served}"

    def __repr__(self) -> str:  # never shows the key
        return f"ServerVLM({self.base_url!r}, {self.served!r})"

    def close(self) -> None:
        self._transport.close()

    def _only_model(self) -> str:
        data = self._transport.request("GET", f"{self.base_url}/models")
        names = [m.get("id") for m in (data.get("data") or []) if isinstance(m, dict)] if isinstance(data, dict) else []
        if len(names) != 1 or not names[0]:
            raise InputError("vlm model", f"the model name on {self.base_url} (vlm:URL#MODEL); the server lists "
                                          f"{', '.join(map(str, names)) or 'no models'}")
        return str(names[0])

    def _body(self, image, question: str) -> dict[str, Any]:
        return {"model": self.served, "max_tokens": 1, "temperature": 0, "logprobs": True,
                "top_logprobs": self.top_logprobs,
                "messages": [{"role": "user", "content": [
                    {"type": "image_url", "image_url": {"url": data_url(image)}},
                    {"type": "text", "text": question}]}]}

    def _top(self, data: Any) -> list[dict]:
        try:
            first = data["choices"][0]["logprobs"]["content"][0]
            top = first.get("top_logprobs") or [first]
        except (KeyError, IndexError, TypeError, AttributeError):
            top = None
        if not top or not all(isinstance(t, dict) and "logprob" in t for t in top):
            raise GeneratorError(
                f"the VLM server at {self.base_url} (model {self.served!r}) returned no logprobs. The VLM judge needs "
                f"the probability of its answer: a server that returns token logprobs for /chat/completions with "
                f"'logprobs: true, top_logprobs: {self.top_logprobs}' (vLLM, SGLang, llama.cpp server); "
                f"or load the model locally (vlm:<folder or hub id>).")
        return top

    def _one(self, pair) -> float:
        image, question = pair
        top = self._top(self._transport.request("POST", f"{self.base_url}/chat/completions",
                                                json_body=self._body(image, question)))
        words = [(str(t.get("token", "")).strip().lower(), float(t["logprob"])) for t in top]
        yes, no = [v for w, v in words if w in _YES], [v for w, v in words if w in _NO]
        if not yes and not no:
            raise GeneratorError(
                f"the VLM server at {self.base_url} (model {self.served!r}) answered neither yes nor no among its "
                f"top {len(top)} first tokens ({', '.join(w for w, _ in words[:5])}...): make the question ask for "
                f"a yes/no answer")
        return yes_share(yes, no)

    def yes_probs(self, images: torch.Tensor, questions: Sequence[str]) -> list[float]:
        pil = to_pil(images)
        if len(pil) != len(questions):
            raise InputError("questions", f"one question per image ({len(pil)})", str(len(questions)))
        with ThreadPoolExecutor(max_workers=min(self.max_in_flight, max(1, len(pil)))) as pool:
            return list(pool.map(self._one, zip(pil, questions)))
