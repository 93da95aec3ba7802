"""The package's logger, with a ``NullHandler``.

Retry warnings and DEBUG lines appear only where the application configured logging
(``logging.basicConfig()``, say), as with requests and urllib3; without it, Python's
last-resort handler would print every warning to stderr.
"""

from __future__ import annotations

import logging

__all__ = ["logger"]

logger = logging.getLogger("amazon_music_browse")
logger.addHandler(logging.NullHandler())
