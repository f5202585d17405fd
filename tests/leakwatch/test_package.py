"""The wheel installs one namespace: `leakwatch`, with every module and data file of the folders it maps,
and nothing else at the top of site-packages (`import jobs` or `import models` fail after installing it)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Source folder -> where its files land in the wheel (pyproject's package-dir).
MAPPED = {"leakwatch": "leakwatch", "jobs": "leakwatch/jobs", "udfs": "leakwatch/udfs",
          "schemas": "leakwatch/schemas", "models": "leakwatch/models"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the sources (a build/ left in the checkout would ship stale modules)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    for folder in MAPPED:
        shutil.copytree(REPO / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(src)],
                   check=True, capture_output=True, timeout=600)
    [built] = out.glob("leakwatch-*.whl")
    return built


def test_wheel_holds_one_namespace_with_every_module_and_data_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {n.split("/")[0] for n in names} == {"leakwatch", f"{wheel.name.split('-py3')[0]}.dist-info"}
    for folder, target in MAPPED.items():
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".json", ".jsonl", ".ftz", ".md"):
                relative = path.relative_to(REPO / folder).as_posix()
                assert f"{target}/{relative}" in names, f"{folder}/{relative} is not in the wheel"


def test_installed_wheel_imports_as_leakwatch_only(wheel, tmp_path):
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120)
    python = env / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
                    str(wheel)], check=True, capture_output=True, timeout=300)
    # The dependencies come from this venv's site-packages as a plain path: its .pth files (the editable
    # install's finder among them) are not run, so leakwatch can only come from the wheel.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    def run(code: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(python), "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                              timeout=300)

    ok = run("import leakwatch, leakwatch.jobs.extract, leakwatch.udfs.ingest; print(leakwatch.jobs.extract.__file__)")
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert ok.stdout.strip().startswith(str(site / "leakwatch" / "jobs"))
    for name in ("jobs", "udfs", "schemas", "models"):
        failed = run(f"import {name}")
        assert failed.returncode != 0 and f"No module named '{name}'" in failed.stderr, name


def modules_of(folder: str, package: str) -> list[str]:
    """Dotted names of the modules in a source folder, as installed."""
    out = []
    for path in sorted((REPO / folder).rglob("*.py")):
        parts = path.relative_to(REPO / folder).with_suffix("").parts
        out.append(".".join((package, *parts[:-1])) if parts[-1] == "__init__" else ".".join((package, *parts)))
    return out


def test_only_jobs_and_the_table_schemas_import_spark():
    """udfs/ and leakwatch/ (the command line and settings included) import no pyspark when loaded."""
    names = [m for m in modules_of("leakwatch", "leakwatch") + modules_of("udfs", "leakwatch.udfs")
             + ["leakwatch.schemas.values", "leakwatch.jobs.spark"]]
    code = ("import importlib, sys\n"
            f"for name in {names!r}:\n"
            "    importlib.import_module(name)\n"
            "    assert 'pyspark' not in sys.modules, name\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_no_job_module_imports_the_command_line():
    """The command table imports a job's function by name when it runs; no job imports the CLI back."""
    for path in (REPO / "jobs").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.module not in ("leakwatch.cli", "leakwatch.commands"), path
