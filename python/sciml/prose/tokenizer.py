"""Prefix-notation tokenizer for systems of sympy expressions, in the style of PROSE."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import sympy

PAD = "<PAD>"
BOS = "<BOS>"
EOS = "<EOS>"
PLACEHOLDER_TOKEN = "<PLACEHOLDER>"
SEPARATOR = "|"
SPECIAL_TOKENS = (PAD, BOS, EOS, PLACEHOLDER_TOKEN, SEPARATOR)

#: The symbol that stands for an unknown constant in a skeleton.
PLACEHOLDER = sympy.Symbol(PLACEHOLDER_TOKEN)

BINARY_OPERATORS = ("add", "sub", "mul", "div", "pow")
#: Unary token -> sympy function (neg, inv and sqrt are built from Mul and Pow).
FUNCTIONS: dict[str, Any] = {
    "abs": sympy.Abs,
    "exp": sympy.exp,
    "log": sympy.log,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "arcsin": sympy.asin,
    "arccos": sympy.acos,
    "arctan": sympy.atan,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "tanh": sympy.tanh,
}
UNARY_OPERATORS = ("neg", "inv", "sqrt", *FUNCTIONS)
_FUNCTION_TOKEN = {f: name for name, f in FUNCTIONS.items()}

MAX_INT = 10  # integer tokens -10 ... 10
PRECISION = 3  # significant digits of a float's mantissa
MAX_EXPONENT = 10  # float exponent tokens E-10 ... E10
MAX_POWER = 10  # largest |exponent| a decoded pow may have
MAX_POWER_GROWTH = 100  # largest product of |exponents| of nested pows in a decoded expression
MAX_CONSTANT_DEPTH = 6  # deepest sub-expression without a symbol in a decoded expression
# what a decoded sub-expression holds: constants only, constants and functions, or a symbol
_ALGEBRAIC, _TRANSCENDENTAL, _VARIABLE = 0, 1, 2


def variables(dim: int) -> tuple[sympy.Symbol, ...]:
    """The state symbols ``u_0 ... u_{dim-1}`` used by the tokenizer and the ODE systems."""
    return tuple(sympy.Symbol(f"u_{i}") for i in range(dim))


def round_significant(x: Any, digits: int = PRECISION) -> np.ndarray:
    """``x`` (array-like of floats, any shape) rounded to ``digits`` significant digits.

    The result (float64, same shape) is what the float tokens of a value decode to.
    """
    a = np.asarray(x, dtype=np.float64)
    flat = [float(f"{v:.{digits - 1}e}") for v in a.ravel().tolist()]
    return np.asarray(flat, dtype=np.float64).reshape(a.shape)


class ExpressionTokenizer:
    """Writes systems of sympy expressions as prefix token sequences and reads them back.

    Tokens: the binary operators ``add sub mul div pow``; the unary operators ``neg inv sqrt``
    and the functions of :data:`FUNCTIONS`; the variables ``u_0 ... u_{max_dim-1}``; the
    integers ``-10 ... 10``; ``pi``; floats as three tokens (sign ``+``/``-``, a
    3-significant-digit mantissa ``N000 ... N999`` and an exponent ``E-10 ... E10``, the value
    being ``sign * mantissa * 10**exponent``, e.g. 1.25 is ``+ N125 E-2``); ``<PLACEHOLDER>``
    for an unknown constant of a skeleton; ``|`` between the components of a system; and
    ``<PAD> <BOS> <EOS>``. Sums and products are folded to the left (``a + b + c`` is
    ``add add a b c``); a term with a negative rational coefficient is subtracted; a factor
    with a negative power goes to a denominator (``div``, or ``inv`` without a numerator).

    :meth:`decode` never raises and never runs sympy's automatic simplification: it builds
    unevaluated expressions (``evaluate=False``) and rejects, by returning ``None``, any
    sequence that is not a valid system, longer than ``max_len`` tokens, nested deeper than
    ``max_depth``, with a ``pow`` whose exponent is not a literal number of magnitude at
    most 10, with nested powers whose exponents multiply to more than 100, with a function of
    a constant argument that itself holds a function (such as ``log(log(3))``), or with a
    constant sub-expression (one without a symbol) deeper than 6 or that is not a finite
    real number in float64 (``1/0``, ``log(-1)``, ``exp(1000)``): sympy's printers
    re-evaluate powers and ``evalf`` constant terms, and these would make even ``str()`` of
    the result fail or run for minutes.

    Args:
        max_dim: number of variable tokens ``u_0 ... u_{max_dim-1}``.
        max_len: longest token sequence (without ``<BOS>``/``<EOS>``/padding) encoded or decoded.
        max_depth: deepest expression tree decoded.
    """

    def __init__(self, max_dim: int = 8, max_len: int = 512, max_depth: int = 64) -> None:
        for name, v in (("max_dim", max_dim), ("max_len", max_len), ("max_depth", max_depth)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        self.max_dim = max_dim
        self.max_len = max_len
        self.max_depth = max_depth
        self.vocab: list[str] = [
            *SPECIAL_TOKENS,
            *BINARY_OPERATORS,
            *UNARY_OPERATORS,
            *(f"u_{i}" for i in range(max_dim)),
            *(str(i) for i in range(-MAX_INT, MAX_INT + 1)),
            "pi",
            "+",
            "-",
            *(f"N{i:0{PRECISION}d}" for i in range(10**PRECISION)),
            *(f"E{i}" for i in range(-MAX_EXPONENT, MAX_EXPONENT + 1)),
        ]
        self.token_to_id: dict[str, int] = {t: i for i, t in enumerate(self.vocab)}
        self._variables = variables(max_dim)
        self._variable_token = {s: f"u_{i}" for i, s in enumerate(self._variables)}

    # ----------------------------------------------------------------- vocabulary

    def __len__(self) -> int:
        return len(self.vocab)

    @property
    def pad_id(self) -> int:
        return self.token_to_id[PAD]

    @property
    def bos_id(self) -> int:
        return self.token_to_id[BOS]

    @property
    def eos_id(self) -> int:
        return self.token_to_id[EOS]

    @property
    def placeholder_id(self) -> int:
        return self.token_to_id[PLACEHOLDER_TOKEN]

    def tokens_to_ids(self, tokens: Sequence[str]) -> list[int]:
        """Token ids (ints) of ``tokens``; ValueError names an unknown token."""
        try:
            return [self.token_to_id[t] for t in tokens]
        except KeyError as e:
            raise ValueError(f"unknown token {e.args[0]!r}") from None

    def ids_to_tokens(self, ids: Sequence[int]) -> list[str]:
        """Tokens of the ids ``ids``; ValueError names an id outside ``0 ... len(self)-1``."""
        out = []
        for i in ids:
            if not 0 <= int(i) < len(self.vocab):
                raise ValueError(f"token id {i} outside the vocabulary of {len(self.vocab)}")
            out.append(self.vocab[int(i)])
        return out

    # ------------------------------------------------------------------- encoding

    def encode(self, system: sympy.Expr | Sequence[sympy.Expr]) -> list[str]:
        """Tokens of a system (one expression per component), components joined by ``|``.

        A bare expression is a system of one component. No ``<BOS>``/``<EOS>`` is added.

        Raises:
            TypeError: an element is not a sympy expression or a number.
            ValueError: a symbol other than ``u_i`` (i < max_dim) or the placeholder, an
                unsupported function, a non-numeric or too large power, a number that is not
                finite or above 9.99e12, or more than ``max_len`` tokens.
        """
        return self._encode(system, skeleton=False)

    def encode_ids(
        self, system: sympy.Expr | Sequence[sympy.Expr], bos_eos: bool = True
    ) -> list[int]:
        """Token ids of :meth:`encode`, wrapped in ``<BOS> ... <EOS>`` unless ``bos_eos=False``."""
        ids = self.tokens_to_ids(self.encode(system))
        return [self.bos_id, *ids, self.eos_id] if bos_eos else ids

    def skeleton_tokens(self, system: sympy.Expr | Sequence[sympy.Expr]) -> list[str]:
        """:meth:`encode` with every float-written constant replaced by ``<PLACEHOLDER>``.

        Float-written constants are floats, integers outside -10...10 and rationals that are
        not a small fraction p/q (``|p|, q <= 10``); the exponents of ``pow`` stay as they are.
        """
        return self._encode(system, skeleton=True)

    def skeleton(self, expr: sympy.Expr | Sequence[sympy.Expr]) -> Any:
        """The skeleton of an expression (or of a list of them): every float-written constant
        replaced by :data:`PLACEHOLDER`, as in :meth:`skeleton_tokens`. Returns unevaluated
        sympy expressions, one per input expression (a list for a list)."""
        single = isinstance(expr, sympy.Basic) or not isinstance(expr, Sequence)
        system = [expr] if single else list(expr)
        out = self.decode(self.skeleton_tokens(system))
        if out is None:  # pragma: no cover - encode's output always decodes
            raise ValueError(f"could not rebuild the skeleton of {expr}")
        return out[0] if single else out

    def _encode(self, system: Any, skeleton: bool) -> list[str]:
        if isinstance(system, str):
            raise TypeError("a system is a list of sympy expressions, not a string")
        if isinstance(system, (sympy.Basic, int, float)) or not isinstance(system, Sequence):
            system = [system]
        if len(system) == 0:
            raise ValueError("a system needs at least one expression")
        tokens: list[str] = []
        for i, e in enumerate(system):
            if isinstance(e, str):
                raise TypeError(f"component {i} is a string; give sympy expressions")
            try:
                e = sympy.sympify(e, strict=True)
            except sympy.SympifyError:
                raise TypeError(f"component {i} is not a sympy expression: {e!r}") from None
            if i:
                tokens.append(SEPARATOR)
            tokens.extend(self._expr(e, skeleton))
        if len(tokens) > self.max_len:
            raise ValueError(
                f"the system needs {len(tokens)} tokens, more than max_len={self.max_len}"
            )
        start = 0
        for end in [*(i for i, t in enumerate(tokens) if t == SEPARATOR), len(tokens)]:
            if self._parse(tokens[start:end], self.max_dim, build=False) is None:
                raise ValueError(
                    f"{system[0] if len(system) == 1 else system} is beyond what decode "
                    f"accepts: deeper than max_depth={self.max_depth}, nested powers whose "
                    f"exponents multiply to more than {MAX_POWER_GROWTH}, a function of a "
                    "constant that holds a function, or a constant deeper than "
                    f"{MAX_CONSTANT_DEPTH} or not finite"
                )
            start = end + 1
        return tokens

    def _expr(self, e: sympy.Basic, skel: bool) -> list[str]:
        if e.is_Symbol:
            if e == PLACEHOLDER:
                return [PLACEHOLDER_TOKEN]
            if e in self._variable_token:
                return [self._variable_token[e]]
            raise ValueError(f"unknown symbol {e}: only u_0 ... u_{self.max_dim - 1} are tokens")
        if e.is_Number or e.is_NumberSymbol:
            return self._number(e, skel)
        if e.is_Add:
            return self._add(e, skel)
        if e.is_Mul:
            return self._mul(e, skel)
        if e.is_Pow:
            return self._pow(e, skel)
        if isinstance(e, sympy.Function) and e.func in _FUNCTION_TOKEN and len(e.args) == 1:
            return [_FUNCTION_TOKEN[e.func], *self._expr(e.args[0], skel)]
        raise ValueError(f"cannot tokenize {type(e).__name__} in {e}")

    def _number(self, e: sympy.Basic, skel: bool) -> list[str]:
        if e is sympy.pi:
            return ["pi"]
        if e is sympy.E:
            return ["exp", "1"]
        if e.is_Integer and abs(int(e)) <= MAX_INT:
            return [str(int(e))]
        if e.is_Rational and not e.is_Integer and abs(e.p) <= MAX_INT and e.q <= MAX_INT:
            return ["div", str(e.p), str(e.q)]
        if e.is_Number and not e.is_finite:
            raise ValueError(f"cannot tokenize the non-finite number {e}")
        return [PLACEHOLDER_TOKEN] if skel else self.float_tokens(float(e))

    def float_tokens(self, value: float) -> list[str]:
        """The three tokens of ``value`` rounded to 3 significant digits (see the class doc).

        Values below 1e-8 in magnitude are written as zero. Raises ValueError for a value
        that is not finite or whose magnitude is above 9.99e12.
        """
        if not math.isfinite(value):
            raise ValueError(f"cannot tokenize the non-finite number {value}")
        mantissa, exponent = f"{abs(value):.{PRECISION - 1}e}".split("e")
        digits = mantissa.replace(".", "")
        power = int(exponent) - (PRECISION - 1)
        if digits == "0" * PRECISION or power < -MAX_EXPONENT:
            return ["+", "N" + "0" * PRECISION, "E0"]
        if power > MAX_EXPONENT:
            raise ValueError(f"{value} is too large for the float tokens (|x| <= 9.99e12)")
        return ["-" if value < 0 else "+", "N" + digits, f"E{power}"]

    @staticmethod
    def _negative_rational(e: sympy.Basic) -> bool:
        """Whether ``e`` is written as the negation of something (sub or neg)."""
        if e.is_Rational:
            return bool(e.is_negative)
        return bool(e.is_Mul and e.args and e.args[0].is_Rational and e.args[0].is_negative)

    @staticmethod
    def _negated(e: sympy.Basic) -> sympy.Basic:
        """``-e`` for an ``e`` with :meth:`_negative_rational`, built without evaluation."""
        if e.is_Rational:
            return -e
        c, rest = e.args[0], e.args[1:]
        if c is sympy.S.NegativeOne:
            return rest[0] if len(rest) == 1 else sympy.Mul(*rest, evaluate=False)
        return sympy.Mul(-c, *rest, evaluate=False)

    def _add(self, e: sympy.Basic, skel: bool) -> list[str]:
        terms = list(e.args)
        ops: list[str] = []
        body = self._expr(terms[0], skel)
        for t in terms[1:]:
            if self._negative_rational(t):
                ops.append("sub")
                body += self._expr(self._negated(t), skel)
            else:
                ops.append("add")
                body += self._expr(t, skel)
        return ops[::-1] + body

    def _mul(self, e: sympy.Basic, skel: bool) -> list[str]:
        if self._negative_rational(e):
            return ["neg", *self._expr(self._negated(e), skel)]
        numerator: list[sympy.Basic] = []
        denominator: list[sympy.Basic] = []
        for f in e.args:
            if f.is_Pow and f.exp.is_Number and f.exp.is_negative:
                denominator.append(
                    f.base
                    if f.exp is sympy.S.NegativeOne
                    else sympy.Pow(f.base, -f.exp, evaluate=False)
                )
            elif f.is_Rational and not f.is_Integer and abs(f.p) <= MAX_INT and f.q <= MAX_INT:
                if f.p != 1:
                    numerator.append(sympy.Integer(f.p))
                denominator.append(sympy.Integer(f.q))
            else:
                numerator.append(f)
        if not denominator:
            return self._product(numerator, skel)
        if not numerator:
            return ["inv", *self._product(denominator, skel)]
        return ["div", *self._product(numerator, skel), *self._product(denominator, skel)]

    def _product(self, factors: list[sympy.Basic], skel: bool) -> list[str]:
        tokens = ["mul"] * (len(factors) - 1)
        for f in factors:
            tokens += self._expr(f, skel)
        return tokens

    def _pow(self, e: sympy.Basic, skel: bool) -> list[str]:
        base, ex = e.args
        if not ex.is_Number:
            raise ValueError(f"cannot tokenize {e}: the exponent of a power must be a number")
        if ex.is_negative:
            inner = base if ex is sympy.S.NegativeOne else sympy.Pow(base, -ex, evaluate=False)
            return ["inv", *self._expr(inner, skel)]
        if ex.is_Rational and ex == sympy.S.Half:
            return ["sqrt", *self._expr(base, skel)]
        if abs(float(ex)) > MAX_POWER:
            raise ValueError(f"cannot tokenize {e}: |exponent| above {MAX_POWER}")
        if ex.is_Integer:
            return ["pow", *self._expr(base, skel), str(int(ex))]
        return ["pow", *self._expr(base, skel), *self.float_tokens(float(ex))]

    # ------------------------------------------------------------------- decoding

    def decode(self, tokens: Any, dim: int | None = None) -> list[sympy.Expr] | None:
        """The system (list of unevaluated sympy expressions) that ``tokens`` write, or None.

        ``tokens`` are strings or token ids (a list, array or tensor). A leading ``<BOS>``
        is skipped and everything from the first ``<EOS>`` on (or trailing ``<PAD>``) ignored.
        With ``dim``, the system must have exactly ``dim`` components in ``u_0 ... u_{dim-1}``.
        Never raises: every invalid, too long, too deep or unsafe sequence gives None.
        """
        try:
            return self._decode(tokens, dim)
        except Exception:  # decode's contract: an invalid input gives None, never an error
            return None

    def decode_ids(self, ids: Any, dim: int | None = None) -> list[sympy.Expr] | None:
        """:meth:`decode` of token ids (same as ``decode``, which accepts ids too)."""
        return self.decode(ids, dim)

    def _decode(self, tokens: Any, dim: int | None) -> list[sympy.Expr] | None:
        if hasattr(tokens, "tolist"):
            tokens = tokens.tolist()
        if isinstance(tokens, str) or not isinstance(tokens, Sequence):
            return None
        seq: list[str] = []
        for t in tokens:
            if isinstance(t, (int, np.integer)) and not isinstance(t, bool):
                if not 0 <= t < len(self.vocab):
                    return None
                t = self.vocab[t]
            if not isinstance(t, str):
                return None
            if t == EOS:
                break
            seq.append(t)
            if len(seq) > self.max_len + 1:
                return None
        if seq and seq[0] == BOS:
            seq = seq[1:]
        while seq and seq[-1] == PAD:
            seq.pop()
        if not seq or len(seq) > self.max_len:
            return None
        components: list[list[str]] = [[]]
        for t in seq:
            if t == SEPARATOR:
                components.append([])
            else:
                components[-1].append(t)
        if dim is not None and len(components) != dim:
            return None
        n_vars = self.max_dim if dim is None else min(dim, self.max_dim)
        out = []
        for comp in components:
            e = self._parse(comp, n_vars)
            if e is None:
                return None
            out.append(e)
        return out

    def _parse(self, tokens: list[str], n_vars: int, build: bool = True) -> Any:
        """One prefix expression, read right to left with a stack (no recursion).

        Each stack entry is an :class:`_Entry`; with ``build=False`` no sympy object is made
        and the result is True for a valid sequence (what :meth:`encode` checks).
        """
        items: list[tuple[str, Any]] = []  # ("op", token) or ("leaf", (expr, literal value))
        i = 0
        while i < len(tokens):
            t = tokens[i]
            if t in ("+", "-"):
                leaf = self._float_leaf(tokens[i : i + 3])
                if leaf is None:
                    return None
                items.append(("leaf", leaf))
                i += 3
                continue
            leaf = self._simple_leaf(t, n_vars)
            if leaf is not None:
                items.append(("leaf", leaf))
            elif t in BINARY_OPERATORS or t in UNARY_OPERATORS:
                items.append(("op", t))
            else:
                return None
            i += 1
        stack: list[_Entry] = []
        for kind, item in reversed(items):
            if kind == "leaf":
                expr, literal = item
                value = float(sympy.pi) if expr is sympy.pi else literal
                content = _VARIABLE if expr.is_Symbol else _ALGEBRAIC
                stack.append(_Entry(expr, 1, literal, 1.0, content, value))
                continue
            arity = 2 if item in BINARY_OPERATORS else 1
            if len(stack) < arity:
                return None
            args = [stack.pop() for _ in range(arity)]
            depth = 1 + max(a.depth for a in args)
            growth = max(a.growth for a in args)
            # _VARIABLE if any child holds a symbol, else _TRANSCENDENTAL if one holds a function
            content = max(a.content for a in args)
            if item == "pow":
                # only literal, small exponents: (2*u_0)**(10**10) must never reach sympy, and
                # towers such as ((10**10)**10)**10 are refused before a printer evaluates them
                exponent = args[1].literal
                if exponent is None or not abs(exponent) <= MAX_POWER:
                    return None
                growth = args[0].growth * max(1.0, abs(exponent))
            elif item in FUNCTIONS and content != _VARIABLE:
                # sympy's printers evalf constant terms: log(log(log(3))) makes evalf raise
                # its precision for minutes, so functions of constants must not nest
                if content == _TRANSCENDENTAL:
                    return None
                content = _TRANSCENDENTAL
            if depth > self.max_depth or growth > MAX_POWER_GROWTH:
                return None
            if item == "div" and args[1].content != _VARIABLE:
                # the Pow(denominator, -1) that div builds is a constant the printers evaluate
                if _constant_value("inv", [args[1].value]) is None:
                    return None
            value = None
            if content != _VARIABLE:
                # a constant must be a shallow finite real number: the printers evalf it, which
                # fails on 1/0, log(0) or sqrt(-1) and takes time exponential in its depth
                if depth > MAX_CONSTANT_DEPTH:
                    return None
                value = _constant_value(item, [a.value for a in args])
                if value is None:
                    return None
            node = self._node(item, [a.expr for a in args]) if build else None
            stack.append(_Entry(node, depth, None, growth, content, value))
        if len(stack) != 1:
            return None
        return stack[0].expr if build else True

    def _simple_leaf(self, t: str, n_vars: int) -> tuple[sympy.Basic, float | None] | None:
        if t == PLACEHOLDER_TOKEN:
            return PLACEHOLDER, None
        if t == "pi":
            return sympy.pi, None
        if t.startswith("u_") and t in self.token_to_id:
            k = int(t[2:])
            return (self._variables[k], None) if k < n_vars else None
        if t.lstrip("-").isdigit() and t in self.token_to_id:
            return sympy.Integer(int(t)), float(int(t))
        return None

    def _float_leaf(self, triple: list[str]) -> tuple[sympy.Basic, float] | None:
        if len(triple) != 3 or triple[0] not in ("+", "-"):
            return None
        mantissa, exponent = triple[1], triple[2]
        if mantissa not in self.token_to_id or not mantissa.startswith("N"):
            return None
        if exponent not in self.token_to_id or not exponent.startswith("E"):
            return None
        sign = "-" if triple[0] == "-" else ""
        text = f"{sign}{int(mantissa[1:])}e{int(exponent[1:])}"
        return sympy.Float(text), float(text)

    @staticmethod
    def _node(op: str, args: list[Any]) -> sympy.Basic:
        a = args[0]
        if op == "add":
            return sympy.Add(a, args[1], evaluate=False)
        if op == "sub":
            return sympy.Add(
                a, sympy.Mul(sympy.S.NegativeOne, args[1], evaluate=False), evaluate=False
            )
        if op == "mul":
            return sympy.Mul(a, args[1], evaluate=False)
        if op == "div":
            return sympy.Mul(
                a, sympy.Pow(args[1], sympy.S.NegativeOne, evaluate=False), evaluate=False
            )
        if op == "pow":
            return sympy.Pow(a, args[1], evaluate=False)
        if op == "neg":
            return sympy.Mul(sympy.S.NegativeOne, a, evaluate=False)
        if op == "inv":
            return sympy.Pow(a, sympy.S.NegativeOne, evaluate=False)
        if op == "sqrt":
            return sympy.Pow(a, sympy.S.Half, evaluate=False)
        return FUNCTIONS[op](a, evaluate=False)


class _Entry(NamedTuple):
    """A decoded sub-expression and what :meth:`ExpressionTokenizer._parse` knows of it."""

    expr: Any  # the sympy expression (None when only checking)
    depth: int
    literal: float | None  # the value of a number token or float triple, else None
    growth: float  # product of the |exponents| of the powers nested in it
    content: int  # _ALGEBRAIC, _TRANSCENDENTAL or _VARIABLE
    value: float | None  # its value when constant (no symbol), else None


_MATH: dict[str, Callable[[float], float]] = {
    "neg": lambda a: -a,
    "inv": lambda a: 1.0 / a,
    "sqrt": math.sqrt,
    "abs": abs,
    "exp": math.exp,
    "log": math.log,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "arcsin": math.asin,
    "arccos": math.acos,
    "arctan": math.atan,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "tanh": math.tanh,
}


def _constant_value(op: str, args: list[float | None]) -> float | None:
    """The float value of ``op`` applied to constants, or None if it is not a finite real."""
    try:
        a = args[0]
        if a is None:
            return None
        if op in _MATH:
            v = _MATH[op](a)
        else:
            b = args[1]
            if b is None:
                return None
            if op == "add":
                v = a + b
            elif op == "sub":
                v = a - b
            elif op == "mul":
                v = a * b
            elif op == "div":
                v = a / b
            else:
                v = math.pow(a, b)
    except (ArithmeticError, ValueError):
        return None
    return v if isinstance(v, float) and math.isfinite(v) else None
