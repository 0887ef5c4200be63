"""lastmile: plan rural last-mile logistics networks on real road geography.

The pipeline, one module per stage::

    config -> boundaries / network (standin) -> demand -> matrix
           -> location -> routing (trunk) -> validate -> study (endtoend, fleet)
           -> report / maps / plots;  sweep: many scenarios on Dask

Notebook users start from :class:`lastmile.Plan` (see :mod:`lastmile.api`).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["Plan", "__version__", "compare_plans"]


def __getattr__(name: str) -> Any:
    # the notebook API loads the whole stack; `import lastmile` alone stays light
    if name in ("Plan", "compare_plans"):
        from lastmile import api

        return getattr(api, name)
    raise AttributeError(f"module 'lastmile' has no attribute {name!r}")
