"""The engine, imported the right way for where the pack runs.

Inside ComfyUI the pack folder is a package (``<pack>.nodes``), so the engine is ``<pack>.mils``;
in tests and from a pip install, ``nodes`` and ``mils`` are top-level packages. Every node module
imports the engine from here, so there is only ever one copy of its caches and error classes.
"""
if __package__ and "." in __package__:
    from ..mils import cancel, errors, media, parsing, pools, registry, runner, search, targets, tasks  # noqa: F401
    from ..mils.generators.base import GenerationParams  # noqa: F401
    from ..mils.generators.openai_http import OpenAICompatibleGenerator  # noqa: F401
    from ..mils.model_cache import MODEL_CACHE  # noqa: F401
    from ..mils.scorers.embedding import EmbeddingScorer  # noqa: F401
    from ..mils.scorers.render import RenderScorer  # noqa: F401
else:
    from mils import cancel, errors, media, parsing, pools, registry, runner, search, targets, tasks  # noqa: F401
    from mils.generators.base import GenerationParams  # noqa: F401
    from mils.generators.openai_http import OpenAICompatibleGenerator  # noqa: F401
    from mils.model_cache import MODEL_CACHE  # noqa: F401
    from mils.scorers.embedding import EmbeddingScorer  # noqa: F401
    from mils.scorers.render import RenderScorer  # noqa: F401
