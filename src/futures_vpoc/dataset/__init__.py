"""Dataset stage: purged chronological splits, walk-forward folds, scaling fit on train, tensors.

Public API
----------
:func:`build_dataset` -> :class:`Dataset`
    BarFrame to float32 tensors (features, labels, split, scaling); see :mod:`.build`.
:class:`SplitSpec`, :func:`split_rows`, :func:`walk_forward`, :class:`Fold`
    Chronological splits with a purge of at least the label horizon; see :mod:`.splits`.
:data:`MIN_FEATURE_COVERAGE`, :func:`require_sessions`, :func:`min_sessions`, :func:`kept_and_dropped`
    Which features are kept (values on >= 90% of the training rows), and the fewest sessions a
    split needs; see :mod:`.availability`.
:class:`RobustScaler`, :class:`RankTransform`, :class:`NotFittedError`
    Fit/transform on the training part only, with JSON-able state (:func:`transform_to_dict`,
    :func:`transform_from_dict`); see :mod:`.scaling`.
"""

from futures_vpoc.dataset.availability import (
    MIN_FEATURE_COVERAGE,
    kept_and_dropped,
    min_sessions,
    require_sessions,
)
from futures_vpoc.dataset.build import Dataset, SplitBoundaries, build_dataset
from futures_vpoc.dataset.scaling import (
    NotFittedError,
    RankTransform,
    RobustScaler,
    transform_from_dict,
    transform_to_dict,
)
from futures_vpoc.dataset.splits import Fold, SplitIndices, SplitSpec, split_rows, walk_forward

__all__ = [
    "MIN_FEATURE_COVERAGE",
    "Dataset",
    "Fold",
    "NotFittedError",
    "RankTransform",
    "RobustScaler",
    "SplitBoundaries",
    "SplitIndices",
    "SplitSpec",
    "build_dataset",
    "kept_and_dropped",
    "min_sessions",
    "require_sessions",
    "split_rows",
    "transform_from_dict",
    "transform_to_dict",
    "walk_forward",
]
