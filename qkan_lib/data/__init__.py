"""The datasets: windows, splits and scaling shared by all (:mod:`.windows`), the paper's
synthetic series, the Milan loader and its labelled stand-in, NARMA, the noisy series, and the
dataset registry (:mod:`.registry`: every dataset by name, with its protocol family and
validation split)."""

from .registry import load_dataset
from .urban import display_path, milan_source
from .windows import SequenceData

__all__ = ["SequenceData", "display_path", "load_dataset", "milan_source"]
