"""One error family: every user-facing error derives from foundation.errors.UserError."""

from __future__ import annotations

import ast
import os

import foundation.errors as errors
from conftest import ROOT

PACKAGES = ("foundation", "dense", "ovss", "model_families", "long_clip", "prompts", "tools")
TOP = ("customized_segmentor.py", "custom_datasets.py", "eval_customized.py")


def project_files():
    for name in TOP:
        yield os.path.join(ROOT, name)
    for package in PACKAGES:
        for folder, _, files in os.walk(os.path.join(ROOT, package)):
            yield from (os.path.join(folder, f) for f in files if f.endswith(".py"))


def test_every_error_class_is_a_user_error_defined_in_one_module():
    defined = {}
    for path in project_files():
        tree = ast.parse(open(path, encoding="utf-8").read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                defined.setdefault(node.name, []).append(os.path.relpath(path, ROOT))
    assert defined, "no error classes found"
    for name, where in defined.items():
        assert where == [os.path.join("foundation", "errors.py")], (name, where)
        assert issubclass(getattr(errors, name), errors.UserError), name


def test_cli_catches_only_the_base():
    source = open(os.path.join(ROOT, "eval_customized.py"), encoding="utf-8").read()
    handlers = [
        ast.unparse(h.type)
        for h in ast.walk(ast.parse(source))
        if isinstance(h, ast.ExceptHandler) and h.type is not None
    ]
    assert "UserError" in handlers
    assert not [h for h in handlers if h.endswith("Error") and h != "UserError"], handlers
