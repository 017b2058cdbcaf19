"""A plain install (a wheel, as pip or pipx makes it) carries every language and every module."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from bot.i18n import DOMAIN, LINGUAS, CatalogError, Catalogs, shipped_locales

from .test_catalogs import REQUIRED

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "conversations", "storage", "emulator")
# Run inside the installed copy only: which modules it imports from where, and what it offers.
PROBE = """
import json
import bot.i18n, bot.screens
from bot.i18n import Catalogs, LOCALES_DIR
catalogs = Catalogs.load()
t = catalogs.translator("en")
picker = bot.screens.language_picker(t, catalogs, "en", greeting=True)
print(json.dumps({"module": bot.i18n.__file__, "catalogs": str(LOCALES_DIR),
                  "locales": list(catalogs.locales),
                  "buttons": [b.text for row in picker.keyboard.inline_keyboard for b in row]}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built offline from a copy of the sources (the checkout stays clean)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for name in (*PACKAGES, "locales"):
        shutil.copytree(ROOT / name, source / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                            "--no-index", "--no-build-isolation", "--wheel-dir",
                            str(work / "dist"), str(source)], capture_output=True, text=True)
    assert build.returncode == 0, "the test extra brings setuptools>=77:\n" + build.stderr
    [built] = (work / "dist").glob("baraza-*.whl")
    return built


def test_the_wheel_carries_every_module_and_data_file(wheel: Path) -> None:
    shipped = set(zipfile.ZipFile(wheel).namelist())
    wanted = {path.relative_to(ROOT).as_posix()
              for package in PACKAGES for path in (ROOT / package).rglob("*")
              if path.is_file() and "__pycache__" not in path.parts}
    assert wanted - shipped == set(), "list the new package in pyproject.toml [tool.setuptools]"


def test_the_wheel_carries_the_compiled_catalog_of_every_shipped_locale(wheel: Path) -> None:
    shipped = set(zipfile.ZipFile(wheel).namelist())
    assert f"baraza_locales/{LINGUAS}" in shipped
    for locale in shipped_locales():
        assert f"baraza_locales/{locale}/LC_MESSAGES/{DOMAIN}.mo" in shipped


def test_an_installed_wheel_offers_all_twelve_languages(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--target", str(target), str(wheel)], check=True, capture_output=True)
    # -S: no .pth files, so the editable install of this checkout cannot answer the imports;
    # the dependencies come from this environment's site-packages, after the installed copy.
    environment = {"PYTHONPATH": f"{target}:{sysconfig.get_paths()['purelib']}",
                   "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-S", "-c", PROBE], cwd=tmp_path, env=environment,
                         check=True, capture_output=True, text=True)
    found = json.loads(run.stdout)

    assert Path(found["module"]).is_relative_to(target)
    assert Path(found["catalogs"]).is_relative_to(target / "baraza_locales")
    assert set(found["locales"]) == {"en", *REQUIRED}
    assert sorted(found["buttons"]) == sorted(
        ("✓ " if locale == "en" else "") + Catalogs.autonym(locale) for locale in found["locales"])
    assert len(found["buttons"]) == 12


def test_a_shipped_locale_without_its_catalog_stops_the_start_with_a_clear_error(
        tmp_path: Path) -> None:
    (tmp_path / LINGUAS).write_text("# shipped\nfr xx\n", encoding="utf-8")
    (tmp_path / "fr" / "LC_MESSAGES").mkdir(parents=True)
    shutil.copy2(ROOT / "locales" / "fr" / "LC_MESSAGES" / f"{DOMAIN}.mo",
                 tmp_path / "fr" / "LC_MESSAGES" / f"{DOMAIN}.mo")

    with pytest.raises(CatalogError, match="the 'xx' catalog did not load"):
        Catalogs.load(tmp_path)


def test_the_command_says_in_one_line_which_catalog_is_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from bot import cli

    (tmp_path / LINGUAS).write_text("kk\n", encoding="utf-8")
    shipped_load = Catalogs.load.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(Catalogs, "load", classmethod(lambda cls: shipped_load(cls, tmp_path)))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:TEST")
    monkeypatch.setenv("BARAZA_DB", str(tmp_path / "baraza.db"))
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # main() sets it for the process: undone after

    assert cli.main(["run"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("baraza: the 'kk' catalog did not load") and error.count("\n") == 1


def test_catalogs_load_from_a_directory_listing_them(tmp_path: Path) -> None:
    (tmp_path / LINGUAS).write_text("fr\n", encoding="utf-8")
    shutil.copytree(ROOT / "locales" / "fr", tmp_path / "fr")

    assert Catalogs.load(tmp_path).locales == ("en", "fr")


def test_the_container_image_installs_the_same_sources_as_the_wheel_plainly() -> None:
    """deploy/Dockerfile copies what the wheel is built from and installs it as pip would."""
    lines = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8").splitlines()
    copied = {word for line in lines if line.startswith("COPY ")
              for word in line.split()[1:-1]}
    installs = [line for line in lines if "pip install" in line]

    assert copied == {"pyproject.toml", "README.md", *PACKAGES, "locales"}
    assert installs and all(" -e " not in line for line in installs)
