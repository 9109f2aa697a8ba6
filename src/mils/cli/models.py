"""Loading the models a subcommand's options name (the LLM, the scorer)."""
from __future__ import annotations

from .. import registry
from ..errors import InputError


def load_generator(args, task_name: str):
    """--llm-url + --llm-model (an OpenAI-compatible server), else --llm, else the task's default LLM."""
    if args.llm_url:
        from ..generators.openai_http import OpenAICompatibleGenerator

        if not args.llm_model:
            raise InputError("--llm-model", "the model name on the server given by --llm-url")
        return OpenAICompatibleGenerator(args.llm_url, args.llm_model, api_key_env=args.api_key_env,
                                         timeout=args.llm_timeout, max_in_flight=args.llm_max_in_flight)
    spec = args.llm or registry.TASK_DEFAULTS[task_name]["llm"]
    return registry.load_llm(spec, models_dir=args.models_dir, device=args.device, dtype=args.dtype,
                             allow_download=not args.no_download)


def load_encoder(args, task_name: str, spec: str | None = None):
    """``spec`` (else --scorer, else the task's default scorer)."""
    spec = spec or getattr(args, "scorer", None) or registry.TASK_DEFAULTS[task_name]["scorer"]
    return vlm_options(args, registry.load_scorer_model(spec, models_dir=args.models_dir, device=args.device,
                                                        dtype=args.dtype, allow_download=not args.no_download))


def vlm_options(args, model):
    """A VLM judge with the --vlm-question / --concepts the command was given; any other scorer as it is."""
    question, concepts = getattr(args, "vlm_question", None), getattr(args, "concepts", None)
    if not hasattr(model, "with_options"):
        if question or concepts not in (None, "off"):
            raise InputError("--vlm-question/--concepts", "a VLM judge scorer (vlm:...)", getattr(model, "key", model))
        return model
    if question is not None:
        from ..scorers.vlm import check_question

        check_question(question, "--vlm-question")
    return model.with_options(question=question, concepts=concepts)
