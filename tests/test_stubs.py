"""`_native.pyi` describes the extension module exactly: the same public names, the same
class members, and for every function and method whose signature the module exposes,
the same parameter names in the same order."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Dict, List, Optional

import dougdb
import dougdb._native as native

STUB = Path(dougdb.__file__).with_name("_native.pyi")


def _params(fn: ast.FunctionDef) -> List[str]:
    args = fn.args
    names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    return [n for n in names if n not in ("self", "cls")]


def _stub() -> Dict[str, Dict[str, Optional[List[str]]]]:
    """name -> {member -> parameter names (None for properties and attributes)}; a
    top-level function is its own single member ``""``."""
    tree = ast.parse(STUB.read_text())
    out: Dict[str, Dict[str, Optional[List[str]]]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members: Dict[str, Optional[List[str]]] = {}
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    is_prop = any(
                        isinstance(d, ast.Name) and d.id == "property"
                        for d in item.decorator_list
                    )
                    members[item.name] = None if is_prop else _params(item)
            out[node.name] = members
        elif isinstance(node, ast.FunctionDef):
            out[node.name] = {"": _params(node)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out[node.target.id] = {}
    return out


def _signature(obj: object) -> Optional[List[str]]:
    try:
        sig = inspect.signature(obj)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return [p for p in sig.parameters if p not in ("self", "cls")]


def test_stub_names_are_the_modules_names() -> None:
    stub = _stub()
    module = {n for n in dir(native) if not n.startswith("_")} | {"__version__"}
    assert set(stub) == module


def test_stub_class_members_and_signatures_match() -> None:
    for name, members in _stub().items():
        obj = getattr(native, name)
        if isinstance(obj, type):
            public = {m for m in dir(obj) if not m.startswith("_")}
            assert set(members) == public, name
            for member, params in members.items():
                if params is None:
                    continue
                found = _signature(getattr(obj, member))
                if found is not None:
                    assert found == params, f"{name}.{member}: module {found}, stub {params}"
        elif callable(obj):
            found = _signature(obj)
            assert found is not None, name
            assert found == members[""], f"{name}: module {found}, stub {members['']}"
