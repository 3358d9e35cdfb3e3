"""A static index of the installed 3LC package, built with `ast` (never imported: `import tlc` needs an online
API key check), and a checker for the `tlc` names and keyword arguments that `curation/backends/tlc/client.py` uses.

    index = ApiIndex.installed()               # finds site-packages/tlc without importing it
    index.resolve("tlc.Table.from_pandas")     # -> Target(kind="staticmethod", qualname=..., signature=...)
    index.call_signature("tlc.schemas.StringSchema")   # the constructor's parameters (self dropped)
    check_usages(index, adapter_usages(source_text))   # -> ["line 12: tlc.Foo: no such name ...", ...]
    check_usages(index, instance_usages(source_text, {"tlc.Table": ("latest",)}))  # t.latest(timeout=0) in TlcClient

Resolution follows what Python does at run time, statically: names defined in a module, `from x import y [as z]`
re-exports (relative and absolute, into sibling packages such as `tlcurl`), `import x.y as z`, star imports
(honouring `__all__`), submodules, class members and `self.x = ...` attributes through base classes.
`if TYPE_CHECKING:` blocks are skipped because they bind nothing at run time. `@overload` stubs are skipped; the
implementation that follows them gives the signature.
"""
from __future__ import annotations

import ast
import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "tlc"
_NO_DEFAULT = inspect.Parameter.empty


class _Default:
    """Placeholder default value: only whether a parameter has a default matters for binding."""

    def __repr__(self) -> str:
        return "..."


_DEFAULT = _Default()


def find_site_packages(package: str = PACKAGE) -> Path | None:
    """The directory holding `package/__init__.py`, searched on sys.path (the package is not imported)."""
    for entry in sys.path:
        candidate = Path(entry or ".") / package / "__init__.py"
        if candidate.is_file():
            return candidate.parent.parent
    return None


# -- records -------------------------------------------------------------------------------------------------------
@dataclass
class Target:
    """What a dotted name resolves to."""

    kind: str  # module | class | function | method | staticmethod | classmethod | property | attribute | external
    qualname: str  # where it is defined, e.g. tlc._core.objects.table.Table.from_pandas
    signature: inspect.Signature | None = None  # for functions and methods, as written (self included)
    node: ast.AST | None = field(default=None, repr=False)
    module: str = ""  # the defining module

    @property
    def location(self) -> str:
        return self.qualname


@dataclass
class _Module:
    name: str
    path: Path
    is_package: bool
    tree: ast.Module
    bindings: dict[str, tuple] = field(default_factory=dict)  # name -> ("def", node) | ("attr",) | ("import", m, n)
    stars: list[str] = field(default_factory=list)  # modules star-imported, in order
    all_names: list[str] | None = None
    has_getattr: bool = False


def signature_from_ast(args: ast.arguments) -> inspect.Signature:
    """An inspect.Signature with the parameter names, kinds and presence of defaults of a def."""
    P = inspect.Parameter
    params = []
    positional = list(args.posonlyargs) + list(args.args)
    first_default = len(positional) - len(args.defaults)
    for i, a in enumerate(positional):
        kind = P.POSITIONAL_ONLY if i < len(args.posonlyargs) else P.POSITIONAL_OR_KEYWORD
        params.append(P(a.arg, kind, default=_DEFAULT if i >= first_default else _NO_DEFAULT))
    if args.vararg:
        params.append(P(args.vararg.arg, P.VAR_POSITIONAL))
    for a, d in zip(args.kwonlyargs, args.kw_defaults):
        params.append(P(a.arg, P.KEYWORD_ONLY, default=_NO_DEFAULT if d is None else _DEFAULT))
    if args.kwarg:
        params.append(P(args.kwarg.arg, P.VAR_KEYWORD))
    return inspect.Signature(params)


def drop_first(sig: inspect.Signature) -> inspect.Signature:
    params = list(sig.parameters.values())
    if params and params[0].kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
        params = params[1:]
    return sig.replace(parameters=params)


def _decorator_names(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    names = set()
    for d in node.decorator_list:
        d = d.func if isinstance(d, ast.Call) else d
        if isinstance(d, ast.Name):
            names.add(d.id)
        elif isinstance(d, ast.Attribute):
            names.add(d.attr)
            if isinstance(d.value, ast.Name) and d.attr in ("setter", "getter", "deleter"):
                names.add("property-accessor")
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_statements(body: list[ast.stmt]):
    """Top-level statements of a module or class body, descending into if/try (not `if TYPE_CHECKING`)."""
    for stmt in body:
        if isinstance(stmt, ast.If):
            if not _is_type_checking(stmt.test):
                yield from _runtime_statements(stmt.body)
            yield from _runtime_statements(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            for part in (stmt.body, *(h.body for h in stmt.handlers), stmt.orelse, stmt.finalbody):
                yield from _runtime_statements(part)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            yield from _runtime_statements(stmt.body)
        else:
            yield stmt


def _target_names(target: ast.expr):
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for elt in target.elts:
            yield from _target_names(elt)


# -- the index -----------------------------------------------------------------------------------------------------
class ApiIndex:
    """Lazily parsed modules of one site-packages directory, and name resolution over them."""

    def __init__(self, site_packages: Path, package: str = PACKAGE):
        self.site = Path(site_packages)
        self.package = package
        self._modules: dict[str, _Module | None] = {}

    @classmethod
    def installed(cls, package: str = PACKAGE) -> ApiIndex:
        site = find_site_packages(package)
        if site is None:
            raise FileNotFoundError(f"package {package!r} not found on sys.path")
        return cls(site, package)

    # -- modules -------------------------------------------------------------------------------------------------
    def module(self, name: str) -> _Module | None:
        if name in self._modules:
            return self._modules[name]
        base = self.site.joinpath(*name.split("."))
        mod = None
        for path, is_pkg in ((base / "__init__.py", True), (base.with_suffix(".py"), False)):
            if path.is_file():
                mod = _Module(name, path, is_pkg, ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
                break
        self._modules[name] = mod
        if mod is not None:
            self._bind(mod)
        return mod

    def module_names(self) -> list[str]:
        """Every module of the package (dotted names), from the files on disk."""
        root = self.site / self.package
        names = []
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(self.site).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            names.append(".".join(parts))
        return names

    def _absolute(self, mod: _Module, level: int, name: str | None) -> str:
        if level == 0:
            return name or ""
        parts = mod.name.split(".")
        if not mod.is_package:
            parts = parts[:-1]
        if level > 1:
            parts = parts[: len(parts) - (level - 1)]
        return ".".join(parts + ([name] if name else []))

    def _bind(self, mod: _Module) -> None:
        for stmt in _runtime_statements(mod.tree.body):
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if isinstance(stmt, ast.ClassDef) or "overload" not in _decorator_names(stmt):
                    mod.bindings[stmt.name] = ("def", stmt)
                if stmt.name == "__getattr__":
                    mod.has_getattr = True
            elif isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    if alias.asname:
                        mod.bindings[alias.asname] = ("import", alias.name, None)
                    else:
                        top = alias.name.split(".")[0]
                        mod.bindings[top] = ("import", top, None)
            elif isinstance(stmt, ast.ImportFrom):
                source = self._absolute(mod, stmt.level, stmt.module)
                for alias in stmt.names:
                    if alias.name == "*":
                        mod.stars.append(source)
                    else:
                        mod.bindings[alias.asname or alias.name] = ("import", source, alias.name)
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                if isinstance(stmt, ast.AnnAssign) and stmt.value is None:
                    continue  # a bare annotation binds nothing
                for t in targets:
                    for n in _target_names(t):
                        mod.bindings[n] = ("attr", stmt)
                        if n == "__all__" and isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                            try:
                                mod.all_names = [str(x) for x in ast.literal_eval(stmt.value)]
                            except ValueError:
                                pass
        # a package's submodules are attributes once imported; resolution falls back to them explicitly

    def exported(self, modname: str, _seen: frozenset = frozenset()) -> set[str]:
        """Names `from modname import *` binds."""
        mod = self.module(modname)
        if mod is None or modname in _seen:
            return set()
        if mod.all_names is not None:
            return set(mod.all_names)
        names = {n for n in mod.bindings if not n.startswith("_")}
        for star in mod.stars:
            names |= self.exported(star, _seen | {modname})
        return names

    # -- resolution ------------------------------------------------------------------------------------------------
    def resolve(self, dotted: str) -> Target | None:
        """Resolve a dotted name such as `tlc.schemas.StringSchema` or `tlc.Table.delete_rows`; None if it does
        not exist in the installed sources."""
        parts = dotted.split(".")
        if self.module(parts[0]) is None:
            return None
        target = Target("module", parts[0], module=parts[0])
        for part in parts[1:]:
            target = self.member(target, part)
            if target is None:
                return None
        return target

    def member(self, target: Target, name: str) -> Target | None:
        if target.kind == "module":
            return self._in_module(target.qualname, name, frozenset())
        if target.kind == "class":
            return self._in_class(target, name, frozenset())
        return None  # attributes of functions, properties and values are not statically known

    def _in_module(self, modname: str, name: str, seen: frozenset) -> Target | None:
        key = (modname, name)
        if key in seen:  # e.g. `from . import schemas` inside tlc/__init__.py: the submodule, as Python does
            sub = f"{modname}.{name}"
            return Target("module", sub, module=sub) if self.module(sub) is not None else None
        seen = seen | {key}
        mod = self.module(modname)
        if mod is None:
            sub = f"{modname}.{name}"
            if self.module(sub) is not None:
                return Target("module", sub, module=sub)
            return Target("external", sub, module=modname)
        binding = mod.bindings.get(name)
        if binding is not None:
            return self._from_binding(mod, name, binding, seen)
        for star in reversed(mod.stars):
            if name in self.exported(star):
                found = self._in_module(star, name, seen)
                if found is not None:
                    return found
        sub = f"{modname}.{name}"
        if self.module(sub) is not None:
            return Target("module", sub, module=sub)
        return None

    def _from_binding(self, mod: _Module, name: str, binding: tuple, seen: frozenset) -> Target | None:
        kind = binding[0]
        if kind == "def":
            node = binding[1]
            qual = f"{mod.name}.{name}"
            if isinstance(node, ast.ClassDef):
                return Target("class", qual, node=node, module=mod.name)
            return Target("function", qual, signature_from_ast(node.args), node=node, module=mod.name)
        if kind == "attr":
            return Target("attribute", f"{mod.name}.{name}", node=binding[1], module=mod.name)
        _, source, imported = binding
        if imported is None:  # import x.y as z / import x
            if self.module(source) is not None:
                return Target("module", source, module=source)
            return Target("external", source, module=source)
        return self._in_module(source, imported, seen)

    def _class_members(self, cls: Target) -> dict[str, Target]:
        node: ast.ClassDef = cls.node  # type: ignore[assignment]
        members: dict[str, Target] = {}
        for stmt in _runtime_statements(node.body):
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                decorators = _decorator_names(stmt)
                if "overload" in decorators:
                    continue
                qual = f"{cls.qualname}.{stmt.name}"
                if "property-accessor" in decorators and stmt.name in members:
                    continue
                if "property" in decorators or "cached_property" in decorators:
                    members[stmt.name] = Target("property", qual, node=stmt, module=cls.module)
                else:
                    kind = ("staticmethod" if "staticmethod" in decorators
                            else "classmethod" if "classmethod" in decorators else "method")
                    members[stmt.name] = Target(kind, qual, signature_from_ast(stmt.args), stmt, cls.module)
            elif isinstance(stmt, ast.ClassDef):
                members[stmt.name] = Target("class", f"{cls.qualname}.{stmt.name}", node=stmt, module=cls.module)
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                for t in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]):
                    for n in _target_names(t):
                        members.setdefault(n, Target("attribute", f"{cls.qualname}.{n}", node=stmt,
                                                     module=cls.module))
        # instance attributes: self.x = ... anywhere in a method
        for stmt in ast.walk(node):
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                for t in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]):
                    if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                        members.setdefault(t.attr, Target("attribute", f"{cls.qualname}.{t.attr}", node=stmt,
                                                          module=cls.module))
        return members

    def bases(self, cls: Target) -> list[Target]:
        out = []
        for expr in cls.node.bases:  # type: ignore[union-attr]
            if isinstance(expr, ast.Subscript):
                expr = expr.value
            chain = _chain(expr)
            if chain is None:
                continue
            first, *rest = chain.split(".")
            base = self._in_module(cls.module, first, frozenset())
            for part in rest:
                base = self.member(base, part) if base is not None else None
            if base is not None and base.kind == "class":
                out.append(base)
        return out

    def mro(self, cls: Target) -> list[Target]:
        """The class and its (statically resolvable) bases, in Python's C3 order where it is linear."""
        order, stack, seen = [], [cls], set()
        while stack:
            c = stack.pop(0)
            if c.qualname in seen:
                continue
            seen.add(c.qualname)
            order.append(c)
            stack.extend(self.bases(c))
        return order

    def _in_class(self, cls: Target, name: str, seen: frozenset) -> Target | None:
        for c in self.mro(cls):
            found = self._class_members(c).get(name)
            if found is not None:
                return found
        return None

    def members(self, dotted: str) -> dict[str, Target]:
        """What a module binds (own definitions, imports, star imports) or a class offers (through its bases)."""
        target = self.resolve(dotted)
        if target is None:
            raise KeyError(dotted)
        if target.kind == "class":
            out: dict[str, Target] = {}
            for c in reversed(self.mro(target)):
                out.update(self._class_members(c))
            return out
        if target.kind != "module":
            return {}
        mod = self.module(target.qualname)
        names = set(mod.bindings) | {n for star in mod.stars for n in self.exported(star)}
        found = {n: self._in_module(target.qualname, n, frozenset()) for n in sorted(names)}
        return {n: t for n, t in found.items() if t is not None}

    # -- signatures ------------------------------------------------------------------------------------------------
    def call_signature(self, dotted: str) -> inspect.Signature | None:
        """The parameters a call of `dotted` binds against: a class's __init__ without self, a classmethod
        without cls, an instance method called through its class with self. None if not callable / unknown."""
        target = self.resolve(dotted)
        if target is None:
            return None
        return self.signature_of(target)

    def signature_of(self, target: Target) -> inspect.Signature | None:
        if target.kind in ("function", "staticmethod", "method"):
            return target.signature
        if target.kind == "classmethod":
            return drop_first(target.signature)
        if target.kind == "class":
            init = self._in_class(target, "__init__", frozenset())
            if init is None or init.signature is None:
                return inspect.Signature([inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL),
                                          inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)])
            return drop_first(init.signature)
        return None


# -- the adapter side ----------------------------------------------------------------------------------------------
def _chain(expr: ast.expr) -> str | None:
    parts = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return ".".join(reversed(parts))


@dataclass(frozen=True)
class Usage:
    """One use of a `tlc` name in the adapter: an attribute chain, and for calls the arguments' shape."""

    chain: str  # e.g. tlc.Table.from_pandas
    line: int
    call: bool = False
    keywords: tuple[str, ...] = ()
    positional: int = 0
    star_args: bool = False  # f(*xs): positional count unknown
    star_kwargs: bool = False  # f(**kw): keyword names unknown


def adapter_usages(source: str, roots: tuple[str, ...] = (PACKAGE, f"self.{PACKAGE}")) -> list[Usage]:
    """Every attribute chain rooted at the `tlc` module in `source`, with the arguments of each call.

    A chain is rooted at `tlc` when it starts with one of `roots` (the adapter holds the module as `self.tlc` and
    binds it to a local `tlc`), or with a name bound by `import tlc[.x] as y` / `from tlc[.x] import y [as z]`
    anywhere in the file. Chains are reported with the root written `tlc`.
    """
    tree = ast.parse(source)
    dotted_roots = sorted((r for r in roots if "." in r), key=len, reverse=True)
    aliases = {r: PACKAGE for r in roots if "." not in r}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == PACKAGE:
                    if a.asname:
                        aliases[a.asname] = a.name
                    else:
                        aliases[a.name.split(".")[0]] = a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] == PACKAGE:
            for a in node.names:
                if a.name != "*":
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"

    def rooted(expr: ast.expr) -> str | None:
        chain = _chain(expr)
        if chain is None:
            return None
        for r in dotted_roots:
            if chain == r or chain.startswith(r + "."):
                return PACKAGE + chain[len(r):]
        first, _, rest = chain.partition(".")
        if first not in aliases:
            return None
        return aliases[first] + ("." + rest if rest else "")

    usages: list[Usage] = []
    inside: set[int] = set()  # attribute nodes that are part of a longer chain or a call's func
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            inside.add(id(node.value))
        elif isinstance(node, ast.Call):
            inside.add(id(node.func))
            chain = rooted(node.func)
            if chain is not None:
                usages.append(Usage(
                    chain, node.lineno, call=True,
                    keywords=tuple(k.arg for k in node.keywords if k.arg is not None),
                    positional=sum(1 for a in node.args if not isinstance(a, ast.Starred)),
                    star_args=any(isinstance(a, ast.Starred) for a in node.args),
                    star_kwargs=any(k.arg is None for k in node.keywords)))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in inside:
            chain = rooted(node)
            if chain is not None and chain != PACKAGE:  # `self.tlc = module` names nothing in the package
                usages.append(Usage(chain, node.lineno))
    return sorted(usages, key=lambda u: (u.line, u.chain))


def instance_usages(source: str, api: dict[str, tuple[str, ...]], class_name: str = "TlcClient") -> list[Usage]:
    """Method calls on tlc objects inside `class_name`: a call `x.m(...)` whose method name `m` is declared in
    `api` ({"tlc.Table": ("latest", ...)}) is reported as a call of `tlc.Table.m` with `x` as its first positional
    argument (self), so check_usages checks its keywords like any other call."""
    tree = ast.parse(source)
    owner: dict[str, str] = {}
    for cls_chain, names in api.items():
        for n in names:
            owner.setdefault(n, cls_chain)
    scopes = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == class_name]
    if not scopes:
        raise ValueError(f"no class {class_name} in the source")
    usages = []
    for node in ast.walk(scopes[0]):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in owner:
            chain = _chain(node.func) or ""
            if chain.startswith((f"{PACKAGE}.", f"self.{PACKAGE}.")):
                continue  # a chain rooted at the module: adapter_usages reports it
            usages.append(Usage(
                f"{owner[node.func.attr]}.{node.func.attr}", node.lineno, call=True,
                keywords=tuple(k.arg for k in node.keywords if k.arg is not None),
                positional=1 + sum(1 for a in node.args if not isinstance(a, ast.Starred)),
                star_args=any(isinstance(a, ast.Starred) for a in node.args),
                star_kwargs=any(k.arg is None for k in node.keywords)))
    return sorted(usages, key=lambda u: (u.line, u.chain))


def check_usages(index: ApiIndex, usages: list[Usage]) -> list[str]:
    """Violations: names missing from the installed sources, keywords a signature lacks, too many positional
    arguments, required parameters not given. An empty list means every use conforms."""
    problems = []
    P = inspect.Parameter
    for u in usages:
        where = f"line {u.line}: {u.chain}"
        target = index.resolve(u.chain)
        if target is None:
            problems.append(f"{where}: no such name in the installed {index.package} sources")
            continue
        if not u.call or target.kind == "external":
            continue
        sig = index.signature_of(target)
        if sig is None:
            problems.append(f"{where}: not callable ({target.kind} {target.qualname})")
            continue
        params = list(sig.parameters.values())
        has_var_kw = any(p.kind == P.VAR_KEYWORD for p in params)
        has_var_pos = any(p.kind == P.VAR_POSITIONAL for p in params)
        by_name = {p.name: p for p in params if p.kind in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY)}
        for kw in u.keywords:
            if kw not in by_name and not has_var_kw:
                problems.append(f"{where}: no keyword argument {kw!r} ({target.qualname}{sig})")
        positional = [p for p in params if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)]
        if not has_var_pos and not u.star_args and u.positional > len(positional):
            problems.append(f"{where}: {u.positional} positional arguments, at most {len(positional)} accepted "
                            f"({target.qualname}{sig})")
        if not (u.star_args or u.star_kwargs):
            given = {p.name for p in positional[: u.positional]} | set(u.keywords)
            missing = [p.name for p in params if p.default is _NO_DEFAULT
                       and p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY)
                       and p.name not in given]
            if missing:
                problems.append(f"{where}: required argument(s) {', '.join(missing)} not given")
    return problems


def check_instance_api(index: ApiIndex, api: dict[str, tuple[str, ...]]) -> list[str]:
    """Violations for attributes used on instances: {"tlc.Table": ("url", ...)} — each must be a member, property
    or `self.x` attribute of the class or one of its bases."""
    problems = []
    for cls_chain, names in api.items():
        cls = index.resolve(cls_chain)
        if cls is None or cls.kind != "class":
            problems.append(f"{cls_chain}: no such class in the installed {index.package} sources")
            continue
        for n in names:
            if index.member(cls, n) is None:
                problems.append(f"{cls_chain}.{n}: no such attribute on {cls.qualname} or its bases")
    return problems


if __name__ == "__main__":  # `uv run python tests/tlc_api.py`: the adapter's tlc uses and any violations
    adapter = Path(__file__).parents[1] / "curation" / "backends" / "tlc" / "client.py"
    text = adapter.read_text()
    sys.path.insert(0, str(adapter.parents[3]))
    from curation.backends.tlc.client import TLC_INSTANCE_API

    index = ApiIndex.installed()
    found = adapter_usages(text) + instance_usages(text, TLC_INSTANCE_API)
    for u in sorted(found, key=lambda u: u.line):
        print(f"{u.line:4d}  {u.chain}" + (f"({', '.join(u.keywords)})" if u.call else ""))
    violations = check_usages(index, found) + check_instance_api(index, TLC_INSTANCE_API)
    print("\n".join(violations) or "all conform to the installed tlc sources")
    sys.exit(1 if violations else 0)
