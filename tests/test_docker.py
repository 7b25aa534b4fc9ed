"""What can be checked of the Dockerfile without a Docker engine: it installs and builds the way `make` does."""

import re

from conftest import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()
MAKEFILE = (ROOT / "Makefile").read_text()


def test_installs_with_the_makefile_targets():
    assert re.search(r"RUN .*make install\b", DOCKERFILE) and re.search(r"RUN .*make model\b", DOCKERFILE)
    assert "pip install -q torch==2.13.0" in MAKEFILE  # the CPU build, as in the Makefile the image runs


def test_runs_as_non_root_and_serves_on_all_interfaces():
    users = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    assert users and users[-1] not in ("root", "0")
    cmd = re.findall(r"^(?:CMD|ENTRYPOINT) (.+)$", DOCKERFILE, re.M)[-1]
    assert "serve" in cmd and "0.0.0.0" in cmd
    assert re.search(r"^FROM python:3\.11-slim", DOCKERFILE, re.M)


def test_image_copies_what_make_needs():
    for path in ("pyproject.toml", "Makefile", "model", "service", "training"):
        assert re.search(rf"^COPY .*\b{path}\b", DOCKERFILE, re.M), path
