"""Where the browser tests put their pictures."""
import os
import tempfile
from pathlib import Path

# Tests never write into the repository: pictures go to a temporary directory unless
# `python3 dev.py screenshots` (which sets CAPCONDUIT_SCREENSHOTS=docs/screenshots) refreshes them.
SCREENSHOTS = Path(os.environ.get("CAPCONDUIT_SCREENSHOTS")
                   or tempfile.mkdtemp(prefix="capconduit-screenshots-"))
