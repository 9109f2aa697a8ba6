"""Dataset jobs on a Ray cluster (the optional ``ray`` extra: ``pip install "mils-nodes[ray]"``).

cluster   connecting (``--ray``), the extra's clear error, how many workers the cluster holds
manifest  the inputs of a dataset run: a folder, a manifest file, a prompts file (no Ray needed)
worker    the actor: loads the models once, runs a unit of work (a lockstep batch of inputs, mils.batch)
driver    scheduling units on the actors, resubmitting the units of lost workers, one progress bar, outcomes

``import ray`` happens only inside this package, lazily (``cluster.require_ray``).
"""
