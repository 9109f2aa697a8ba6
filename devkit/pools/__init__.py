"""Builder of the shipped starting pools: ``build.py`` (templates) and ``vocabulary.py`` (word lists)."""
