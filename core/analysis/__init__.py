"""Why the model fails: label issues, duplicates and leaks, outliers, the 2-D map of the embeddings.

Functions of numpy arrays (embeddings, labels, out-of-sample probabilities) that return small result
dataclasses; anything that takes over a second reports progress and can be stopped (see ``progress``).
No Qt, no files: the ``analyze`` command and the metrics pane's views call these and store the results.
Methods and sources: docs/analysis.md.
"""

from core.analysis.duplicates import (
    DuplicatePairs,
    find_duplicates,
    hash_dataset,
    hash_images,
    near_duplicate_distance,
    pixel_hash,
)
from core.analysis.label_issues import (
    CROSS_VALIDATED,
    HELD_OUT,
    LabelIssues,
    MultilabelIssues,
    cross_validated_probabilities,
    find_label_issues,
    find_multilabel_issues,
)
from core.analysis.neighbours import Neighbours, nearest_neighbours
from core.analysis.outliers import Outliers, knn_scores, ood_scores, rank_outliers
from core.analysis.pixel_issues import (
    SegmentationLabelQuality,
    pixel_label_quality,
    segmentation_label_quality,
    suspect_pixels,
)
from core.analysis.progress import Cancelled
from core.analysis.projection import MapStep, compute_map, embedding_map, map_cache_key, pca_2d

__all__ = [
    "CROSS_VALIDATED",
    "HELD_OUT",
    "Cancelled",
    "DuplicatePairs",
    "LabelIssues",
    "MapStep",
    "MultilabelIssues",
    "Neighbours",
    "Outliers",
    "SegmentationLabelQuality",
    "compute_map",
    "cross_validated_probabilities",
    "embedding_map",
    "find_duplicates",
    "find_label_issues",
    "find_multilabel_issues",
    "hash_dataset",
    "hash_images",
    "knn_scores",
    "map_cache_key",
    "near_duplicate_distance",
    "nearest_neighbours",
    "ood_scores",
    "pca_2d",
    "pixel_hash",
    "pixel_label_quality",
    "rank_outliers",
    "segmentation_label_quality",
    "suspect_pixels",
]
