"""Importers: public phone-agent datasets -> this toolkit's corpus layout (``ROOT/<task>/step_<n>.json``).

``gui-agent-rl import FORMAT SRC --output ROOT``; formats in :data:`FORMATS` (one module each), the run
in :func:`import_corpus`. Nothing here imports TensorFlow or protobuf: TFRecord framing
(:mod:`.tfrecord`) and the two protobuf messages needed (:mod:`.example`, :mod:`.a11y`) are read by hand.
"""

from gui_agent_rl.importers.formats import FORMATS, INSTRUCTION_LEVELS, ImportOptions, ImportUsageError
from gui_agent_rl.importers.run import import_corpus
from gui_agent_rl.importers.writer import REPORT_NAME, SUMMARY_NAME, ImportSummary

__all__ = [
    "FORMATS",
    "INSTRUCTION_LEVELS",
    "REPORT_NAME",
    "SUMMARY_NAME",
    "ImportOptions",
    "ImportSummary",
    "ImportUsageError",
    "import_corpus",
]
