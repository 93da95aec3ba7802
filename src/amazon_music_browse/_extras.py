"""Optional libraries, imported only by the code that needs them.

The base install never imports them: `RateLimit`, `RateLimitStore` and `ResponseCache`
import from the package without them, and raise `ImportError` naming the extra to
install when they are used.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]


def require(module: str, extra: str, what: str) -> ModuleType:
    """The module ``module``, or ``ImportError`` saying which extra brings it.

    Args:
        module: the import name, e.g. ``"pyrate_limiter"``.
        extra: the extra of this package that installs it, e.g. ``"ratelimit"``.
        what: the feature that needs it, for the message, e.g. ``"RateLimit"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{what} needs the {module.split('.')[0]} library, which is not installed: "
            f'pip install "amazon-music-browse[{extra}]"'
        ) from exc
