"""MILS: an LLM proposes text, a multimodal model scores it, the best go back to the LLM. No training.

Library entry points:
- ``Job`` / ``run_job`` (mils.jobs): every task (caption, invert, enhance, style transfer, merge) as a job,
  with the task's pool and budget presets;
- ``run_search`` (mils.search): the loop itself, for any Generator and Scorer;
- ``load_llm`` / ``load_scorer_model`` / ``download`` (mils.registry): models by preset, path or hub id.
"""
from .errors import GeneratorError, InputError, MilsError, ModelNotFoundError
from .search import SearchConfig, SearchResult, run_search
from .tasks import TASKS, get_task

__version__ = "0.2.0"

__all__ = ["GeneratorError", "InputError", "MilsError", "ModelNotFoundError", "SearchConfig", "SearchResult",
           "TASKS", "get_task", "run_search", "__version__"]
