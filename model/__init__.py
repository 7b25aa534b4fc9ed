"""The stance classifier: loading, running and saving a fine-tuned transformer.

`model` depends on no other package of this project; `service` and `training` build on it.
"""

from .errors import ModelLoadError
from .modeling import DEFAULT_LABELS, StanceClassifier, default_model_dir

__all__ = ["StanceClassifier", "ModelLoadError", "DEFAULT_LABELS", "default_model_dir"]
