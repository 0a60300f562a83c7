"""The command line starts without the heavy analysis libraries (issue 16, item 7)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("statsmodels", "scipy")

# One fresh interpreter runs both commands: a module either of them imports stays loaded.
PROBE = f"""
import sys
from typer.testing import CliRunner
from alliance.cli import app
for args in (["--help"], ["instruments", "list"]):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
print(" ".join(sorted(name for name in {HEAVY!r} if name in sys.modules)))
"""


def test_help_and_instrument_list_load_no_statistics_library() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert done.stdout.split() == []
