"""The small language of a task's label and of where the label can be known.

A rule is read by a tokenizer and a recursive-descent parser, never by Python's eval:
nothing in it can call a function or reach a name outside the data's columns.

    rule       := comparison | membership | presence | sum
    comparison := sum ('>' | '>=' | '<' | '<=' | '==' | '!=') sum
    membership := sum 'in' '(' literal (',' literal)* ')'
    presence   := COLUMN 'is' ['not'] 'missing'
    sum        := product (('+' | '-') product)*
    product    := atom (('*' | '/') atom)*
    atom       := COLUMN | NUMBER | TEXT | '(' sum ')'

A COLUMN is a name (`arr_delay`, `status`) or any text in backquotes (`` `arrival delay` ``);
TEXT is in single or double quotes. A rule is evaluated by a backend that knows how to
read a column and compare values (numpy arrays here, tensors in the Transform), so the
same rule gives the label in training, in the drift gate and in monitoring.

The columns a label reads on the left of its comparison (or a lone column) are its
outcomes: known only after the fact, never model inputs. Columns on the right
(`paid > 0.2 * price`: price) are references, which may be model inputs.
"""
import re
from dataclasses import dataclass
from typing import Tuple


class RuleError(ValueError):
    """A rule that cannot be read: `position` is the 0-based character it failed at."""

    def __init__(self, text: str, position: int, why: str):
        self.text, self.position, self.why = text, position, why
        super().__init__(f"{why} at character {position + 1} of {text!r}")

    def pointed(self) -> str:
        """The rule with a caret under the character it failed at."""
        return f"{self.text}\n{' ' * self.position}^ {self.why}"


COMPARISONS = (">=", "<=", "==", "!=", ">", "<")
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<text>'[^']*'|"[^"]*")
  | (?P<quoted>`[^`]+`)
  | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<op>>=|<=|==|!=|[><()*/+,-])
""", re.VERBOSE)
KEYWORDS = {"in", "is", "not", "missing"}


@dataclass(frozen=True)
class Token:
    kind: str   # number, text, column, op, keyword, end
    value: object
    position: int


def tokenize(text: str) -> list:
    tokens, at = [], 0
    while at < len(text):
        found = _TOKEN.match(text, at)
        if found is None:
            raise RuleError(text, at, f"unexpected {text[at]!r}")
        kind, raw = found.lastgroup, found.group()
        if kind == "number":
            tokens.append(Token("number", float(raw), at))
        elif kind == "text":
            tokens.append(Token("text", raw[1:-1], at))
        elif kind == "quoted":
            tokens.append(Token("column", raw[1:-1], at))
        elif kind == "name":
            tokens.append(Token("keyword" if raw in KEYWORDS else "column", raw, at))
        elif kind == "op":
            tokens.append(Token("op", raw, at))
        at = found.end()
    tokens.append(Token("end", None, len(text)))
    return tokens


# --- the parsed form: small immutable nodes ----------------------------------------------

@dataclass(frozen=True)
class Column:
    name: str
    position: int


@dataclass(frozen=True)
class Literal:
    value: object   # float or str
    position: int


@dataclass(frozen=True)
class Arithmetic:
    op: str
    left: object
    right: object
    position: int


@dataclass(frozen=True)
class Compare:
    op: str
    left: object
    right: object
    position: int


@dataclass(frozen=True)
class Member:
    left: object
    values: Tuple[Literal, ...]
    position: int


@dataclass(frozen=True)
class Missing:
    column: Column
    negated: bool
    position: int


class _Parser:
    def __init__(self, text: str):
        self.text, self.tokens, self.at = text, tokenize(text), 0

    def peek(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def fail(self, token: Token, why: str):
        raise RuleError(self.text, token.position, why)

    def expect(self, kind: str, value=None) -> Token:
        token = self.take()
        if token.kind != kind or (value is not None and token.value != value):
            wanted = repr(value) if value is not None else f"a {kind}"
            self.fail(token, f"expected {wanted}, found {_shown(token)}")
        return token

    def rule(self):
        if not self.text.strip():
            self.fail(self.peek(), "the rule is empty")
        left = self.sum()
        token = self.peek()
        if token.kind == "op" and token.value in COMPARISONS:
            self.take()
            node = Compare(token.value, left, self.sum(), token.position)
        elif token.kind == "keyword" and token.value == "in":
            self.take()
            node = Member(left, self.literals(), token.position)
        elif token.kind == "keyword" and token.value == "is":
            node = self.presence(left, self.take())
        else:
            node = left
        end = self.peek()
        if end.kind != "end":
            self.fail(end, f"expected the end of the rule, found {_shown(end)}")
        return node

    def presence(self, left, token: Token):
        if not isinstance(left, Column):
            self.fail(token, "'is missing' applies to a column")
        negated = self.peek().kind == "keyword" and self.peek().value == "not"
        if negated:
            self.take()
        self.expect("keyword", "missing")
        return Missing(left, negated, token.position)

    def literals(self) -> tuple:
        self.expect("op", "(")
        values = [self.literal()]
        while self.peek().kind == "op" and self.peek().value == ",":
            self.take()
            values.append(self.literal())
        self.expect("op", ")")
        return tuple(values)

    def literal(self) -> Literal:
        token = self.take()
        if token.kind == "op" and token.value == "-" and self.peek().kind == "number":
            return Literal(-self.take().value, token.position)
        if token.kind not in ("number", "text"):
            self.fail(token, f"expected a number or a quoted text, found {_shown(token)}")
        return Literal(token.value, token.position)

    def sum(self):
        node = self.product()
        while self.peek().kind == "op" and self.peek().value in "+-":
            token = self.take()
            node = Arithmetic(token.value, node, self.product(), token.position)
        return node

    def product(self):
        node = self.atom()
        while self.peek().kind == "op" and self.peek().value in "*/":
            token = self.take()
            node = Arithmetic(token.value, node, self.atom(), token.position)
        return node

    def atom(self):
        token = self.take()
        if token.kind == "column":
            return Column(token.value, token.position)
        if token.kind in ("number", "text"):
            return Literal(token.value, token.position)
        if token.kind == "op" and token.value == "-" and self.peek().kind == "number":
            return Literal(-self.take().value, token.position)
        if token.kind == "op" and token.value == "(":
            node = self.sum()
            self.expect("op", ")")
            return node
        self.fail(token, f"expected a column, a number or a quoted text, found {_shown(token)}")


def _shown(token: Token) -> str:
    if token.kind == "end":
        return "the end of the rule"
    if token.kind == "text":
        return f"the text {token.value!r}"
    return repr(token.value if token.kind != "number" else f"{token.value:g}")


@dataclass(frozen=True)
class Rule:
    """A parsed rule and the columns it reads."""
    text: str
    tree: object

    @property
    def columns(self) -> list:
        """Every column the rule reads, in the order it names them."""
        return list(dict.fromkeys(c.name for c in _columns(self.tree)))

    @property
    def outcomes(self) -> list:
        """The columns on the left of the comparison (or the lone column): a label's outcomes."""
        tree = self.tree
        left = tree.left if isinstance(tree, (Compare, Member)) else tree.column if isinstance(tree, Missing) else tree
        return list(dict.fromkeys(c.name for c in _columns(left)))

    @property
    def is_test(self) -> bool:
        """Whether the rule says yes or no (a comparison, membership or presence test)
        rather than giving a value."""
        return isinstance(self.tree, (Compare, Member, Missing))

    def column_uses(self):
        """(column, position, how) for each use: how is "number", "text" or "any"."""
        return list(_uses(self.tree))

    def evaluate(self, backend):
        return _evaluate(self.tree, backend)


def parse(text: str) -> Rule:
    return Rule(text, _Parser(text).rule())


def _columns(node):
    if isinstance(node, Column):
        yield node
    elif isinstance(node, (Arithmetic, Compare)):
        yield from _columns(node.left)
        yield from _columns(node.right)
    elif isinstance(node, Member):
        yield from _columns(node.left)
    elif isinstance(node, Missing):
        yield node.column


def _literal_kind(values) -> str:
    kinds = {"text" if isinstance(v.value, str) else "number" for v in values}
    return kinds.pop() if len(kinds) == 1 else "mixed"


def _uses(node, how="any"):
    """What each column is used as: arithmetic wants numbers; a comparison or membership
    wants the kind of the literal it is compared with."""
    if isinstance(node, Column):
        yield node.name, node.position, how
    elif isinstance(node, Arithmetic):
        yield from _uses(node.left, "number")
        yield from _uses(node.right, "number")
    elif isinstance(node, Compare):
        sides = (node.left, node.right)
        literal = [s for s in sides if isinstance(s, Literal)]
        wanted = _literal_kind(literal) if literal else ("number" if node.op not in ("==", "!=") else "any")
        if node.op not in ("==", "!=") and wanted != "text":
            wanted = "number"
        for side in sides:
            yield from _uses(side, wanted)
    elif isinstance(node, Member):
        yield from _uses(node.left, _literal_kind(node.values))
    elif isinstance(node, Missing):
        yield node.column.name, node.column.position, "any"


def _evaluate(node, backend):
    if isinstance(node, Column):
        return backend.column(node.name)
    if isinstance(node, Literal):
        return backend.constant(node.value)
    if isinstance(node, Arithmetic):
        return backend.arithmetic(node.op, _evaluate(node.left, backend), _evaluate(node.right, backend))
    if isinstance(node, Compare):
        return backend.compare(node.op, _evaluate(node.left, backend), _evaluate(node.right, backend))
    if isinstance(node, Member):
        return backend.member(_evaluate(node.left, backend), [v.value for v in node.values])
    missing = backend.missing(node.column.name)
    return backend.negate(missing) if node.negated else missing


class NumpyBackend:
    """Columns as numpy arrays: numbers with NaN where missing (read as 0 by arithmetic
    and comparisons, as the Transform reads a missing number), text as an object array
    with None or "" where missing. Numbers are compared in float32, as the Transform
    compares them, so a value at a rule's boundary gets the same label in both."""

    def __init__(self, columns: dict):
        self.columns = columns

    def column(self, name):
        import numpy as np

        values = np.asarray(self.columns[name])
        if values.dtype.kind in "fiub":
            return np.nan_to_num(values.astype(np.float32), nan=0.0)
        return np.asarray(["" if v is None else str(v) for v in values], dtype=object)

    def constant(self, value):
        return value

    def arithmetic(self, op, a, b):
        import numpy as np

        if op == "/":
            return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape, dtype=np.float32), where=np.asarray(b) != 0)
        return {"+": np.add, "-": np.subtract, "*": np.multiply}[op](a, b)

    def compare(self, op, a, b):
        import operator

        import numpy as np

        fn = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
              "==": operator.eq, "!=": operator.ne}[op]
        return np.asarray(fn(a, b), dtype=bool)

    def member(self, a, values):
        import numpy as np

        return np.isin(a, np.asarray(values, dtype=object if any(isinstance(v, str) for v in values) else float))

    def missing(self, name):
        import numpy as np

        values = np.asarray(self.columns[name])
        if values.dtype.kind == "f":
            return np.isnan(values)
        if values.dtype.kind in "iub":
            return np.zeros(values.shape, dtype=bool)
        return np.asarray([v is None or v == "" for v in values], dtype=bool)

    def negate(self, mask):
        import numpy as np

        return np.logical_not(mask)
