"""Product code has no test switch: nothing outside pyocijail/testing reads an
environment variable that swaps the kernel, or reaches for the simulator
(issue 15 item 10). Tests inject it through `pyocijail.testing.simhost`."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "pyocijail"
FORBIDDEN = ("PYOCIJAIL_FREEBSD_SIMULATOR", "SIMULATOR", "simkernel", "SimulatedKernel",
             "fakelibc", "faketools", "pyocijail.testing")


#: The README's first command builds its bundle with `testing.bundles`; it is an entry
#: point of its own, which no runtime module imports (the test after this one).
DEMO = PACKAGE / "demo.py"


def test_product_modules_never_mention_the_simulator() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if PACKAGE / "testing" in path.parents or path == DEMO:
            continue
        text = path.read_text()
        found += [f"{path.relative_to(PACKAGE)}: {word}" for word in FORBIDDEN if word in text]
    assert found == []


def test_no_runtime_module_imports_the_demo() -> None:
    found = [str(path.relative_to(PACKAGE)) for path in sorted(PACKAGE.rglob("*.py"))
             if path != DEMO and PACKAGE / "testing" not in path.parents
             and ("pyocijail.demo" in (text := path.read_text()) or "import demo" in text)]
    assert found == []


def test_backend_selection_reads_no_environment() -> None:
    """select_backend depends on the platform alone."""
    text = (PACKAGE / "backends" / "__init__.py").read_text()
    assert ".environ" not in text and "getenv" not in text
