"""``dougdb plugin new|build|test``: scaffold, build and try a wasm plugin crate.

The templates are those of ``crates/dougdb-plugin/src/scaffold.rs``, through the native
module (one copy); the crate depends on the SDK in ``plugins/sdk`` by
path, found next to this package in a source checkout, or given by ``--sdk`` /
``$DOUGDB_PLUGIN_SDK``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["PluginCommandError", "find_sdk", "new_plugin", "build_plugin", "crate_name"]

WASM_TARGET = "wasm32-unknown-unknown"

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


class PluginCommandError(Exception):
    """A ``dougdb plugin`` step failed; the message says what to do."""


def find_sdk(explicit: str | None = None) -> Path:
    """The plugin SDK directory (``plugins/sdk``): ``--sdk``, ``$DOUGDB_PLUGIN_SDK``, or the
    source checkout this package was installed from."""
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    if os.environ.get("DOUGDB_PLUGIN_SDK"):
        candidates.append(Path(os.environ["DOUGDB_PLUGIN_SDK"]))
    here = Path(__file__).resolve()
    candidates.extend(p / "plugins" / "sdk" for p in here.parents)
    candidates.append(Path.cwd() / "plugins" / "sdk")
    for c in candidates:
        if (c / "Cargo.toml").is_file():
            return c.resolve()
    raise PluginCommandError(
        "cannot find the plugin SDK (plugins/sdk of a DougDB checkout): "
        "pass --sdk PATH or set DOUGDB_PLUGIN_SDK"
    )


def new_plugin(name: str, kind: str, parent: Path, sdk: Path) -> Path:
    """Writes a new plugin crate ``parent/name`` and returns its directory."""
    if not _NAME_RE.match(name):
        raise PluginCommandError(
            f"{name!r} is not a valid crate name: start with a letter, then letters, "
            "digits, '-' or '_' (at most 64)"
        )
    if kind not in ("router", "compaction"):
        raise PluginCommandError(f"--kind must be router or compaction, not {kind!r}")
    target = parent / name
    if target.exists() and any(target.iterdir()):
        raise PluginCommandError(f"{target} exists and is not empty; choose another name")
    from . import _native  # noqa: PLC0415 (the templates of crates/dougdb-plugin)

    files = _native.scaffold_files(name, kind, str(sdk))
    for rel, text in files:
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    # The built-ins' lock file pins the SDK's dependencies to versions known to build (and
    # already in the local cargo cache, so `--offline` builds work).
    lock = sdk.parent / "Cargo.lock"
    if lock.is_file():
        shutil.copyfile(lock, target / "Cargo.lock")
    return target


def crate_name(crate_dir: Path) -> str:
    """The package name in ``crate_dir/Cargo.toml``."""
    toml = crate_dir / "Cargo.toml"
    if not toml.is_file():
        raise PluginCommandError(f"{crate_dir} has no Cargo.toml: is it a plugin crate?")
    in_package = False
    for line in toml.read_text(encoding="utf-8").splitlines():
        s = line.strip()
        if s.startswith("["):
            in_package = s == "[package]"
        elif in_package:
            m = re.match(r'name\s*=\s*"([^"]+)"', s)
            if m:
                return m.group(1)
    raise PluginCommandError(f"{toml} has no [package] name")


def build_plugin(
    crate_dir: Path,
    quiet: bool = False,
    offline: bool = False,
    target_dir: Path | None = None,
) -> Path:
    """``cargo build --release --target wasm32-unknown-unknown`` in the crate; returns the
    path of the ``.wasm`` file (under ``target_dir``, default the crate's ``target/``)."""
    name = crate_name(crate_dir)
    cargo = shutil.which("cargo")
    if cargo is None:
        raise PluginCommandError("cargo is not on PATH: install Rust with rustup first")
    if shutil.which("rustup"):
        subprocess.run(
            ["rustup", "target", "add", WASM_TARGET],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    env = dict(os.environ)
    env.pop("CARGO_TARGET_DIR", None)  # the wasm lands in the crate's target/ or --target-dir
    cmd = [cargo, "build", "--release", "--target", WASM_TARGET]
    if quiet:
        cmd.append("--quiet")
    if offline:
        cmd.append("--offline")
    if target_dir is not None:
        cmd += ["--target-dir", str(target_dir)]
    proc = subprocess.run(cmd, cwd=crate_dir, env=env, check=False)
    if proc.returncode != 0:
        raise PluginCommandError(
            f"cargo build failed in {crate_dir} (exit {proc.returncode}); see its output above"
        )
    out = Path(target_dir) if target_dir is not None else crate_dir / "target"
    wasm = (out / WASM_TARGET / "release" / (name.replace("-", "_") + ".wasm")).resolve()
    if not wasm.is_file():
        raise PluginCommandError(f"cargo build succeeded but {wasm} is missing")
    return wasm


def print_route_table(
    plugin: Any, keys: list[bytes], shard_count: int, out: Any = sys.stdout
) -> list[int]:
    """Routes ``keys`` through ``plugin`` and prints ``key -> shard`` and the fuel used."""
    from ._cli_fmt import format_bytes, render_table  # noqa: PLC0415

    shards = list(plugin.route(keys, shard_count=shard_count))
    out.write(render_table(("key", "shard"), [(format_bytes(k), s) for k, s in zip(keys, shards)]))
    out.write("\n")
    fuel = getattr(plugin, "last_fuel_used", None)
    if callable(fuel):
        fuel = fuel()
    if fuel is not None:
        out.write(f"fuel used: {fuel}\n")
    digest = getattr(plugin, "sha256", None)
    if digest:
        out.write(f"digest: {digest}\n")
    return shards
