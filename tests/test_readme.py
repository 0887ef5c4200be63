"""The README's "Library use" snippet runs as written (on the small stand-in), and the
``lastmile.api`` module docstring shows only statements of it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import lastmile
import lastmile.api
from tests.conftest import TEST_SCALE

README = Path(__file__).parents[1] / "README.md"

#: What the snippet's Plan.load gets on top of its own arguments: the small stand-in, a short
#: search (the snippet itself loads the default, whole-county plan).
SMALL = dict(
    standin_scale=TEST_SCALE,
    routing_time_limit_s=5.0,
    routing_solution_limit=3,
    location_time_limit_s=20.0,
)


def library_use() -> str:
    """The Python block of the README's "Library use" section."""
    section = README.read_text(encoding="utf-8").split("\n## Library use\n", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found, "no python block under ## Library use"
    return found.group(1)


def statements(code: str) -> list[str]:
    """The code lines without their comments and indentation."""
    lines = (line.split("  #", 1)[0].strip() for line in code.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def test_api_docstring_example_is_the_readmes() -> None:
    after = (lastmile.api.__doc__ or "").split("::\n", 1)[1]
    block = re.match(r"(?:\n|    .*\n)+", after)  # the indented literal block
    assert block is not None
    doc = block.group(0)
    assert "plan.hubs" in doc and "plan.to_folder" in doc
    assert set(statements(doc)) <= set(statements(library_use()))


def test_library_use_snippet_runs_as_written(
    small_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bb15 D5: the examples named a hub township and a site id the default plan does not have;
    they now take the hub from ``plan.hubs`` and the free township from ``plan.candidates``."""
    load = lastmile.Plan.load.__func__  # type: ignore[attr-defined]

    def small_load(cls: type[lastmile.Plan], *args: Any, **settings: Any) -> lastmile.Plan:
        return load(cls, *args, cache=small_cache, **{**settings, **SMALL})  # type: ignore[no-any-return]

    monkeypatch.setattr(lastmile.Plan, "load", classmethod(small_load))
    monkeypatch.chdir(tmp_path)
    names: dict[str, Any] = {}
    exec(compile(library_use(), "README.md (Library use)", "exec"), names)
    plan, alt, hub = names["plan"], names["alt"], names["hub"]
    assert "synthetic stand-in" in plan.inputs.source.label
    assert hub["role"] == "new hub" and hub["id"] not in set(alt.hubs["id"])
    assert names["free"][0] in set(alt.hubs["township"])
    assert list(names["table"].columns[:2]) == ["optimal", "alternative"]
    # the folder it writes: hubs.csv gives the API's lon/lat to 1e-6 (bb15 D7)
    hubs_csv = pd.read_csv(tmp_path / "out" / "plan" / "hubs.csv").set_index("id")
    api = plan.hubs.set_index("id").loc[hubs_csv.index]
    assert np.allclose(hubs_csv[["lon", "lat"]], api[["lon", "lat"]], atol=1e-6, rtol=0)


def _section(title: str) -> str:
    """The README's section ``## title`` (up to the next ``## ``)."""
    return README.read_text(encoding="utf-8").split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_configuration_documents_every_accepted_key() -> None:
    """bb18 D7: standin_scale, demand_weight, p_curve_max, [network] max_snap_m ... were accepted
    but not named in the README; its Configuration tables now list every key a scenario takes."""
    from dataclasses import fields

    from lastmile.config import REGION_KEYS
    from lastmile.scenario import REGION_TABLES, PlanSettings

    documented: dict[str, set[str]] = {}
    for row in re.findall(r"^\| (`[^|]*) \|", _section("Configuration"), flags=re.M):
        table = re.match(r"`\[\[?(\w+)\]\]? ", row)
        keys = re.findall(r"`(?:\[\[?\w+\]\]? )?(\w+)`", row)
        documented.setdefault(table.group(1) if table else "plan", set()).update(keys)
    assert documented["plan"] >= {f.name for f in fields(PlanSettings)}
    for table in REGION_TABLES:
        if table != "speeds_kmh":  # its keys are OSM road classes, documented as CLASS
            assert documented[table] >= REGION_KEYS[table], table


def test_environment_table_names_every_variable() -> None:
    """bb18 D7: LASTMILE_STANDIN_SCALE was read but missing from the Environment table."""
    root = Path(__file__).parents[1]
    used = set()
    for folder in ("src", "notebooks", "tests", "benchmarks"):
        for path in (root / folder).rglob("*"):
            if path.suffix in (".py", ".ipynb"):
                used |= set(re.findall(r"LASTMILE_[A-Z_]+", path.read_text(encoding="utf-8")))
    table = set(re.findall(r"^\| `(\w+)` \|", _section("Environment"), flags=re.M))
    assert used and used <= table, used - table


def test_plan_keys_table_gives_each_default_as_the_code_has_it() -> None:
    """The `[plan]` keys table's default column is what PlanSettings defaults to (session 14
    raised routing_solution_limit from 80 to 750: README, `config show` and the code must agree).
    A default of None is documented in words (``unset: ...``, ``the file's own``)."""
    from dataclasses import fields

    from lastmile.scenario import PlanSettings

    rows = re.findall(r"^\| `(\w+)` \|.*\| ([^|]*) \|$", _section("Configuration"), flags=re.M)
    documented = {key: cell.strip().strip("`") for key, cell in rows}
    checked = 0
    for f in fields(PlanSettings):
        if f.default is None or f.name not in documented:
            continue
        value = f.default
        text = str(value).lower() if isinstance(value, bool) else f"{value:g}" if isinstance(
            value, float) else str(value)  # fmt: skip
        assert documented[f.name] == text, (f.name, documented[f.name], value)
        checked += 1
    assert checked >= 20
