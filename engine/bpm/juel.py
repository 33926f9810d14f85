"""JUEL, the expression language of Camunda 7, read as the sandboxed Python of this engine.

Camunda Modeler writes conditions, assignees, due dates and timers as `${...}` or `#{...}`.
This module translates the common subset of JUEL into Python source, which then meets the
same fence as every other expression (engine.bpm.sandbox). It never evaluates anything: a
tokenizer and a precedence-climbing parser build a Python `ast`, and `ast.unparse` writes it.

The subset, and what each part becomes:

| JUEL                                   | Python                                   |
|----------------------------------------|------------------------------------------|
| `==` `eq`, `!=` `ne`                   | `==`, `!=` (`is None` / `is not None` against `null`) |
| `<` `lt`, `>` `gt`, `<=` `le`, `>=` `ge` | `<`, `>`, `<=`, `>=`                    |
| `&&` `and`, `||` `or`, `!` `not`       | `and`, `or`, `not`                       |
| `empty x`                              | `not x and x != 0`: None, '' or an empty list or map |
| `a ? b : c`                            | `b if a else c`                          |
| `a.b`, `a['b']`, `a[0]`                | `a['b']`, `a['b']`, `a[0]` (task data are dicts)  |
| `+ - * / div % mod`, unary `-`         | `+ - * / / % %`, `-`                     |
| `'text'` `"text"`, `12` `1.5e3`        | the same literals                        |
| `true` `false` `null`                  | `True` `False` `None`                    |

Everything else is refused with a `JuelError` that names the construct: method and function
calls, nested `${`, `instanceof`, assignment, lambdas, list, set and map literals, and
names that are Python keywords. The operators keep Python's meaning where the two differ
(`'5' == 5` is false here; JUEL would convert the text to a number).
"""

from __future__ import annotations

import ast
import keyword
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["JuelError", "is_juel", "translate", "translate_body", "translate_template",
           "juel_parts"]

# Keywords of the subset; the other reserved words of JUEL are refused by name.
_WORD_OPERATORS = {"and": "&&", "or": "||", "not": "!", "eq": "==", "ne": "!=", "lt": "<",
                   "gt": ">", "le": "<=", "ge": ">=", "div": "/", "mod": "%"}
_LITERAL_WORDS = {"true": True, "false": False, "null": None}
_REFUSED_WORDS = {"instanceof": "The operator 'instanceof'"}

_SYMBOLS = ("==", "!=", "<=", ">=", "&&", "||", "->", "+=", "<", ">", "!", "?", ":", "(", ")",
            "[", "]", ".", ",", "+", "-", "*", "/", "%", "=", ";", "{", "}", "&", "|")
# Symbols outside the subset: (what it is, what to write instead).
_REFUSED_SYMBOLS = {
    "=": ("The assignment '='", " To compare two values, write '=='."),
    "+=": ("The string concatenation '+='", ""),
    "->": ("A lambda expression ('->')", ""),
    ";": ("The ';' between expressions", " Write one expression."),
    "{": ("A set or map literal ('{...}')", ""),
    "}": ("A '}' without its '${'", ""),
    "&": ("The operator '&'", " For 'and', write '&&'."),
    "|": ("The operator '|'", " For 'or', write '||'."),
}

_NUMBER = re.compile(r"(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
_COMPARISONS = {"==": ast.Eq, "!=": ast.NotEq, "<": ast.Lt, ">": ast.Gt, "<=": ast.LtE,
                ">=": ast.GtE}
_ARITHMETIC = {"+": ast.Add, "-": ast.Sub, "*": ast.Mult, "/": ast.Div, "%": ast.Mod}
_MAX_LENGTH = 10_000
_MAX_DEPTH = 50


class JuelError(ValueError):
    """A JUEL text outside the common subset; the message names the construct."""

    def __init__(self, message: str, construct: str | None = None):
        self.message = message
        self.construct = construct
        super().__init__(message)


@dataclass(frozen=True)
class _Token:
    kind: str  # "number", "string", "name", "op", "end"
    value: object
    start: int
    end: int


@dataclass(frozen=True)
class JuelPart:
    """One `${...}` or `#{...}` part of a text: where it is and what is between the braces."""

    start: int
    end: int
    body: str

    @property
    def written(self) -> str:
        """The part as written, e.g. `${approved}`."""
        return "${" + self.body + "}"


# ---------------------------------------------------------------- finding the parts

def is_juel(text: str | None) -> bool:
    """Whether the text holds a `${...}` or `#{...}` part (then it is read as JUEL)."""
    return bool(text) and re.search(r"[$#]\{", text) is not None


def juel_parts(text: str) -> list[JuelPart]:
    """The `${...}` and `#{...}` parts of a text, in order; refuses an unclosed part."""
    parts, index = [], 0
    while True:
        found = re.compile(r"[$#]\{").search(text, index)
        if found is None:
            return parts
        end, quote = _closing_brace(text, found.end())
        if end is None and quote is not None:
            raise JuelError(f"The text starting at {_short(text[quote:])} has no closing "
                            f"{text[quote]}. Close the text, then the '${{'.", "unclosed text")
        if end is None:
            raise JuelError(f"The expression '{_short(text[found.start():])}' has no closing "
                            "'}'. Close it, or remove the '${'.", "unclosed '${'")
        parts.append(JuelPart(found.start(), end + 1, text[found.end():end]))
        index = end + 1


def _closing_brace(text: str, index: int) -> tuple[int | None, int | None]:
    """(the index of the '}' that closes a part whose body starts at `index`, None), or
    (None, where an unclosed quote starts) when there is no such '}'."""
    depth, quote, opened = 0, None, None
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote, opened = char, index
        elif char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return index, None
            depth -= 1
        index += 1
    return None, opened if quote else None


def translate(text: str) -> str:
    """The Python of a text that is one whole `${...}` or `#{...}` expression."""
    written = text.strip()
    parts = juel_parts(written)
    if len(parts) != 1 or parts[0].start != 0 or parts[0].end != len(written):
        raise JuelError(f"'{_short(written)}' mixes text and '${{...}}' parts. An expression "
                        "here must be one '${...}' with nothing around it.",
                        "text around the expression")
    return translate_body(parts[0].body)


def translate_template(text: str, render: Callable[[str], str] | None = None) -> str:
    """A text with embedded parts (`approver@${department}`), each part's body translated.

    The text around the parts is kept; each part stays a `${...}` holding Python.
    `render` may wrap each translation differently.
    """
    pieces, index = [], 0
    for part in juel_parts(text):
        python = translate_body(part.body)
        pieces.append(text[index:part.start])
        pieces.append(render(python) if render else "${" + python + "}")
        index = part.end
    pieces.append(text[index:])
    return "".join(pieces)


def translate_body(source: str) -> str:
    """The Python of the JUEL between the braces, e.g. `!rejected && score >= 3`."""
    if len(source) > _MAX_LENGTH:
        raise JuelError(f"The expression is {len(source):,} characters long; the limit is "
                        f"{_MAX_LENGTH:,}.", "length")
    if not source.strip():
        raise JuelError("The expression '${}' is empty. Write a condition or a value between "
                        "the braces.", "empty expression")
    parser = _Parser(source, _tokens(source))
    tree = parser.expression()
    parser.expect_end()
    if _depth(tree) > _MAX_DEPTH:
        raise JuelError(f"The expression is nested more than {_MAX_DEPTH} levels deep. Split "
                        "it, or compute a part in a script task.", "nesting")
    return ast.unparse(ast.fix_missing_locations(ast.Expression(tree)))


def _depth(tree: ast.AST) -> int:
    """How deep the tree is, walked without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth <= _MAX_DEPTH:
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


# ---------------------------------------------------------------- tokens

def _tokens(source: str) -> list[_Token]:
    tokens, index = [], 0
    while index < len(source):
        char = source[index]
        if char.isspace():
            index += 1
        elif char in "'\"":
            value, end = _string(source, index)
            tokens.append(_Token("string", value, index, end))
            index = end
        elif char.isdigit() or (char == "." and source[index + 1:index + 2].isdigit()):
            match = _NUMBER.match(source, index)
            text = match.group(0)
            if len(text) > 30:
                raise JuelError(f"The number {_short(text)} is too long.", "number")
            value = float(text) if any(c in text for c in ".eE") else int(text)
            tokens.append(_Token("number", value, index, match.end()))
            index = match.end()
        elif char.isalpha() or char == "_":
            end = index
            while end < len(source) and (source[end].isalnum() or source[end] == "_"):
                end += 1
            word = source[index:end]
            if word in _REFUSED_WORDS:
                raise JuelError(f"{_REFUSED_WORDS[word]} is not part of JUEL's common subset.",
                                word)
            tokens.append(_Token("name", word, index, end))
            index = end
        elif char in "$#" and source[index + 1:index + 2] == "{":
            raise JuelError("An expression holds another '${' inside it. Write one expression "
                            "between one pair of braces.", "nested '${'")
        else:
            symbol = next((s for s in _SYMBOLS if source.startswith(s, index)), None)
            if symbol is None:
                raise JuelError(f"The character '{char}' is not part of JUEL's common subset.",
                                f"character '{char}'")
            if symbol in _REFUSED_SYMBOLS:
                what, hint = _REFUSED_SYMBOLS[symbol]
                raise JuelError(f"{what} is not part of JUEL's common subset.{hint}", symbol)
            tokens.append(_Token("op", symbol, index, index + len(symbol)))
            index += len(symbol)
    tokens.append(_Token("end", None, len(source), len(source)))
    return tokens


def _string(source: str, start: int) -> tuple[str, int]:
    """A quoted literal's value and the index after its closing quote."""
    quote, chars, index = source[start], [], start + 1
    while index < len(source):
        char = source[index]
        if char == "\\":
            following = source[index + 1:index + 2]
            if following not in ("\\", "'", '"'):
                raise JuelError(f"The escape '\\{following}' is not allowed in a JUEL text; "
                                "only \\\\, \\' and \\\" are.", f"escape '\\{following}'")
            chars.append(following)
            index += 2
        elif char == quote:
            return "".join(chars), index + 1
        else:
            chars.append(char)
            index += 1
    raise JuelError(f"The text {_short(source[start:])} has no closing {quote}.",
                    "unclosed text")


# ---------------------------------------------------------------- parsing into a Python ast

class _Parser:
    """Precedence climbing over JUEL's levels, from the conditional down to the values."""

    def __init__(self, source: str, tokens: list[_Token]):
        self.source = source
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    # -- token helpers

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def _at(self, *symbols: str) -> str | None:
        """The operator at the cursor, with JUEL's word operators read as their symbols."""
        token = self.current
        if token.kind == "op" and token.value in symbols:
            return token.value
        if token.kind == "name" and _WORD_OPERATORS.get(token.value) in symbols:
            return _WORD_OPERATORS[token.value]
        return None

    def _advance(self) -> _Token:
        token = self.current
        self.index += 1
        return token

    def _expect(self, symbol: str, what: str) -> None:
        if self._at(symbol) is None:
            raise self._unexpected(f"expected {what}")
        self._advance()

    def _unexpected(self, why: str) -> JuelError:
        token = self.current
        found = "the end of the expression" if token.kind == "end" else \
            f"'{self.source[token.start:token.end]}'"
        return JuelError(f"The expression '{_short(self.source.strip())}' cannot be read: "
                         f"{why}, found {found}.", "syntax")

    def expect_end(self) -> None:
        """Refuse anything left over after a whole expression."""
        if self.current.kind != "end":
            raise self._unexpected("expected the end of the expression")

    # -- the levels, lowest first

    def expression(self) -> ast.expr:
        """A whole expression: the conditional `a ? b : c` and everything below it."""
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise JuelError(f"The expression is nested more than {_MAX_DEPTH} levels deep.",
                            "nesting")
        test = self._binary(0)
        if self._at("?"):
            self._advance()
            body = self.expression()
            self._expect(":", "':' of 'a ? b : c'")
            orelse = self.expression()
            test = ast.IfExp(test=test, body=body, orelse=orelse)
        self.depth -= 1
        return test

    _LEVELS: tuple[tuple[str, ...], ...] = (
        ("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="), ("+", "-"), ("*", "/", "%"),
    )

    def _binary(self, level: int) -> ast.expr:
        if level == len(self._LEVELS):
            return self._unary()
        left = self._binary(level + 1)
        while (symbol := self._at(*self._LEVELS[level])) is not None:
            self._advance()
            right = self._binary(level + 1)
            left = _combine(symbol, left, right)
        return left

    def _unary(self) -> ast.expr:
        # Prefix operators are read in a loop, so that '!!!…' cannot exhaust the stack.
        prefixes: list[str] = []
        while True:
            symbol = self._at("!", "-")
            if symbol is None and self.current.kind == "name" and self.current.value == "empty":
                symbol = "empty"
            if symbol is None:
                break
            self._advance()
            if symbol == "empty" and not self._starts_value():
                raise JuelError("'empty' needs a value after it, as in '${empty list}'; it "
                                "cannot be a variable name.", "'empty'")
            prefixes.append(symbol)
        if len(prefixes) > _MAX_DEPTH:
            raise JuelError(f"The expression stacks more than {_MAX_DEPTH} operators.",
                            "nesting")
        value = self._postfix(self._primary())
        for symbol in reversed(prefixes):
            if symbol == "empty":
                value = _empty(value)
            else:
                value = ast.UnaryOp(op=ast.Not() if symbol == "!" else ast.USub(), operand=value)
        return value

    def _starts_value(self) -> bool:
        token = self.current
        return token.kind in ("name", "number", "string") or (
            token.kind == "op" and token.value in ("(", "-", "!"))

    def _postfix(self, value: ast.expr) -> ast.expr:
        while True:
            if self._at("."):
                self._advance()
                name = self.current
                if name.kind != "name":
                    raise self._unexpected("expected a property name after '.'")
                self._advance()
                if self._at("("):
                    raise JuelError(f"The method call '.{name.value}(...)' is not part of "
                                    "JUEL's common subset. Compute the value in a script task "
                                    "or a form field.", f"method call '{name.value}(...)'")
                value = ast.Subscript(value=value, slice=ast.Constant(name.value), ctx=ast.Load())
            elif self._at("["):
                self._advance()
                key = self.expression()
                self._expect("]", "']'")
                if self._at("("):
                    raise JuelError("A method call ('[...](...)') is not part of JUEL's common "
                                    "subset.", "method call")
                value = ast.Subscript(value=value, slice=key, ctx=ast.Load())
            else:
                return value

    def _primary(self) -> ast.expr:
        token = self.current
        if token.kind in ("number", "string"):
            self._advance()
            return ast.Constant(token.value)
        if self._at("("):
            self._advance()
            inner = self.expression()
            self._expect(")", "')'")
            return inner
        if token.kind == "name":
            return self._name(token)
        if token.kind == "end":
            raise self._unexpected("expected a value")
        raise self._unexpected("expected a value")

    def _name(self, token: _Token) -> ast.expr:
        word = token.value
        if word in _LITERAL_WORDS:
            self._advance()
            return ast.Constant(_LITERAL_WORDS[word])
        if word in _WORD_OPERATORS:
            raise self._unexpected(f"'{word}' is an operator and needs a value before it")
        self._advance()
        following = self.tokens[self.index:self.index + 3]
        if self._at("("):
            raise JuelError(f"The function call '{word}(...)' is not part of JUEL's common "
                            "subset. A registered helper is called from Python: write the "
                            f"Python without the braces, e.g. {word}(...).",
                            f"function call '{word}(...)'")
        if (len(following) == 3 and following[0].value == ":" and following[1].kind == "name"
                and following[2].value == "("):
            name = f"{word}:{following[1].value}"
            raise JuelError(f"The function call '{name}(...)' is not part of JUEL's common "
                            "subset.", f"function call '{name}(...)'")
        if keyword.iskeyword(word) or not word.isidentifier():
            raise JuelError(f"The variable name '{word}' is a word of Python, in which the "
                            "expression runs. Rename the variable.", f"name '{word}'")
        return ast.Name(id=word, ctx=ast.Load())


def _combine(symbol: str, left: ast.expr, right: ast.expr) -> ast.expr:
    """The Python node of one binary JUEL operator."""
    if symbol in ("&&", "||"):
        op = ast.And if symbol == "&&" else ast.Or
        values = (left.values if isinstance(left, ast.BoolOp) and isinstance(left.op, op)
                  else [left])
        return ast.BoolOp(op=op(), values=[*values, right])
    if symbol in ("==", "!=") and (_is_null(left) or _is_null(right)):
        subject = right if _is_null(left) else left
        test = ast.Is() if symbol == "==" else ast.IsNot()
        return ast.Compare(left=subject, ops=[test], comparators=[ast.Constant(None)])
    if symbol in _COMPARISONS:
        return ast.Compare(left=left, ops=[_COMPARISONS[symbol]()], comparators=[right])
    return ast.BinOp(left=left, op=_ARITHMETIC[symbol](), right=right)


def _is_null(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _empty(operand: ast.expr) -> ast.expr:
    """`empty x`: x is None, '' or an empty list or map; the number 0 and false are not empty."""
    if isinstance(operand, ast.Constant) and not isinstance(operand.value, (str, type(None))):
        raise JuelError(f"'empty {operand.value!r}' asks whether a number or a truth value is "
                        "empty, which it never is; apply 'empty' to a variable.", "'empty'")
    return ast.BoolOp(op=ast.And(), values=[
        ast.UnaryOp(op=ast.Not(), operand=operand),
        ast.Compare(left=operand, ops=[ast.NotEq()], comparators=[ast.Constant(0)]),
    ])
