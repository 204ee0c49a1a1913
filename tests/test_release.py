"""The release: a lock that pins every file, an install that is exactly the lock, a
wheel that runs on its own, an SBOM that validates, one version everywhere.

README "Operating the hub" says how each is made (.ci/lock, .ci/install, .ci/sbom).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import httpx
import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from hub import __version__
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
#: The dependencies whose private internals the hub relies on (hub/internals.py).
PRIVATE_SHAPES = ("uvicorn", "websockets")


def _pins(text: str) -> dict[str, tuple[str, Marker | None, list[str]]]:
    """name -> (version, marker, hashes) of a requirements file written by .ci/lock."""
    pins: dict[str, tuple[str, Marker | None, list[str]]] = {}
    for entry in re.split(r"\n(?=\S)", text):
        lines = [ln for ln in entry.splitlines() if not ln.lstrip().startswith("#")]
        if not lines:
            continue
        logical = " ".join(ln.rstrip("\\").strip() for ln in lines)
        spec, *options = logical.split(" --hash=")
        req = Requirement(spec.strip())
        [pinned] = list(req.specifier)
        assert pinned.operator == "==", f"{req.name} is not pinned: {spec}"
        pins[canonicalize_name(req.name)] = (pinned.version, req.marker,
                                             [o.strip() for o in options])
    return pins


PINS = _pins(LOCK.read_text(encoding="utf-8"))


def test_the_lock_pins_every_package_to_one_version_with_its_files_hashes() -> None:
    assert len(PINS) > 40
    for name, (_version, _marker, hashes) in PINS.items():
        assert hashes, f"{name} has no hash"
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), name


def test_the_lock_holds_every_dependency_pyproject_names_within_its_range() -> None:
    wanted = [*PYPROJECT["project"]["dependencies"],
              *PYPROJECT["project"]["optional-dependencies"]["test"]]
    for line in wanted:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name in PINS, f"{name} is in pyproject.toml but not in the lock: bash .ci/lock"
        assert req.specifier.contains(PINS[name][0], prereleases=True), (
            f"the lock's {name}=={PINS[name][0]} is outside pyproject's {req.specifier}: "
            "bash .ci/lock --no-upgrade")


def test_dependencies_with_private_shapes_have_an_upper_bound() -> None:
    for line in PYPROJECT["project"]["dependencies"]:
        req = Requirement(line)
        if req.name in PRIVATE_SHAPES:
            assert any(s.operator == "<" for s in req.specifier), (
                f"{req.name}: the hub relies on its internals, so pyproject.toml must "
                "bound it from above")
    others = [Requirement(line) for line in PYPROJECT["project"]["dependencies"]]
    assert all(not any(s.operator in ("==", "<", "<=") for s in r.specifier)
               for r in others if r.name not in PRIVATE_SHAPES), "a library must not pin"


def test_this_environment_is_exactly_the_lock() -> None:
    marker_file = Path(sys.prefix) / "liaison-lock.sha256"
    if not marker_file.exists():
        pytest.skip("not running in a .venv built by .ci/install")
    for name, (version, marker, _) in PINS.items():
        if marker is not None and not marker.evaluate():
            continue
        assert metadata.version(name) == version, (
            f"{name} {metadata.version(name)} is installed, the lock says {version}")


def test_one_version_everywhere() -> None:
    assert PYPROJECT["project"]["version"] == __version__
    assert metadata.version("liaison-hub") == __version__
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[{re.escape(__version__)}\]", changelog, re.M), (
        "CHANGELOG.md has no section for this version")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    source = tmp_path_factory.mktemp("source")  # a build writes beside its sources
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("liaison", "hub", "channels", "alerting", "liaison_client", "web"):
        shutil.copytree(ROOT / name, source / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "-w", str(out), str(source)],
                   check=True, capture_output=True, timeout=300)
    [built] = out.glob("liaison_hub-*.whl")
    return built


def test_the_wheel_carries_the_client_the_scripts_and_the_ranges(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    web = [p.name for p in (ROOT / "web").iterdir() if p.is_file()]
    assert {f"hub/web/{n}" for n in web} <= names
    assert "hub/web/basemap/countries-110m.json" in names
    lua = [p.name for p in (ROOT / "hub/engine/lua").glob("*.lua")]
    assert lua and {f"hub/engine/lua/{n}" for n in lua} <= names
    assert "alerting/interop/schema/cap-v1.2.xsd" in names
    assert {"liaison/app.py", "liaison/cli.py", "liaison/__main__.py"} <= names
    meta = zipfile.ZipFile(wheel).read(
        f"liaison_hub-{__version__}.dist-info/METADATA").decode()
    requires = [Requirement(line.split(":", 1)[1].strip())
                for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    runtime = {r.name: r for r in requires if r.marker is None}
    assert set(runtime) == {Requirement(d).name for d in PYPROJECT["project"]["dependencies"]}
    for name in PRIVATE_SHAPES:
        assert any(s.operator == "<" for s in runtime[name].specifier)


def test_the_installed_wheel_serves_the_hub_and_its_client(wheel: Path,
                                                          tmp_path: Path) -> None:
    """Installed apart from the checkout (the wheel's files only, the locked
    dependencies beside it), run from elsewhere: it serves /healthz and the page."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-index", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(target), "LIAISON_DATA_DIR": str(tmp_path / "d"),
           "LIAISON_PORT": str(port := free_port()), "LIAISON_HOST": "127.0.0.1"}
    where = subprocess.run([sys.executable, "-c", "import hub; print(hub.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.strip().startswith(str(target)), where.stdout
    log = (tmp_path / "hub.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "liaison", "serve"], cwd=tmp_path, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (tmp_path / "hub.log").read_text()[-2000:]
            try:
                health = httpx.get(url + "/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the installed hub never answered"
                time.sleep(0.1)
        assert health.json() == {"status": "ok", "version": __version__}
        page = httpx.get(url + "/", timeout=10)
        assert page.status_code == 200
        assert page.text == (ROOT / "web/index.html").read_text(encoding="utf-8")
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def test_the_sbom_is_valid_cyclonedx_and_lists_the_lock(tmp_path: Path) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    out = tmp_path / "sbom.cdx.json"
    subprocess.run(["bash", str(ROOT / ".ci/sbom"), str(out)], check=True,
                   capture_output=True, timeout=300)
    text = out.read_text(encoding="utf-8")
    validator = JsonStrictValidator(SchemaVersion.V1_6)
    assert validator.validate_str(text) is None
    bom = json.loads(text)
    root = bom["metadata"]["component"]
    assert (root["name"], root["version"]) == ("liaison-hub", __version__)
    listed = {canonicalize_name(c["name"]): c for c in bom["components"]}
    assert set(listed) == set(PINS)
    for name, (version, _, hashes) in PINS.items():
        assert listed[name]["version"] == version
        assert listed[name]["purl"] == f"pkg:pypi/{name}@{version}"
        files = {h["content"] for ref in listed[name]["externalReferences"]
                 for h in ref.get("hashes", [])}
        assert files == {h.removeprefix("sha256:") for h in hashes}
    # The validator is real: a component without a name is refused.
    del bom["components"][0]["name"]
    assert validator.validate_str(json.dumps(bom)) is not None


@pytest.mark.slow
def test_install_rebuilds_a_venv_made_from_another_lock_and_refuses_a_bad_hash(
        tmp_path: Path) -> None:
    """.ci/install in a small project of its own: the first run builds .venv, a second
    with the same lock keeps it, a changed lock rebuilds it, and a lock whose hash
    does not match the file refuses the install and leaves no marker behind."""
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci/install", tmp_path / ".ci/install")
    (tmp_path / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "tiny"\nversion = "1"\n[tool.setuptools]\npy-modules = []\n')
    entries = re.split(r"\n(?=\S)", LOCK.read_text(encoding="utf-8"))
    chosen = {n: next(e for e in entries if e.startswith(f"{n}=="))
              for n in ("setuptools", "six")}
    lock = tmp_path / "requirements.lock"
    lock.write_text(chosen["setuptools"] + "\n")

    def install() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", ".ci/install"], cwd=tmp_path, capture_output=True,
                              text=True, timeout=600, env={**os.environ, "PYTHON": "python3"})

    assert install().returncode == 0
    sentinel = tmp_path / ".venv/sentinel"
    sentinel.touch()
    assert install().returncode == 0 and sentinel.exists()  # same lock: kept
    lock.write_text(chosen["setuptools"] + "\n" + chosen["six"] + "\n")
    done = install()
    assert done.returncode == 0 and "another lock" in done.stdout
    assert not sentinel.exists()  # rebuilt, not patched
    assert (tmp_path / ".venv/lib").exists()
    bad = re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, chosen["six"])
    lock.write_text(chosen["setuptools"] + "\n" + bad + "\n")
    refused = install()
    assert refused.returncode != 0
    assert "hash" in (refused.stdout + refused.stderr).lower()
    assert not (tmp_path / ".venv/liaison-lock.sha256").exists()
