"""Uploaded files are data, never code: no unsafe deserialisation or code evaluation anywhere in
the code that handles what users send (clustering/, ui/, pages/, app.py).

The check reads the source with ``ast`` (comments and strings do not count) and refuses:
pickle-like modules (pickle, cPickle, dill, cloudpickle, shelve, marshal, jsonpickle);
``joblib.load``; ``numpy.load`` without ``allow_pickle=False``; ``pandas.read_pickle``;
``torch.load`` without ``weights_only=True``; Keras ``load_model``/``load_weights``... with
``safe_mode=False`` and ``enable_unsafe_deserialization``; ``yaml.load``/``unsafe_load``/
``full_load`` (``yaml.safe_load`` is fine); ``eval``, ``exec``, ``compile``, ``__import__``;
``os.system``/``os.popen`` and ``shell=True``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ["clustering", "ui", "pages", "app.py"]

BANNED_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "shelve", "marshal",
                  "jsonpickle"}
BANNED_CALLS = {"joblib.load", "pandas.read_pickle", "pd.read_pickle", "yaml.load",
                "yaml.unsafe_load", "yaml.full_load", "yaml.load_all", "yaml.unsafe_load_all",
                "eval", "exec", "compile", "__import__", "os.system", "os.popen",
                "keras.config.enable_unsafe_deserialization",
                "tf.keras.config.enable_unsafe_deserialization"}
# name -> (keyword, the only value that makes the call safe)
NEEDS_KEYWORD = {"np.load": ("allow_pickle", False), "numpy.load": ("allow_pickle", False),
                 "torch.load": ("weights_only", True)}


def dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    return ""


def keyword(call: ast.Call, name: str):
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value.value if isinstance(kw.value, ast.Constant) else kw.value
    return None


def problems(source: str, filename: str = "<source>") -> list[str]:
    """Every unsafe import or call in ``source``, as 'file:line: what'."""
    found = []
    tree = ast.parse(source, filename=filename)
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in BANNED_MODULES:
                    found.append(f"{where}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            module = (node.module or "").split(".")[0]
            if module in BANNED_MODULES:
                found.append(f"{where}: from {node.module} import ...")
            for alias in node.names:
                if f"{node.module}.{alias.name}" in BANNED_CALLS or (
                        module == "joblib" and alias.name == "load"):
                    found.append(f"{where}: from {node.module} import {alias.name}")
        elif isinstance(node, ast.Call):
            name = dotted(node.func)
            if name in BANNED_CALLS:
                found.append(f"{where}: {name}(...)")
            elif name in NEEDS_KEYWORD:
                kw, safe = NEEDS_KEYWORD[name]
                if keyword(node, kw) is not safe:
                    found.append(f"{where}: {name}(...) without {kw}={safe}")
            if name.split(".")[-1] in ("load_model", "load_weights", "deserialize_keras_object",
                                       "model_from_json") and keyword(node, "safe_mode") is False:
                found.append(f"{where}: {name}(..., safe_mode=False)")
            if keyword(node, "shell") is True:
                found.append(f"{where}: {name}(..., shell=True)")
    return found


def sources():
    for entry in SCANNED:
        path = ROOT / entry
        yield from ([path] if path.is_file() else sorted(path.rglob("*.py")))


def test_no_unsafe_deserialisation_or_evaluation_in_the_app():
    files = list(sources())
    assert len(files) >= 10 and (ROOT / "app.py") in files
    found = [p for f in files for p in problems(f.read_text(encoding="utf-8"),
                                                 str(f.relative_to(ROOT)))]
    assert not found, "unsafe calls on user-facing paths:\n" + "\n".join(found)


@pytest.mark.parametrize("snippet", [
    "import pickle\npickle.loads(b)",
    "from pickle import loads",
    "import cloudpickle",
    "import joblib\njoblib.load(f)",
    "from joblib import load",
    "import numpy as np\nnp.load(f)",
    "import numpy as np\nnp.load(f, allow_pickle=True)",
    "import pandas as pd\npd.read_pickle(f)",
    "import yaml\nyaml.load(text, Loader=yaml.Loader)",
    "import yaml\nyaml.full_load(text)",
    "eval(text)",
    "exec(code)",
    "compile(src, 'f', 'exec')",
    "__import__(name)",
    "import keras\nkeras.models.load_model(path, safe_mode=False)",
    "keras.saving.load_model(path, safe_mode=False)",
    "keras.config.enable_unsafe_deserialization()",
    "import torch\ntorch.load(f)",
    "import os\nos.system(cmd)",
    "import subprocess\nsubprocess.run(cmd, shell=True)",
])
def test_the_check_catches_unsafe_calls(snippet):
    assert problems(snippet), snippet


@pytest.mark.parametrize("snippet", [
    "import numpy as np\nnp.load(f, allow_pickle=False)",
    "import yaml\nyaml.safe_load(text)",
    "import json\njson.loads(text)",
    "import keras\nkeras.models.load_model(path)",  # Keras 3: safe_mode defaults to True
    "import torch\ntorch.load(f, weights_only=True)",
    "import subprocess\nsubprocess.run(['ls'], check=True)",
    "# pickle.loads(b) in a comment\nx = 'eval(text) in a string'",
    "model.evaluate(x)",
])
def test_the_check_allows_safe_calls(snippet):
    assert problems(snippet) == []
