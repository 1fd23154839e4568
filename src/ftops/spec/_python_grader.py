"""Foundry's documented limits on python graders, checked offline before anything is sent.

Microsoft Learn, "Reinforcement fine-tuning", section *Python grader* (`MicrosoftDocs/azure-ai-docs`,
`articles/ai-foundry/openai/how-to/reinforcement-fine-tuning.md`, commit 0b864e884f55392067345b2533761d333f5a4d8c):
the code must be less than 256 kB and may import the standard library and numpy, scipy, sympy, pandas,
rapidfuzz, scikit-learn, rouge-score, deepdiff, jsonschema, pydantic, pyyaml, nltk, sqlparse, rdkit,
scikit-bio, ast-grep-py. The local Foundry applies the same rules (docs/emulator.md); ftops does not
import the emulator, so they are written here again.
"""

from __future__ import annotations

import ast
import sys

MAX_SOURCE_BYTES = 256 * 1024
# Import names of the third-party modules Foundry's python grader runtime provides.
ALLOWED_PACKAGES = frozenset({
    "numpy", "scipy", "sympy", "pandas", "rapidfuzz", "sklearn", "rouge_score", "deepdiff", "jsonschema",
    "pydantic", "yaml", "nltk", "sqlparse", "rdkit", "skbio", "ast_grep_py",
})


def python_grader_problem(source: str) -> tuple[str, int] | None:
    """(why Foundry would refuse this grader source, the line of the source), or None."""
    size = len(source.encode())
    if size >= MAX_SOURCE_BYTES:
        return f"python grader is {size:,} bytes; Foundry accepts less than 256 kB", 1
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        return f"python grader does not compile: {e.msg}", e.lineno or 1
    grade = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "grade"]
    if not grade or len(grade[0].args.args) < 2:
        return "python grader must define grade(sample, item)", 1
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else []
        for module in names:
            top = module.split(".")[0]
            if top not in sys.stdlib_module_names and top not in ALLOWED_PACKAGES:
                why = (f"python grader imports {top!r}, which Foundry's grader runtime does not provide "
                       "(the standard library and numpy, scipy, pandas, rapidfuzz, ... only)")
                return why, getattr(node, "lineno", 1)
    return None
