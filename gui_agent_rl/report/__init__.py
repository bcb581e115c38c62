"""An offline HTML report people browse: ``eval``'s metrics, reward curves, a gallery, episodes.

``gui-agent-rl report`` scores predictions with ``eval``'s own code, then writes a folder that opens
from disk with no server and no network: ``index.html``, ``report.js``/``report.css`` (this package's
``assets/``), ``data.js`` (the samples and metrics), ``t/`` and ``p/`` (thumbnails) and the metrics
JSON. :mod:`.records` makes the per-sample records, :mod:`.thumbs` the pictures (``viz``'s marks),
:mod:`.svg` the curves, :mod:`.build` the folder.
"""

from gui_agent_rl.report.build import ReportInputs, ReportSummary, Side, build_report

__all__ = ["ReportInputs", "ReportSummary", "Side", "build_report"]
