"""Evaluation: labels + predictions -> numbers, decisions, rankings and selections.

``classification`` and ``segmentation`` turn a run into the reports the metrics view shows and
``python main.py evaluate`` writes; ``decisions`` turns scores into predicted classes or tags;
``ranking`` and ``segmentation_ranking`` order a run's samples by how wrong they are; ``selection``
maps what the user clicked (a matrix cell, a histogram bar, a mark) back to sample ids.
"""
