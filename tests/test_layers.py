"""The layer contract covers the whole house: every module of ours sits in exactly one layer.

import-linter's layers contract only checks the modules it is told about; a new module in
``agent/`` that no layer names would escape it silently. This test closes that gap, and runs the
contract itself so that a broken layer fails the suite (``make layers`` runs it too).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _layers() -> list[list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers")
    return [[m.strip() for m in re.split(r"[|:]", layer)] for layer in contract["layers"]]


def _our_modules() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    modules = []
    for package in config["tool"]["importlinter"]["root_packages"]:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules.append(".".join(parts))
    return modules


def _layer_of(module: str, layers: list[list[str]]) -> list[int]:
    """The layers naming ``module`` or one of its packages."""
    return [
        index
        for index, layer in enumerate(layers)
        for name in layer
        if module == name or module.startswith(name + ".")
    ]


def test_every_module_sits_in_exactly_one_layer() -> None:
    layers = _layers()
    # a package's __init__ (agent, agent.reasoners …) may hold only a docstring: it is no layer
    roots = {"agent", "retrieval", "simulator", "eval", "ui", "data"}
    misplaced = {
        module: found
        for module in _our_modules()
        if module not in roots
        and len(found := _layer_of(module, layers)) != 1
        and not any(name.startswith(module + ".") for layer in layers for name in layer)
    }
    assert not misplaced, (
        "modules in no layer or in several: add each to one layer of the contract in "
        f"pyproject.toml ([tool.importlinter]): {misplaced}"
    )


def test_the_layer_contract_holds() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("lint-imports is not installed in this environment (make install brings it)")
    result = subprocess.run(
        [str(lint)], cwd=ROOT, capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:]
