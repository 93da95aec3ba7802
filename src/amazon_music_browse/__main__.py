"""``python -m amazon_music_browse``: the command line (see ``amazon-music-browse --help``)."""

from ._cli import main

raise SystemExit(main())
