"""Record-level checks for the three Foundry dataset formats, and token accounting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import msgspec

if TYPE_CHECKING:
    from ._options import ScanOptions

FORMATS = {
    "chat": "supervised fine-tuning: {\"messages\": [...]} with assistant turns",
    "preference": "DPO: {\"input\": {\"messages\": [...]}, \"preferred_output\": [...], "
                  "\"non_preferred_output\": [...]}",
    "reinforcement": "RFT: {\"messages\": [...]} ending with a user message, plus grader fields",
}
METHOD_FORMAT = {"supervised": "chat", "dpo": "preference", "reinforcement": "reinforcement"}
ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_PLAIN_ROLES = frozenset({"system", "developer", "user", "assistant"})
CHAT_KEYS = frozenset({"messages", "tools", "functions", "parallel_tool_calls"})
MESSAGE_OVERHEAD = 3  # tokens per message in the chat template (OpenAI's counting recipe)
PROMPT_CACHE = 256  # distinct system prompts whose token counts are remembered (then forgotten at once)

Report = Callable[..., None]


class FastMessage(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """A plain text turn; anything else (tools, content parts, null weight) fails to decode. Not tracked by the
    cyclic GC (it holds strings and ints only, so it can be in no cycle): ~7% less decoding time."""

    role: Literal["system", "developer", "user", "assistant"]
    content: str
    weight: Literal[0, 1] | msgspec.UnsetType = msgspec.UNSET


class FastChat(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """The common chat record: {"messages": [plain turns]} and nothing else."""

    messages: list[FastMessage]


fast_chat_decoder = msgspec.json.Decoder(FastChat)


def infer_format(rec: Any) -> str | None:
    if not isinstance(rec, dict):
        return None
    if "preferred_output" in rec or "non_preferred_output" in rec:
        return "preference"
    msgs = rec.get("messages")
    if isinstance(msgs, list) and msgs:
        roles = [m.get("role") for m in msgs if isinstance(m, dict)]
        if "assistant" not in roles and roles and roles[-1] == "user":
            return "reinforcement"
        return "chat"
    return None


@dataclass
class Stats:
    examples: int = 0
    tokens_by_role: dict[str, int] = field(default_factory=dict)
    trained_tokens: int = 0
    max_tokens: int = 0


class Checker:
    """Checks records of one format; collects statistics and (optionally) token counts."""

    def __init__(self, fmt: str, opts: ScanOptions, report: Report) -> None:
        self.fmt = fmt
        self.opts = opts
        self.report = report
        self.stats = Stats()
        # The (role, trained, text) turns of the record being checked; counted once the record passes.
        self._turns: list[tuple[str, bool, str]] = []
        self._encode: Callable[[str], list[int]] | None = None
        self._prompt_tokens: dict[str, int] = {}
        # An image_url part was met: the only record a model without vision checks otherwise (`_ahead`).
        self.saw_image = False
        self._check_record = {"chat": self._chat, "preference": self._preference,
                              "reinforcement": self._reinforcement}[fmt]
        if opts.count_tokens:
            from ._tokens import get_encoding

            self._encode = get_encoding(opts.encoding).encode_ordinary

    # -- entry points ------------------------------------------------------------------------
    def check(self, rec: Any, line: int) -> None:
        if not isinstance(rec, dict):
            self.report(line, f"each line must be a JSON object ({FORMATS[self.fmt]})")
            return
        self._turns.clear()
        if self._check_record(rec, line):
            self.stats.examples += 1
            if self._encode is not None:
                self._count(self._turns, line)

    def check_fast(self, rec: FastChat, line: int) -> bool:
        """The common chat shape (of a chat dataset), decoded by msgspec into typed structs. True when the
        record is valid and counted; False sends it to the full check, which finds and words what is wrong."""
        msgs = rec.messages
        if not msgs:
            return False
        assistant = False
        unset = msgspec.UNSET
        for m in msgs:
            content = m.content
            if not content or content.isspace():
                return False
            if m.role == "assistant":
                assistant = True
            elif m.weight is not unset:
                return False
        if not assistant:
            return False
        self.stats.examples += 1
        if self._encode is not None:
            self._count_fast(msgs, line)
        return True

    def _count_fast(self, msgs: list[FastMessage], line: int) -> None:
        """`_count` for the fast path's structs (no tuples built: this runs once per turn of every example)."""
        assert self._encode is not None
        encode = self._encode
        stats = self.stats
        by_role = stats.tokens_by_role
        total = 0
        prompts = self._prompt_tokens
        for m in msgs:
            role = m.role
            if role == "system":
                n = prompts.get(m.content, 0) or self._prompt(m.content)
            else:
                n = len(encode(m.content)) + MESSAGE_OVERHEAD
            by_role[role] = by_role.get(role, 0) + n
            if role == "assistant" and m.weight != 0:
                stats.trained_tokens += n
            total += n
        self._example_done(total, line)

    def finish(self) -> Stats:
        return self.stats

    # -- formats -----------------------------------------------------------------------------
    def _chat(self, rec: dict[str, Any], line: int) -> bool:
        msgs = rec.get("messages")
        if not isinstance(msgs, list) or not msgs:
            self.report(line, "missing \"messages\": a chat record needs a non-empty messages list")
            return False
        if len(rec) > 1:
            for key in rec.keys() - CHAT_KEYS:
                self.report(line, f"unknown top-level key {key!r} (Foundry ignores or rejects it)", "warning")
        has_tools = bool(rec.get("tools") or rec.get("functions"))
        if not self._messages(msgs, line, has_tools, weights=True):
            return False
        if not any(type(m) is dict and m.get("role") == "assistant" for m in reversed(msgs)):
            self.report(line, "no assistant message: there is nothing to train on")
            return False
        return True

    def _preference(self, rec: dict[str, Any], line: int) -> bool:
        inp = rec.get("input")
        if not isinstance(inp, dict) or not isinstance(inp.get("messages"), list) or not inp["messages"]:
            self.report(line, "missing \"input\": {\"messages\": [...]} in a DPO record")
            return False
        has_tools = bool(inp.get("tools"))
        if not self._messages(inp["messages"], line, has_tools, weights=False, train=False):
            return False
        outputs = []
        for key in ("preferred_output", "non_preferred_output"):
            out = rec.get(key)
            if not isinstance(out, list) or len(out) != 1:
                n = len(out) if isinstance(out, list) else 0
                self.report(line, f"DPO records need exactly one {key} message (found {n})")
                return False
            outputs.append(out)
        for out in outputs:
            if not isinstance(out[0], dict) or out[0].get("role") != "assistant":
                self.report(line, "preferred_output and non_preferred_output must be assistant messages")
                return False
            if not self._messages(out, line, has_tools, weights=False):
                return False
        return True

    def _reinforcement(self, rec: dict[str, Any], line: int) -> bool:
        msgs = rec.get("messages")
        if not isinstance(msgs, list) or not msgs:
            self.report(line, "missing \"messages\": an RFT record needs a non-empty messages list")
            return False
        if not self._messages(msgs, line, bool(rec.get("tools")), weights=False, train=False):
            return False
        last = msgs[-1]
        if last.get("role") != "user":
            self.report(line, f"the last message of an RFT record must be from the user "
                              f"(it is {last.get('role')!r})")
            return False
        return True

    # -- messages ----------------------------------------------------------------------------
    def _messages(self, msgs: list[Any], line: int, has_tools: bool, *, weights: bool,
                  train: bool = True) -> bool:
        """Check a message list. Plain text messages take a fast path; anything else the full one."""
        counting = self._encode is not None
        texts: list[tuple[str, bool, str]] = []
        for i, m in enumerate(msgs):
            # Fast path: {"role": <plain role>, "content": "<non-blank text>"} (+ a valid weight).
            if type(m) is dict:
                role = m.get("role")
                content = m.get("content")
                n = len(m)
                if (type(content) is str and content and not content.isspace() and type(role) is str
                        and role in _PLAIN_ROLES
                        and (n == 2 or (n == 3 and weights and role == "assistant" and m.get("weight", 2) in (0, 1)
                                        and type(m["weight"]) is int))):
                    if counting:
                        texts.append((role, train and role == "assistant" and m.get("weight", 1) == 1, content))
                    continue
            checked = self._message(m, i, line, has_tools, weights)
            if checked is None:
                return False
            if counting:
                role, weight, text = checked
                texts.append((role, train and role == "assistant" and weight == 1, text))
        if counting:
            self._turns.extend(texts)
        return True

    def _message(self, m: Any, i: int, line: int, has_tools: bool, weights: bool) -> tuple[str, Any, str] | None:
        """Full check of one message; returns (role, weight, text) or None after reporting."""
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            self.report(line, f"{where} must be an object with role and content")
            return None
        role = m.get("role")
        if type(role) is not str or role not in ROLES:  # an unhashable role must not reach the set
            self.report(line, f"{where}: unknown role {role!r} (allowed: {', '.join(sorted(ROLES))})")
            return None
        weight = m.get("weight", 1)
        if "weight" in m:
            if not weights:
                self.report(line, f"{where}: weight is only allowed in supervised (chat) data")
                return None
            if role != "assistant":
                self.report(line, f"{where}: weight is only allowed on assistant messages")
                return None
            if weight not in (0, 1) or isinstance(weight, bool):
                self.report(line, f"{where}: weight must be 0 or 1 (got {weight!r})")
                return None
        tool_calls = m.get("tool_calls") or m.get("function_call")
        if (tool_calls or role in ("tool", "function")) and not has_tools:
            self.report(line, f"{where}: tool calls without their tools (add a top-level \"tools\" list)")
            return None
        content = m.get("content")
        text = self._content_text(content, where, line)
        if text is None:
            return None
        if not text.strip() and not tool_calls and not self._has_image(content):
            self.report(line, f"{where}: empty content in a {role} message")
            return None
        return role, weight, text

    def _content_text(self, content: Any, where: str, line: int) -> str | None:
        if isinstance(content, str):
            return content
        if content is None:
            return ""
        if isinstance(content, list):
            parts = []
            for j, part in enumerate(content):
                ptype = part.get("type") if isinstance(part, dict) else None
                if ptype == "text" and isinstance(part.get("text"), str):
                    parts.append(part["text"])
                elif ptype == "image_url":
                    self.saw_image = True
                    if not self.opts.vision:
                        self.report(line, f"{where}.content[{j}]: image_url needs a model with vision "
                                          "fine-tuning (gpt-4o, gpt-4.1)")
                        return None
                else:
                    self.report(line, f"{where}.content[{j}]: a content part must be "
                                      "{\"type\": \"text\", \"text\": ...} or {\"type\": \"image_url\", ...}")
                    return None
            return "".join(parts)
        self.report(line, f"{where}: content must be a string or a list of content parts")
        return None

    @staticmethod
    def _has_image(content: Any) -> bool:
        return isinstance(content, list) and any(
            isinstance(p, dict) and p.get("type") == "image_url" for p in content)

    # -- tokens ------------------------------------------------------------------------------
    def _count(self, turns: list[tuple[str, bool, str]], line: int) -> None:
        """Count one example's tokens, one text at a time on this thread: tiktoken's batch encoder pays a
        thread-pool future per text, more than encoding a chat turn costs; the scan's worker processes
        use the other cores."""
        assert self._encode is not None
        encode = self._encode
        stats = self.stats
        by_role = stats.tokens_by_role
        total = 0
        for role, trained, text in turns:
            n = self._prompt(text) if role == "system" else len(encode(text)) + MESSAGE_OVERHEAD
            by_role[role] = by_role.get(role, 0) + n
            if trained:
                stats.trained_tokens += n
            total += n
        self._example_done(total, line)

    def _prompt(self, text: str) -> int:
        """Tokens of a system prompt, remembered: most datasets repeat one prompt in every example."""
        assert self._encode is not None
        n = self._prompt_tokens.get(text)
        if n is None:
            if len(self._prompt_tokens) >= PROMPT_CACHE:
                self._prompt_tokens.clear()
            n = self._prompt_tokens[text] = len(self._encode(text)) + MESSAGE_OVERHEAD
        return n

    def _example_done(self, total: int, line: int) -> None:
        if total > self.stats.max_tokens:
            self.stats.max_tokens = total
        limit = self.opts.max_example_tokens
        if limit is not None and total > limit:
            self.report(line, f"example has {total} tokens; the model accepts at most {limit} per example")
