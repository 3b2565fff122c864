"""The Debian packages the registry needs are installed by the project's own files
(deploy/debian-packages.txt, read by scripts/system-deps, `make install`, .ci/run and the
Dockerfile), so a fresh machine needs nothing installed by hand."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

LIST = ROOT / "deploy" / "debian-packages.txt"


def packages(group: str) -> set[str]:
    rows = [line.split() for line in LIST.read_text().splitlines()]
    return {row[1] for row in rows if row and not row[0].startswith("#") and row[0] == group}


def test_the_list_has_weasyprints_libraries_and_the_test_browser():
    runtime = packages("runtime")
    for pkg in ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz0b", "libharfbuzz-subset0"):
        assert pkg in runtime
    # the font the printed directory's stylesheet names
    css = (ROOT / "templates" / "pdf" / "assets" / "directory.css").read_text()
    assert "DejaVu Sans" in css and "fonts-dejavu-core" in runtime
    assert {"chromium", "faketime"} <= packages("test")


def test_every_package_the_readme_names_is_installed_by_the_project():
    readme = (ROOT / "README.md").read_text()
    named = set()
    for line in re.findall(r"apt-get install([^`\n]*)", readme):
        named |= {w for w in line.split() if re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", w)}
    listed = packages("runtime") | packages("test")
    assert named - listed == set(), (
        f"README names packages the project does not install: {named - listed}"
    )


def test_make_install_and_ci_run_the_installer():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^install: system-deps", makefile, re.M)
    assert "scripts/system-deps runtime" in makefile
    ci = (ROOT / ".ci" / "run").read_text()
    assert "scripts/system-deps runtime test" in ci


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="not a Debian system")
def test_every_listed_package_is_installed_here():
    """On this machine (set up only by the project's files), nothing of the list is missing."""
    result = subprocess.run(
        [str(ROOT / "scripts" / "system-deps"), "--check", "runtime", "test"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_weasyprint_finds_every_library_it_wants():
    """WeasyPrint warns when a library it will require (HarfBuzz's subsetter) is missing."""
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import weasyprint; weasyprint.HTML(string='<p>x')"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-500:]
