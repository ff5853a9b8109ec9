"""The deployed environment of each function is exactly what core declares, and core declares
exactly what it reads.

FUNCTION_ENV (core/arco/services/config.py) is the contract: the module must set every name of
FUNCTION_ENV[function] on that function and nothing else, and `Settings.from_env` must read every
ARCO_*/CLOUD_TASKS_* name of FUNCTION_ENV and LOCAL_ONLY_ENV and no other.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest
from scripts import check_terraform as ct

from arco.services import config
from arco.services.config import FUNCTION_ENV, LOCAL_ONLY_ENV
from tests.infra.conftest import ARCO_MODULE

CONFIG_SOURCE = Path(config.__file__).read_text()


@pytest.fixture
def module_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "arco"
    shutil.copytree(ARCO_MODULE, copy)
    return copy


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} must occur once in {path.name}"
    path.write_text(text.replace(old, new))


def test_every_function_is_deployed_with_exactly_its_function_env() -> None:
    deployed, problems = ct.deployed_function_env(ct.load_module(ARCO_MODULE))
    assert problems == []
    assert (
        set(deployed)
        == set(FUNCTION_ENV)
        == {
            "api",
            "timer",
            "worker",
            "sensor_push",
            "compactor",
        }
    )
    for function, names in FUNCTION_ENV.items():
        assert deployed[function] == names, function
    assert ct.function_env_problems(ARCO_MODULE) == []


def test_settings_read_exactly_the_declared_names() -> None:
    assert ct.settings_env_problems(CONFIG_SOURCE, FUNCTION_ENV, LOCAL_ONLY_ENV) == []


def test_a_name_the_module_does_not_set_is_reported(module_copy: Path) -> None:
    _edit(
        module_copy / "main.tf",
        "      ARCO_HEARTBEAT_INTERVAL_S  = tostring(var.heartbeat_interval_seconds)\n",
        "",
    )
    assert ct.function_env_problems(module_copy) == [
        "worker: FUNCTION_ENV names ['ARCO_HEARTBEAT_INTERVAL_S'] but the module does not set them"
    ]


def test_a_name_core_does_not_declare_is_reported(module_copy: Path) -> None:
    _edit(
        module_copy / "main.tf",
        "      ARCO_DEFINITIONS = var.definitions\n",
        '      ARCO_DEFINITIONS = var.definitions\n      ARCO_DEBUG = "1"\n',
    )
    assert ct.function_env_problems(module_copy) == [
        "sensor_push: the module sets ['ARCO_DEBUG'], which FUNCTION_ENV does not name"
    ]


def test_a_name_added_to_core_only_is_reported() -> None:
    """What happens when core starts reading a new variable and the module is not updated."""
    expected = {**FUNCTION_ENV, "timer": FUNCTION_ENV["timer"] | {"ARCO_SOMETHING_NEW"}}
    assert ct.function_env_problems(ARCO_MODULE, expected) == [
        "timer: FUNCTION_ENV names ['ARCO_SOMETHING_NEW'] but the module does not set them"
    ]


def test_a_missing_or_unknown_function_is_reported(module_copy: Path) -> None:
    _edit(module_copy / "functions.tf", "entry_point       = each.key", 'entry_point = "worker"')
    problems = ct.function_env_problems(module_copy)
    assert "entry point 'worker' is deployed twice" in problems
    assert "api: not deployed (no google_cloudfunctions2_function for it)" in problems


def test_an_environment_that_cannot_be_read_statically_is_reported(module_copy: Path) -> None:
    _edit(
        module_copy / "functions.tf",
        "environment_variables            = local.function_env[each.key]",
        "environment_variables = merge(local.function_env[each.key], {})",
    )
    [problem, *_] = ct.function_env_problems(module_copy)
    assert "cannot read its entry point and environment statically" in problem


def _new_settings_problems(
    source: str, declared: Mapping[str, frozenset[str]], local_only: frozenset[str]
) -> list[str]:
    """The problems an edit adds (the real config's own are the previous test's business)."""
    before = ct.settings_env_problems(CONFIG_SOURCE, FUNCTION_ENV, LOCAL_ONLY_ENV)
    return [p for p in ct.settings_env_problems(source, declared, local_only) if p not in before]


def test_settings_that_read_an_undeclared_name_are_reported() -> None:
    source = CONFIG_SOURCE + '\n\nenv.get("ARCO_SURPRISE")\n'
    assert _new_settings_problems(source, FUNCTION_ENV, LOCAL_ONLY_ENV) == [
        "ARCO_SURPRISE is read by Settings.from_env but in neither FUNCTION_ENV nor LOCAL_ONLY_ENV"
    ]


def test_a_declared_name_settings_never_read_is_reported() -> None:
    declared = {**FUNCTION_ENV, "api": FUNCTION_ENV["api"] | {"ARCO_UNUSED"}}
    assert _new_settings_problems(CONFIG_SOURCE, declared, LOCAL_ONLY_ENV) == [
        "ARCO_UNUSED is declared in FUNCTION_ENV or LOCAL_ONLY_ENV but Settings.from_env never "
        "reads it"
    ]


def test_a_name_both_set_and_local_only_is_reported() -> None:
    local_only = LOCAL_ONLY_ENV | {"ARCO_STORE"}
    assert _new_settings_problems(CONFIG_SOURCE, FUNCTION_ENV, local_only) == [
        "['ARCO_STORE'] are in both FUNCTION_ENV and LOCAL_ONLY_ENV"
    ]
