"""The bottom layer: what every other package may import, and which imports nothing of ours.

Errors, atomic files and hashes, the start-up profile, the model zoo as plain data, checkpoint
reading and strict-load helpers, and the builders that skip random initialisation. The layer
order of the whole project is drawn in the README ("Layout") and checked by
``tests/test_layers.py``.
"""
