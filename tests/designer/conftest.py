"""Designer fixtures: files of tests/fixtures/designer and deploying them as the designer."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.bpm import definitions

from ..conftest import FIXTURES

DESIGNER = FIXTURES / "designer"


def read(name: str) -> bytes:
    """The bytes of a designer fixture."""
    return (DESIGNER / name).read_bytes()


def deploy_as(platform, path: Path | str, filename: str | None = None, user: str = "designer"):
    """Deploy one fixture file (under another file name if given); the DeployResult."""
    path = DESIGNER / path if isinstance(path, str) else path
    with platform.uow() as uow:
        return definitions.deploy_files(uow, [(filename or path.name, path.read_bytes())], user)[0]


@pytest.fixture
def designer_files():
    """The folder of the designer fixtures."""
    return DESIGNER
