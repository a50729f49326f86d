"""Reading a configuration file: YAML with every key once, the error every loader raises, the
"did you mean" every message offers, and pydantic's refusals said all at once. A leaf: it
imports nothing of the package, so every room's config can use it."""

from __future__ import annotations

import difflib
import io
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

Model = TypeVar("Model", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration mistake, with where it is and how to fix it."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate keys instead of silently keeping the last one."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise ConfigError(
                f"{node.start_mark.name}: line {key_node.start_mark.line + 1}: a list or mapping "
                "is used as a key; keys must be plain names, e.g. email: customer_360.email."
            ) from None
        if key in seen:
            raise ConfigError(
                f"{node.start_mark.name}: line {key_node.start_mark.line + 1}: duplicate key "
                f"{key!r} (first at line {seen[key]}). Each name may appear once: rename or "
                "remove one of them."
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the configuration file ({exc.strerror}); check that it exists "
            "and is readable."
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: is not UTF-8 text (byte {exc.start}: {exc.reason}); save it as UTF-8."
        ) from exc
    stream = io.StringIO(text)
    stream.name = str(path)  # type: ignore[misc]  # PyYAML's marks (line numbers) show the file
    try:
        return yaml.load(stream, Loader=_UniqueKeyLoader) if text.strip() else None
    except ConfigError:
        raise
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"{path}: invalid YAML: {exc}\nFix the YAML at the line shown: check indentation "
            "(spaces, not tabs), colons and quotes; one document per file, no custom tags."
        ) from exc
    except (TypeError, ValueError, RecursionError) as exc:  # e.g. a list or mapping as a key
        raise ConfigError(
            f"{path}: cannot be read as configuration ({type(exc).__name__}: {exc}); keys must "
            "be plain names, e.g. email: customer_360.email."
        ) from exc


def suggestion(word: str, candidates) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_keys_problem(unknown: list[Any], allowed: Iterable[str], what: str = "key(s)") -> str:
    """The unknown keys of an entry together, the nearest allowed one, and all the allowed."""
    unknown = sorted(unknown, key=str)
    return f"unknown {what} {unknown}{suggestion(unknown[0], allowed)}; allowed: {sorted(allowed)}."


def refusal(error: ErrorDetails, problem: Callable[[ErrorDetails], str]) -> str:
    """One of pydantic's refusals in the file's words: a validator's own message as it is (it
    already says the problem and the fix), any other refusal as ``problem`` words it."""
    return str(error["ctx"]["error"]) if error["type"] == "value_error" else problem(error)


def refusals(
    exc: ValidationError,
    problem: Callable[[ErrorDetails], str],
    allowed: Iterable[str] | None = None,
    what: str = "key(s)",
    *,
    validators_word_their_own: bool = True,
) -> list[str]:
    """pydantic's refusals in the file's words, each once, in pydantic's order: with
    ``allowed``, the unknown keys together first (see ``unknown_keys_problem``); each other
    refusal as ``refusal`` words it, or wholly as ``problem`` words it when
    ``validators_word_their_own`` is False (a file whose validators' messages need its own
    framing)."""
    errors = exc.errors()
    unknown_key = {"extra_forbidden", "invalid_key"} if allowed is not None else set()
    unknown = [e["loc"][0] for e in errors if e["type"] in unknown_key and len(e["loc"]) == 1]
    messages = [unknown_keys_problem(unknown, allowed or (), what)] if unknown else []
    for error in errors:
        if error["type"] in unknown_key and len(error["loc"]) == 1:
            continue
        messages.append(refusal(error, problem) if validators_word_their_own else problem(error))
    return list(dict.fromkeys(messages))


def validate_collecting(
    model: type[Model], raw: Any, where: str, problem: Callable[[ErrorDetails], str]
) -> tuple[Model | None, list[str]]:
    """``raw`` validated by ``model``, and every refusal at once (see ``refusals``) as
    ``{where}: <problem>``.

    On refusals the model comes back with each refused key left at its default, so the checks
    across keys still run over the rest and one edit round fixes everything; it is None when
    a refused key has no default (nothing to build on)."""
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        errors = exc.errors()
        problems = [f"{where}: {message}" for message in refusals(exc, problem)]
    refused = {error["loc"][0] for error in errors if error["loc"]}
    if not isinstance(raw, dict) or not refused:
        return None, problems
    try:
        return model.model_validate({k: v for k, v in raw.items() if k not in refused}), problems
    except ValidationError:
        return None, problems
