"""mmseg imports on mmcv-lite; compiled ops still fail loudly; nothing changes with real ops."""

from __future__ import annotations

import mmcv_compat

import importlib.machinery
import sys

import pytest
import torch


def test_mmseg_imports_and_ops_fail_loudly():
    import mmcv.ops
    import mmseg.models  # noqa: F401  (imports mmcv.ops at import time)
    from mmengine.utils.dl_utils import mmcv_full_available

    assert isinstance(sys.modules["mmcv._ext"], mmcv_compat._PlaceholderExt)
    assert mmcv_full_available() is False  # the real spec says: no compiled loader
    with pytest.raises(mmcv_compat.MissingCompiledOp, match="'nms'.*mmcv-lite"):
        mmcv.ops.nms(torch.rand(3, 4), torch.rand(3), 0.5)


def test_no_placeholder_where_real_ops_exist(monkeypatch):
    monkeypatch.delitem(sys.modules, "mmcv._ext")
    real = importlib.machinery.ModuleSpec("mmcv._ext", loader=object())
    monkeypatch.setattr(mmcv_compat.importlib.util, "find_spec", lambda name: real)
    assert mmcv_compat.install_placeholder() is False
    assert "mmcv._ext" not in sys.modules


def test_placeholder_installed_once():
    assert mmcv_compat.install_placeholder() is False  # already there
