"""A small parser for the protobuf text format (pipeline.config, label maps).

The TF Object Detection API writes its configs and label maps in protobuf
text format. We parse it without descriptors: the result is a tree of
`Message`s holding `Field`s in file order, each with its line number, so
callers can check names against what they know and point at the line of
any problem. A tokenizer (one small regex per token kind) feeds a
recursive-descent parser; nothing is matched over the whole file.

Syntax handled: `name: value`, `name { ... }`, `name: { ... }`, `name < ... >`,
repeated fields, `name: [a, b]` lists (scalars or messages), `#` comments
anywhere, single and double quoted strings with C escapes, adjacent string
concatenation, bare identifiers (enums), `true`/`false`, ints (decimal, hex,
octal), floats (`1e-4`, `.5`, `-1`, `inf`, `nan`, `1.0f`) and an optional `,`
or `;` after any field.

Public API (other modules code against exactly this):
    parse(text, source="<string>") -> Message
    Message.get(name, default=None), .get_all(name), .field(name), .names()
    Field(name, value, line), Enum(str)
Errors are ValueError("source:LINE: Expected ... Received: ...").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field as dataclass_field
from typing import Union


class Enum(str):
    """A bare identifier value (an enum name), e.g. `RELU_6`."""

    def __repr__(self) -> str:
        return f"Enum({str.__repr__(self)})"


Scalar = Union[str, Enum, bool, int, float]


@dataclass(frozen=True)
class Field:
    name: str
    value: "Scalar | Message"
    line: int


@dataclass
class Message:
    line: int
    fields: list[Field] = dataclass_field(default_factory=list)
    source: str = "<string>"

    def get(self, name: str, default=None):
        """The single value of `name`, or `default` when absent.

        A field given more than once is an error: the caller expected one.
        """
        found = [f for f in self.fields if f.name == name]
        if not found:
            return default
        if len(found) > 1:
            lines = ", ".join(str(f.line) for f in found)
            raise ValueError(
                f"{self.source}:{found[1].line}: Expected field '{name}' at most "
                f"once. Received: it {len(found)} times (lines {lines})."
            )
        return found[0].value

    def get_all(self, name: str) -> list:
        """Every value of `name`, in file order (`[a, b]` lists flattened)."""
        return [f.value for f in self.fields if f.name == name]

    def field(self, name: str) -> Field | None:
        """The first `Field` called `name` (for its line number), or None."""
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def names(self) -> list[str]:
        """Field names in first-appearance order, each once."""
        return list(dict.fromkeys(f.name for f in self.fields))

    def __contains__(self, name: str) -> bool:
        return any(f.name == name for f in self.fields)


# --- tokenizer -------------------------------------------------------------

_TOKEN_PATTERNS = [
    ("space", re.compile(r"[ \t\r\f\v]+")),
    ("newline", re.compile(r"\n")),
    ("comment", re.compile(r"#[^\n]*")),
    ("string", re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'")),
    # Numbers before identifiers so that `.5` and `-inf` come out whole.
    (
        "number",
        re.compile(
            r"-?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fF]?"
            r"|inf(?:inity)?\b|nan\b)",
            re.IGNORECASE,
        ),
    ),
    ("ident", re.compile(r"[A-Za-z_][A-Za-z0-9_]*")),
    # `[` may open a list or an extension name `[a.b.c]`; the parser decides.
    ("symbol", re.compile(r"[{}<>\[\]:,;./]")),
]


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    line: int


def _describe(token: _Token) -> str:
    if token.kind == "end":
        return "end of file"
    return repr(token.text)


def _tokenize(text: str, source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos, line = 0, 1
    while pos < len(text):
        for kind, pattern in _TOKEN_PATTERNS:
            match = pattern.match(text, pos)
            if match:
                break
        else:
            snippet = text[pos : pos + 20].split("\n")[0]
            raise ValueError(
                f"{source}:{line}: Expected a field name, value, or one of "
                f"{{ }} < > [ ] : , ;. Received: {snippet!r}"
            )
        chunk = match.group(0)
        if kind == "newline":
            line += 1
        elif kind == "number" and _ident_follows(text, match.end()):
            # e.g. `1abc` or `-infx`: not a number; let the error say so.
            raise ValueError(
                f"{source}:{line}: Expected a number. Received: "
                f"{text[pos:pos + 20].split()[0]!r}"
            )
        elif kind not in ("space", "comment"):
            tokens.append(_Token(kind, chunk, line))
        pos = match.end()
    tokens.append(_Token("end", "", line))
    return tokens


def _ident_follows(text: str, pos: int) -> bool:
    return pos < len(text) and (text[pos].isalnum() or text[pos] == "_")


_HEX = "0123456789abcdefABCDEF"
_SIMPLE_ESCAPES = {
    "n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f",
    "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?",
}


def _unescape(body: str, source: str, line: int) -> bytes:
    """A quoted string's bytes, as protobuf reads it: the escapes give
    bytes (`\\303\\251` is two bytes, how protobuf writes a non-ASCII `é`
    unless asked for UTF-8), the rest is the file's own text in UTF-8.
    Adjacent strings are joined before the whole is decoded (`_text`)."""
    out = bytearray()
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out += ch.encode("utf-8", "surrogatepass")
            i += 1
            continue
        nxt = body[i + 1]  # the tokenizer guarantees a character after `\`
        if nxt in _SIMPLE_ESCAPES:
            out += _SIMPLE_ESCAPES[nxt].encode()
            i += 2
        elif nxt in "01234567":
            j = i + 1
            while j < len(body) and j < i + 4 and body[j] in "01234567":
                j += 1
            value = int(body[i + 1 : j], 8)
            if value > 0o377:
                raise ValueError(
                    f"{source}:{line}: Expected an octal escape of one byte "
                    f"(at most \\377). Received: {body[i:j]!r}"
                )
            out.append(value)
            i = j
        elif nxt in "xX":
            j = i + 2
            while j < len(body) and j < i + 4 and body[j] in _HEX:
                j += 1
            if j == i + 2:
                raise ValueError(
                    f"{source}:{line}: Expected hex digits after '\\x'. "
                    f"Received: {body[i:i + 4]!r}"
                )
            out.append(int(body[i + 2 : j], 16))
            i = j
        elif nxt in "uU":
            digits = 4 if nxt == "u" else 8
            code = body[i + 2 : i + 2 + digits]
            if len(code) != digits or any(c not in _HEX for c in code):
                raise ValueError(
                    f"{source}:{line}: Expected {digits} hex digits after "
                    f"'\\{nxt}'. Received: {body[i:i + 2 + digits]!r}"
                )
            try:
                out += chr(int(code, 16)).encode("utf-8")
            except (ValueError, OverflowError, UnicodeEncodeError):
                raise ValueError(
                    f"{source}:{line}: Expected a Unicode code point after "
                    f"'\\{nxt}'. Received: {body[i:i + 2 + digits]!r}"
                ) from None
            i += 2 + digits
        else:
            raise ValueError(
                f"{source}:{line}: Expected a valid escape sequence. "
                f"Received: {body[i:i + 2]!r}"
            )
    return bytes(out)


def _text(data: bytes, shown: str, source: str, line: int) -> str:
    """`data` (a string's bytes) decoded as UTF-8, as protobuf requires of
    a string field; `shown` is the string as written, for the error."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{source}:{line}: Expected a string whose escaped bytes are "
            f"UTF-8 text (as protobuf requires of a string field). "
            f"Received: {shown!r} ({error.reason} at byte {error.start})"
        ) from None


# --- parser ----------------------------------------------------------------

_CLOSERS = {"{": "}", "<": ">"}


class _Parser:
    def __init__(self, text: str, source: str):
        self.source = source
        self.tokens = _tokenize(text, source)
        self.pos = 0
        self.opened: list[int] = []  # lines of the messages still open

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def error(self, expected: str, token: _Token | None = None) -> ValueError:
        token = token or self.peek()
        return ValueError(
            f"{self.source}:{token.line}: Expected {expected}. "
            f"Received: {_describe(token)}"
        )

    def expect(self, text: str, what: str | None = None) -> _Token:
        token = self.peek()
        if token.kind != "symbol" or token.text != text:
            raise self.error(what or repr(text))
        return self.take()

    def at_symbol(self, text: str) -> bool:
        token = self.peek()
        return token.kind == "symbol" and token.text == text

    def parse_fields(self, message: Message, closer: str | None) -> None:
        while True:
            token = self.peek()
            if closer is None and token.kind == "end":
                return
            if closer is not None and token.kind == "symbol" and token.text == closer:
                self.take()
                return
            if token.kind == "end" or (token.kind == "symbol" and token.text in "}>"):
                if closer is None:
                    raise self.error("a field name (no message is open here)")
                raise self.error(f"{closer!r} to close the message opened on line {self.opened[-1]}")
            self.parse_field(message)
            if self.at_symbol(",") or self.at_symbol(";"):
                self.take()

    def parse_name(self) -> _Token:
        token = self.peek()
        if token.kind == "ident":
            return self.take()
        if token.kind == "symbol" and token.text == "[":
            # Extension or Any type URL: [a.b.c] or [type.googleapis.com/x.Y].
            start = self.take()
            parts: list[str] = []
            while not self.at_symbol("]"):
                part = self.take()
                if part.kind == "end" or (part.kind == "symbol" and part.text not in "./"):
                    raise self.error("an extension name closed by ']'", part)
                parts.append(part.text)
            self.take()
            return _Token("ident", "[" + "".join(parts) + "]", start.line)
        raise self.error("a field name")

    def parse_field(self, message: Message) -> None:
        name = self.parse_name()
        has_colon = self.at_symbol(":")
        if has_colon:
            self.take()
        token = self.peek()
        if token.kind == "symbol" and token.text in _CLOSERS:
            message.fields.append(Field(name.text, self.parse_message(), name.line))
            return
        is_list = token.kind == "symbol" and token.text == "["
        if not has_colon and not is_list:
            raise self.error(f"':' or '{{' after field name '{name.text}'")
        if is_list:
            self.take()
            if self.at_symbol("]"):
                self.take()
                return  # `name: []` sets nothing
            while True:
                item = self.peek()
                if item.kind == "symbol" and item.text in _CLOSERS:
                    value = self.parse_message()
                elif not has_colon:  # `name [...]` is only for lists of messages
                    raise self.error(f"'{{' (a list without ':' holds messages)")
                else:
                    value = self.parse_scalar()
                message.fields.append(Field(name.text, value, item.line))
                if self.at_symbol(","):
                    self.take()
                    continue
                self.expect("]", "',' or ']' in the list")
                return
        message.fields.append(Field(name.text, self.parse_scalar(), name.line))

    def parse_message(self) -> Message:
        opener = self.take()
        message = Message(line=opener.line, source=self.source)
        self.opened.append(opener.line)
        self.parse_fields(message, _CLOSERS[opener.text])
        self.opened.pop()
        return message

    def parse_scalar(self) -> Scalar:
        token = self.peek()
        if token.kind == "string":
            parts, shown = [], []
            while self.peek().kind == "string":
                tok = self.take()
                shown.append(tok.text[1:-1])
                parts.append(_unescape(tok.text[1:-1], self.source, tok.line))
            return _text(b"".join(parts), " ".join(shown), self.source,
                         token.line)
        if token.kind == "number":
            self.take()
            return _number(token.text, self.source, token.line)
        if token.kind == "ident":
            self.take()
            if token.text in ("true", "True", "t"):
                return True
            if token.text in ("false", "False", "f"):
                return False
            return Enum(token.text)
        raise self.error("a value (number, string, identifier or message)")


def _number(text: str, source: str, line: int) -> int | float:
    lower = text.lower()
    sign = -1 if lower.startswith("-") else 1
    body = lower.lstrip("-")
    if body in ("inf", "infinity"):
        return sign * math.inf
    if body == "nan":
        return math.nan
    if body.startswith("0x"):
        return sign * int(body, 16)
    if body.endswith("f") and not body.startswith("0x"):
        return float(text[:-1])
    if any(c in body for c in ".e"):
        return float(text)
    if len(body) > 1 and body.startswith("0"):
        try:
            return sign * int(body, 8)
        except ValueError:
            raise ValueError(
                f"{source}:{line}: Expected an octal integer (leading 0). "
                f"Received: {text!r}"
            ) from None
    return int(text)


def parse(text: str, source: str = "<string>") -> Message:
    """Parse protobuf text format into a `Message` tree.

    `source` names the text in errors (a file path, usually).
    """
    if not isinstance(text, str):
        raise ValueError(
            f"Expected text to be a str. Received: text of type {type(text).__name__}"
        )
    parser = _Parser(text, source)
    root = Message(line=1, source=source)
    parser.parse_fields(root, None)
    return root
