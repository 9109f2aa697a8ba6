"""LLM nodes: a local model loader, an OpenAI-compatible server, and the generator used on its own."""
from __future__ import annotations

from mils import errors, parsing, registry
from mils.generators.base import GenerationParams
from mils.generators.openai_http import OpenAICompatibleGenerator
from . import bridge, model_memory
from .common import CATEGORY, LLM_TYPE, device_input, dtype_input, keep_loaded_input, node_error, seed_input

USE_HUB_ID = "(use hub_id below)"


class MILSLocalLLM:
    DESCRIPTION = ("Loads a local LLM with transformers: a model folder or .gguf file from models/LLM, or a "
                   "Hugging Face id already in your HF cache. Loaded once and shared; ComfyUI's 'Unload models' "
                   "frees it.")
    CATEGORY = f"{CATEGORY}/LLM"
    RETURN_TYPES = (LLM_TYPE,)
    RETURN_NAMES = ("llm",)
    OUTPUT_TOOLTIPS = ("The generator, for MILS LLM Generate and MILS Loop.",)
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model": ([USE_HUB_ID] + bridge.list_models(bridge.LLM_FOLDER),
                      {"tooltip": "A folder or .gguf file in models/LLM (get one with MILS Download Model)."}),
            "hub_id": ("STRING", {"default": "", "tooltip": "Used when model is '(use hub_id below)': a Hugging Face "
                                                            "id such as Qwen/Qwen2.5-1.5B-Instruct, already downloaded."}),
            "dtype": dtype_input(),
            "device": device_input(),
            "keep_loaded": keep_loaded_input(),
        }}

    def load(self, model, hub_id, dtype, device, keep_loaded):
        if model == USE_HUB_ID:
            if not hub_id.strip():
                raise node_error("hub_id", "a Hugging Face model id when model is '(use hub_id below)'")
            source = hub_id.strip()
            bridge.require_local(source, "hub_id")
        else:
            path = bridge.resolve_model(bridge.LLM_FOLDER, model)
            if path is None:
                raise node_error("model", f"a model in models/{bridge.LLM_FOLDER}; {model!r} is not there any more")
            source = str(path)
        dev = model_memory.load_device_for(device)
        dtype = model_memory.compute_dtype(dtype, device)

        def load():
            return registry.load_llm(source, device=dev, dtype=dtype)

        handle = model_memory.ManagedModel(load, label=f"LLM {source}", keep_loaded=keep_loaded)
        handle.use()  # load now, so a bad model fails at this node
        return (handle,)


class MILSOpenAILLM:
    DESCRIPTION = ("Uses any OpenAI-compatible chat server as the LLM: Ollama, llama.cpp server, vLLM, LM Studio, "
                   "OpenAI. The API key is read from the environment variable you name, never stored in the "
                   "workflow.")
    CATEGORY = f"{CATEGORY}/LLM"
    RETURN_TYPES = (LLM_TYPE,)
    RETURN_NAMES = ("llm",)
    OUTPUT_TOOLTIPS = ("The generator, for MILS LLM Generate and MILS Loop.",)
    FUNCTION = "connect"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "base_url": ("STRING", {"default": "http://127.0.0.1:11434/v1",
                                    "tooltip": "The server's OpenAI API root (ends in /v1 for most servers)."}),
            "model": ("STRING", {"default": "qwen2.5:1.5b", "tooltip": "Model name on that server."}),
            "api_key_env": ("STRING", {"default": "", "tooltip": "NAME of the environment variable holding the key "
                                                                 "(e.g. OPENAI_API_KEY). Empty: no key."}),
            "timeout": ("FLOAT", {"default": 120.0, "min": 1.0, "max": 3600.0, "step": 1.0,
                                  "tooltip": "Seconds to wait for one reply."}),
            "max_retries": ("INT", {"default": 3, "min": 0, "max": 10,
                                    "tooltip": "Retries on refused connection, timeouts, 429 and 5xx."}),
            "server_honours_seed": ("BOOLEAN", {"default": False, "tooltip": "On: the server gives the same reply "
                                                "for the same seed, so ComfyUI may reuse cached results. Off: "
                                                "every queue asks the server again."}),
        }}

    @classmethod
    def IS_CHANGED(cls, server_honours_seed=False, **kwargs):
        return "" if server_honours_seed else float("nan")

    def connect(self, base_url, model, api_key_env, timeout, max_retries, server_honours_seed):
        if not base_url.strip():
            raise node_error("base_url", "the server's URL, e.g. http://127.0.0.1:11434/v1")
        if not model.strip():
            raise node_error("model", "the model name on the server")
        gen = OpenAICompatibleGenerator(base_url.strip(), model.strip(), api_key_env=api_key_env.strip() or None,
                                        timeout=timeout, max_retries=max_retries)
        return (model_memory.ManagedModel(lambda: gen, label=f"LLM {gen.key}"),)


class MILSLLMGenerate:
    DESCRIPTION = ("Asks the LLM for N candidates (an instruction plus a text), parses its numbered list and "
                   "outputs them as a list of strings. One LLM call.")
    CATEGORY = f"{CATEGORY}/LLM"
    RETURN_TYPES = ("STRING", "STRING")
    RETURN_NAMES = ("candidates", "reply")
    OUTPUT_IS_LIST = (True, False)
    OUTPUT_TOOLTIPS = ("The parsed candidates (a list: downstream nodes run once per item).",
                       "The LLM's whole reply.")
    FUNCTION = "generate"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "llm": (LLM_TYPE, {"tooltip": "From MILS Local LLM or MILS OpenAI-compatible LLM."}),
            "instruction": ("STRING", {"multiline": True, "default": "Rewrite this image prompt to be more vivid "
                                       "and specific, keeping every element.",
                                       "tooltip": "What to do with the text."}),
            "text": ("STRING", {"multiline": True, "default": "a cat on a sofa", "tooltip": "The text to work on."}),
            "count": ("INT", {"default": 4, "min": 1, "max": 100, "tooltip": "How many candidates to ask for."}),
            "seed": seed_input(),
            "temperature": ("FLOAT", {"default": 0.7, "min": 0.0, "max": 2.0, "step": 0.05,
                                      "tooltip": "0 = always the most likely text; higher = more varied."}),
            "top_p": ("FLOAT", {"default": 0.9, "min": 0.05, "max": 1.0, "step": 0.05, "tooltip": "Nucleus sampling."}),
            "max_new_tokens": ("INT", {"default": 512, "min": 16, "max": 8192, "tooltip": "Length limit of the reply."}),
        }}

    def generate(self, llm, instruction, text, count, seed, temperature, top_p, max_new_tokens):
        if not instruction.strip() and not text.strip():
            raise node_error("instruction", "an instruction or a text (both are empty)")
        prompt = (f"{instruction.strip()}\n\n{text.strip()}\n\nWrite {count} different answers, one per line, "
                  f"numbered (\"1. ...\"). Reply with the numbered list only.")
        params = GenerationParams(temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                                  seed=seed % (2**31 - 1)).validate()
        generator = llm.use()
        try:
            reply = generator.generate(prompt, params)[0]
        finally:
            llm.release()
        candidates = parsing.parse_candidates(reply)[:count]
        if not candidates:
            raise errors.GeneratorError(f"the LLM's reply had no usable line; raise max_new_tokens or try another "
                                        f"seed. Reply: {reply[:200]!r}")
        return {"ui": {"text": ["\n".join(f"{i}. {c}" for i, c in enumerate(candidates, 1))]},
                "result": (candidates, reply)}
