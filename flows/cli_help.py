"""``--help`` as an operator reads it: what to write after an option, never a Python type.

This typer release labels every option with its Python type (``<str>``, ``<bool>``, ``<path>``)
and its choices as ``<a|b>``, even on flags that take no value. :func:`install` replaces that
label, for every command (those of other modules too), with: nothing on a flag; the choices in
brackets (``[table|json|csv]``); else the option's own ``metavar``, or a placeholder from
``PLACEHOLDERS`` by the option's name, or from its type (``N`` for integers, ``NUMBER``,
``PATH``, the date format), or the option's name in capitals (``--reason REASON``).
"""

from __future__ import annotations

from typer.core import TyperArgument, TyperOption

PLACEHOLDERS = {"config": "DIR", "db": "FILE", "now": "ISO-TIME", "until": "TIME", "wait": "SECONDS",
                "report": "FILE", "write_config": "DIR", "workdir": "DIR", "out_dir": "DIR", "port": "N",
                "platforms": "all|NAME,NAME", "language": "ar|en", "account": "ID", "agency": "ID",
                "check": "NAME", "by": "NAME"}
"""Placeholders that say more than the type would (keyed by the parameter's Python name)."""


def placeholder(param, ctx) -> str | None:
    """The label shown after an option or argument in ``--help`` (None: no label at all)."""
    if isinstance(param, TyperOption) and param.is_flag:
        return None
    if param.metavar is not None:
        return param.metavar
    desc = param.type_descriptor
    if desc.is_choice:
        return "[" + "|".join(str(getattr(c, "value", c)) for c in desc.choices or ()) + "]"
    if param.name in PLACEHOLDERS:
        return PLACEHOLDERS[param.name]
    if desc.is_datetime and desc.parameter_info.formats:
        return "|".join(f.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD") for f in desc.parameter_info.formats)
    label = param.bare_type() if not (desc.is_path or desc.is_ranged) else ("PATH" if desc.is_path else desc.ranged_type_name)
    return {"int": "N", "float": "NUMBER", "PATH": "PATH"}.get(label, (param.name or "value").upper())


def install() -> None:
    """Use :func:`placeholder` for every typer option and argument from now on (idempotent)."""
    TyperOption.display_type_rich = placeholder
    TyperArgument.display_type_rich = placeholder
