"""Renderers: text -> image backends for scoring candidates by their pictures (mils.scorers.render).

``DiffusersRenderer`` renders with any diffusers text-to-image pipeline, ``DiffusersEditRenderer``
edits a content image with an instruction-edit (InstructPix2Pix) or image-to-image pipeline.
diffusers itself is imported only when a pipeline is loaded or rendered with
(``pip install "mils-nodes[diffusers]"``).
"""
from .diffusers_loading import MissingDependencyError, load_diffusers_pipeline
from .diffusers_renderer import DiffusersEditRenderer, DiffusersRenderer

__all__ = ["DiffusersEditRenderer", "DiffusersRenderer", "MissingDependencyError", "load_diffusers_pipeline"]
