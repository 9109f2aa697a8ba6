"""LLM backends behind one protocol (see base.Generator)."""
from .base import GenerationParams, Generator

__all__ = ["GenerationParams", "Generator"]
