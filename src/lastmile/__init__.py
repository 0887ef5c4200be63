"""lastmile: plan rural last-mile logistics networks on real road geography.

The pipeline, one module per stage::

    config -> boundaries / network (standin) -> demand -> matrix
           -> location -> routing -> validate -> study -> maps / plots / io
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
