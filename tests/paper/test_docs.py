"""docs/paper-trading.md's examples run as printed, and print what the page says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "paper-trading.md"
#: Put before an example so that its ``trio.run`` runs on a virtual clock: its
#: sleeps, the simulated latency and the executor's shutdown take no wall time.
VIRTUAL_CLOCK = """\
import trio, trio.testing
_run = trio.run
trio.run = lambda main, *args: _run(main, *args, clock=trio.testing.MockClock(autojump_threshold=0))
"""


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(), re.DOTALL)


def run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_the_worked_example_prints_what_the_page_says() -> None:
    """The first example's output is exactly the text block that follows it."""
    worked = blocks("python")[0]
    printed = next(b for b in blocks("text") if b.startswith("fill "))
    assert run(worked) == printed


def test_the_executor_example_trades() -> None:
    """The executor example places a market order on the paper broker and it fills."""
    (example,) = [b for b in blocks("python") if "open_paper_venue" in b]
    first_line = run(VIRTUAL_CLOCK + example).splitlines()[0]
    assert first_line == "FILLED 0.002"


def test_the_page_is_linked_from_the_index() -> None:
    assert "(paper-trading.md)" in (ROOT / "docs" / "index.md").read_text()
