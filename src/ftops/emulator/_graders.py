"""Graders as Foundry defines them: validation, templates, and scores computed for real.

`string_check` (eq, ne, like, ilike), `text_similarity` (fuzzy_match with RapidFuzz, bleu with
sacrebleu, gleu and meteor with NLTK, rouge_1..rouge_5 and rouge_l with rouge-score), `python`
(sandboxed, see `_pysandbox`), `score_model` and `label_model` (a simulated judge, see
`_inference.judge`), and `multi` (a formula over named graders). Templates are `{{item.x}}` and
`{{sample.output_text}}`, with dotted paths and `[n]` indices into nested data.
"""

from __future__ import annotations

import ast
import math
import operator
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson

from . import _inference, _pysandbox
from ._pysandbox import PyLimits

STRING_OPS = ("eq", "ne", "like", "ilike")
ROUGE = {f"rouge_{n}": f"rouge{n}" for n in range(1, 6)} | {"rouge_l": "rougeL"}
METRICS = ("cosine", "fuzzy_match", "bleu", "gleu", "meteor", *ROUGE)
EVAL_TYPES = frozenset({"string_check", "text_similarity", "python", "score_model", "label_model"})
RUN_TYPES = frozenset({"string_check", "text_similarity", "python", "score_model", "multi"})
TYPE_LABEL = {"string_check": "string-check-grader", "text_similarity": "text-similarity-grader",
              "python": "python-grader", "score_model": "score-model-grader", "label_model": "label-model-grader",
              "multi": "multi-grader"}
REFERENCE_FIELDS = ("reference", "answer", "expected", "ideal", "ground_truth", "label", "output", "completion",
                    "solution")
_VAR = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_PATH = re.compile(r"(item|sample)((?:\.[A-Za-z0-9_\-]+|\[\d+\])*)")
_STEP = re.compile(r"\.([A-Za-z0-9_\-]+)|\[(\d+)\]")


class GraderInvalid(Exception):
    """A grader definition Foundry would refuse (400), with the parameter at fault."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class VariableMissing(Exception):
    """A template names a variable the item or sample does not have."""


@dataclass
class Outcome:
    """One grader's result on one (item, sample)."""

    score: float
    passed: bool
    error: str | None = None
    kind: str | None = None  # the RunGraderResponse error flag (invalid_variable_error, ...)
    label: str | None = None
    tokens: int = 0
    sub: dict[str, float] = field(default_factory=dict)

    @classmethod
    def failed(cls, error: str, kind: str) -> Outcome:
        return cls(0.0, False, error, kind)


@dataclass(frozen=True)
class Env:
    """What grading needs beyond the grader: python limits and, for judges, each item's reference."""

    limits: PyLimits
    reference: Callable[[dict[str, Any]], str | None]
    cancel: threading.Event | None = None  # set: python graders stop (their jails are killed)


# -- validation -----------------------------------------------------------------------------
def validate(g: Any, param: str, allowed: frozenset[str], in_eval: bool) -> None:
    if not isinstance(g, dict):
        raise GraderInvalid("A grader must be an object.", param)
    kind = g.get("type")
    if kind not in allowed:
        raise GraderInvalid(f"Invalid grader type {kind!r}; expected one of {sorted(allowed)}.", f"{param}.type")
    _need_str(g, "name", param)
    {"string_check": _check_string, "text_similarity": _check_similarity, "python": _check_python,
     "score_model": _check_score_model, "label_model": _check_label_model, "multi": _check_multi}[kind](g, param,
                                                                                                    in_eval)


def _need_str(g: dict[str, Any], key: str, param: str) -> str:
    value = g.get(key)
    if not isinstance(value, str):
        raise GraderInvalid(f"Missing required parameter: '{key}' (a string).", f"{param}.{key}")
    return value


def _need_number(g: dict[str, Any], key: str, param: str, required: bool) -> None:
    value = g.get(key)
    if (value is None and required) or (value is not None and (isinstance(value, bool)
                                                               or not isinstance(value, int | float))):
        raise GraderInvalid(f"'{key}' must be a number.", f"{param}.{key}")


def _check_string(g: dict[str, Any], param: str, in_eval: bool) -> None:
    _need_str(g, "input", param)
    _need_str(g, "reference", param)
    if g.get("operation") not in STRING_OPS:
        raise GraderInvalid(f"Invalid operation {g.get('operation')!r}; expected one of {list(STRING_OPS)}.",
                            f"{param}.operation")


def _check_similarity(g: dict[str, Any], param: str, in_eval: bool) -> None:
    _need_str(g, "input", param)
    _need_str(g, "reference", param)
    metric = g.get("evaluation_metric")
    if metric not in METRICS:
        raise GraderInvalid(f"Invalid evaluation_metric {metric!r}; expected one of {list(METRICS)}.",
                            f"{param}.evaluation_metric")
    if metric == "cosine":
        raise GraderInvalid("evaluation_metric 'cosine' compares embeddings, and the local Foundry has no "
                            "embedding model; use fuzzy_match, bleu, gleu, meteor or rouge_*.",
                            f"{param}.evaluation_metric")
    _need_number(g, "pass_threshold", param, required=in_eval)


def _check_python(g: dict[str, Any], param: str, in_eval: bool) -> None:
    problem = _pysandbox.source_problem(_need_str(g, "source", param))
    if problem:
        raise GraderInvalid(problem, f"{param}.source")
    _need_number(g, "pass_threshold", param, required=False)


def _check_messages(g: dict[str, Any], param: str) -> None:
    _need_str(g, "model", param)
    msgs = g.get("input")
    if not isinstance(msgs, list) or not msgs or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and "content" in m for m in msgs):
        raise GraderInvalid("'input' must be a non-empty list of messages with role and content.", f"{param}.input")


def _check_score_model(g: dict[str, Any], param: str, in_eval: bool) -> None:
    _check_messages(g, param)
    rng = g.get("range")
    if rng is not None and not (isinstance(rng, list) and len(rng) == 2 and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in rng) and rng[0] < rng[1]):
        raise GraderInvalid("'range' must be two numbers, low < high.", f"{param}.range")
    _need_number(g, "pass_threshold", param, required=False)


def _check_label_model(g: dict[str, Any], param: str, in_eval: bool) -> None:
    _check_messages(g, param)
    labels, passing = g.get("labels"), g.get("passing_labels")
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
        raise GraderInvalid("'labels' must be a non-empty list of strings.", f"{param}.labels")
    if not isinstance(passing, list) or not passing or not set(passing) <= set(labels):
        raise GraderInvalid("'passing_labels' must be a non-empty subset of labels.", f"{param}.passing_labels")


def _check_multi(g: dict[str, Any], param: str, in_eval: bool) -> None:
    subs = sub_graders(g)
    if not subs:
        raise GraderInvalid("'graders' must name at least one grader.", f"{param}.graders")
    for key, sub in subs.items():
        validate(sub, f"{param}.graders.{key}", RUN_TYPES - {"multi"}, in_eval=False)
    try:
        _formula(_need_str(g, "calculate_output", param), set(subs))
    except ValueError as e:
        raise GraderInvalid(f"calculate_output: {e}", f"{param}.calculate_output") from None


def uses_python(g: Any) -> bool:
    """Whether running grader `g` runs python code (itself, or one of a multi grader's graders)."""
    if not isinstance(g, dict):
        return False
    return g.get("type") == "python" or (g.get("type") == "multi" and any(map(uses_python, sub_graders(g).values())))


def sub_graders(g: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A multi grader's graders by key: a mapping (as Foundry documents) or one grader (keyed by its name)."""
    subs = g.get("graders")
    if isinstance(subs, dict) and "type" in subs:
        return {str(subs.get("name")): subs}
    if isinstance(subs, dict):
        return {str(k): v for k, v in subs.items()}
    return {}


# -- templates ------------------------------------------------------------------------------
def render(template: str, ns: dict[str, Any]) -> str:
    def one(m: re.Match[str]) -> str:
        value = lookup(m.group(1), ns)
        return value if isinstance(value, str) else orjson.dumps(value).decode()
    return _VAR.sub(one, template)


def lookup(path: str, ns: dict[str, Any]) -> Any:
    m = _PATH.fullmatch(path)
    if m is None or m.group(1) not in ns:
        raise VariableMissing(f"unknown variable {{{{{path}}}}}")
    value: Any = ns[m.group(1)]
    for key, index in _STEP.findall(m.group(2)):
        try:
            value = value[int(index)] if index else value[key]
        except (KeyError, IndexError, TypeError):
            raise VariableMissing(f"{{{{{path}}}}} is not in the data") from None
    return value


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text", ""))
    if isinstance(content, list):
        return " ".join(_content_text(c) for c in content)
    return ""


def render_messages(msgs: list[dict[str, Any]], ns: dict[str, Any]) -> list[dict[str, str]]:
    return [{"role": str(m["role"]), "content": render(_content_text(m.get("content")), ns)} for m in msgs]


def item_reference(item: dict[str, Any], graders: list[dict[str, Any]]) -> str | None:
    """What the evaluation considers the right answer for `item` (the simulated models' target)."""
    for g in graders:
        subs = list(sub_graders(g).values()) if g.get("type") == "multi" else [g]
        for s in subs:
            ref = s.get("reference")
            if s.get("type") in ("string_check", "text_similarity") and isinstance(ref, str) and "sample." not in ref:
                try:
                    return render(ref, {"item": item})
                except VariableMissing:
                    continue
    for key in REFERENCE_FIELDS:
        if isinstance(item.get(key), str):
            return str(item[key])
    msgs = item.get("messages")
    if isinstance(msgs, list) and msgs and isinstance(msgs[-1], dict) and msgs[-1].get("role") == "assistant":
        return _content_text(msgs[-1].get("content"))
    return None


# -- scoring --------------------------------------------------------------------------------
def grade_all(g: dict[str, Any], pairs: list[tuple[dict[str, Any], dict[str, Any]]], env: Env) -> list[Outcome]:
    """Grade every (item, sample) pair with grader `g` (python graders in one sandboxed batch)."""
    kind = g["type"]
    if kind == "python":
        return _grade_python(g, pairs, env)
    if kind == "multi":
        return _grade_multi(g, pairs, env)
    one = {"string_check": _grade_string, "text_similarity": _grade_similarity, "score_model": _grade_score_model,
           "label_model": _grade_label_model}[kind]
    out = []
    for item, sample in pairs:
        try:
            out.append(one(g, {"item": item, "sample": sample}, env))
        except VariableMissing as e:
            out.append(Outcome.failed(str(e), "invalid_variable_error"))
    return out


def _grade_string(g: dict[str, Any], ns: dict[str, Any], env: Env) -> Outcome:
    a, b = render(g["input"], ns), render(g["reference"], ns)
    ok = {"eq": a == b, "ne": a != b, "like": b in a, "ilike": b.lower() in a.lower()}[g["operation"]]
    return Outcome(1.0 if ok else 0.0, ok)


def _grade_similarity(g: dict[str, Any], ns: dict[str, Any], env: Env) -> Outcome:
    score = similarity(g["evaluation_metric"], render(g["input"], ns), render(g["reference"], ns))
    threshold = g.get("pass_threshold")
    return Outcome(score, score >= (threshold if threshold is not None else 0.5))


def _judged(g: dict[str, Any], ns: dict[str, Any], env: Env) -> tuple[float, int]:
    msgs = render_messages(g["input"], ns)
    prompt = "\n".join(f"{m['role']}: {m['content']}" for m in msgs)
    output = str((ns.get("sample") or {}).get("output_text", ""))
    verdict = _inference.judge(g["model"], prompt, output, env.reference(ns["item"]))
    return verdict, _inference.tokens(prompt) + 8


def _grade_score_model(g: dict[str, Any], ns: dict[str, Any], env: Env) -> Outcome:
    lo, hi = g.get("range") or [0, 1]
    verdict, used = _judged(g, ns, env)
    score = round(lo + (hi - lo) * verdict, 4)
    threshold = g.get("pass_threshold")
    return Outcome(score, score >= (threshold if threshold is not None else (lo + hi) / 2), tokens=used)


def _grade_label_model(g: dict[str, Any], ns: dict[str, Any], env: Env) -> Outcome:
    verdict, used = _judged(g, ns, env)
    passing = list(g["passing_labels"])
    others = [x for x in g["labels"] if x not in passing]
    label = passing[0] if verdict >= 0.5 or not others else others[0]
    ok = label in passing
    return Outcome(1.0 if ok else 0.0, ok, label=label, tokens=used)


def _grade_python(g: dict[str, Any], pairs: list[tuple[dict[str, Any], dict[str, Any]]], env: Env) -> list[Outcome]:
    threshold = g.get("pass_threshold")
    results = _pysandbox.run_batch(g["source"], [(sample, item) for item, sample in pairs], env.limits, env.cancel)
    return [Outcome(r.score, r.score >= (threshold if threshold is not None else 0.5)) if r.score is not None
            else Outcome.failed(r.error or "python grader error", "python_grader_runtime_error") for r in results]


def _grade_multi(g: dict[str, Any], pairs: list[tuple[dict[str, Any], dict[str, Any]]], env: Env) -> list[Outcome]:
    subs = sub_graders(g)
    per_sub = {key: grade_all(sub, pairs, env) for key, sub in subs.items()}
    formula = _formula(g["calculate_output"], set(subs))
    out = []
    for i in range(len(pairs)):
        results = {key: outs[i] for key, outs in per_sub.items()}
        bad = next((o for o in results.values() if o.error), None)
        if bad is not None:
            out.append(Outcome.failed(bad.error or "", bad.kind or "other_error"))
            continue
        scores = {key: o.score for key, o in results.items()}
        try:
            value = float(formula(scores))
        except (ArithmeticError, ValueError) as e:
            out.append(Outcome.failed(f"calculate_output: {e}", "formula_parse_error"))
            continue
        out.append(Outcome(value, value >= 0.5, sub=scores, tokens=sum(o.tokens for o in results.values())))
    return out


# -- metrics --------------------------------------------------------------------------------
_TOKEN = re.compile(r"\w+|[^\w\s]")


def _tok(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


class _NoSynonyms:
    """METEOR without WordNet (a corpus download): exact and stem matches only."""

    def synsets(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []


def similarity(metric: str, output: str, reference: str) -> float:
    """`metric` of output against reference, in [0, 1]."""
    if metric == "fuzzy_match":
        from rapidfuzz import fuzz
        return float(fuzz.ratio(output, reference)) / 100
    if metric == "bleu":
        import sacrebleu
        return float(sacrebleu.sentence_bleu(output, [reference]).score) / 100
    if metric == "gleu":
        from nltk.translate.gleu_score import sentence_gleu
        return float(sentence_gleu([_tok(reference)], _tok(output)))
    if metric == "meteor":
        from nltk.translate.meteor_score import meteor_score
        return float(meteor_score([_tok(reference)], _tok(output), wordnet=_NoSynonyms()))
    if metric in ROUGE:
        score = _rouge(ROUGE[metric]).score(reference, output)[ROUGE[metric]]
        return float(score.fmeasure)
    raise GraderInvalid(f"Unsupported evaluation_metric {metric!r}.", "evaluation_metric")


@lru_cache(maxsize=8)
def _rouge(name: str) -> Any:
    from rouge_score import rouge_scorer
    return rouge_scorer.RougeScorer([name])


_BINOPS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.Pow: operator.pow}
_FUNCS: dict[str, Callable[..., float]] = {"min": min, "max": max, "abs": abs, "floor": math.floor, "ceil": math.ceil,
                                           "exp": math.exp, "sqrt": math.sqrt, "log": math.log}


def _formula(text: str, names: set[str]) -> Callable[[dict[str, float]], float]:
    """A multi grader's calculate_output: + - * / ^, min max abs floor ceil exp sqrt log, grader keys."""
    try:
        tree = ast.parse(text.replace("^", "**"), mode="eval")
    except SyntaxError as e:
        raise ValueError(f"cannot parse {text!r}: {e.msg}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in names and node.id not in _FUNCS:
            raise ValueError(f"unknown name {node.id!r}")
        if not isinstance(node, ast.Expression | ast.BinOp | ast.UnaryOp | ast.USub | ast.UAdd | ast.Name | ast.Load
                          | ast.Constant | ast.Call | ast.operator):
            raise ValueError(f"{type(node).__name__} is not allowed")
        if isinstance(node, ast.BinOp) and type(node.op) not in _BINOPS:
            raise ValueError(f"operator {type(node.op).__name__} is not allowed")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _FUNCS):
            raise ValueError("only min, max, abs, floor, ceil, exp, sqrt and log may be called")

    def ev(node: ast.AST, scores: dict[str, float]) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body, scores)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name):
            return scores[node.id]
        if isinstance(node, ast.UnaryOp):
            value = ev(node.operand, scores)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](ev(node.left, scores), ev(node.right, scores))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return float(_FUNCS[node.func.id](*(ev(a, scores) for a in node.args)))
        raise ValueError("invalid formula")
    return lambda scores: ev(tree, scores)
