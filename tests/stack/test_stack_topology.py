"""The stack's wiring, without starting anything: each function gets exactly the environment
the terraform sets for it (`FUNCTION_ENV`), filled in for the local topology, plus the local-only
auth mode and the emulator hosts; the CLI gets what it needs to reach the same store."""

from __future__ import annotations

import os

import pytest

from arco.services.config import FUNCTION_ENV, LOCAL_ONLY_ENV, Settings
from arco.stack.processes import group_members, is_running
from arco.stack.topology import (
    EMULATOR_HOST_ENV,
    FUNCTIONS,
    Topology,
    base_env,
    cli_env,
    free_ports,
    function_env,
    unfilled_env,
)


@pytest.fixture
def topology() -> Topology:
    return Topology.pick("ws1", "tests.fixtures.stack_graph:defs", interval_s=3)


def test_every_function_gets_exactly_its_declared_environment(topology: Topology) -> None:
    assert set(FUNCTIONS) == set(FUNCTION_ENV)
    for name in FUNCTIONS:
        assert unfilled_env(name) == [], (
            f"arco.stack.topology.function_env does not set these for {name}"
        )
        env = function_env(topology, name)
        local = set(env) - set(FUNCTION_ENV[name])
        assert local - EMULATOR_HOST_ENV <= LOCAL_ONLY_ENV, name
        assert env["ARCO_AUTH"] == "off-loopback"
        settings = Settings.from_env(env)  # the function can start with it
        assert settings.store_url == "gs://arco-stack"
        assert settings.workspace == "ws1" and settings.workspaces == {"ws1"}
        assert settings.auth == "off-loopback"
        assert env["STORAGE_EMULATOR_HOST"] == topology.gcs_url
        assert ("CLOUD_TASKS_EMULATOR_HOST" in env) == (name in ("timer", "worker"))


def test_the_timer_and_the_worker_are_wired_through_their_queues(topology: Topology) -> None:
    timer = Settings.from_env(function_env(topology, "timer"))
    worker = Settings.from_env(function_env(topology, "worker"))
    assert timer.timer_interval_s == 3
    assert timer.timer_url == topology.function_url("timer")
    assert timer.worker_url == topology.function_url("worker")
    assert timer.worker_queue == worker.worker_queue == topology.worker_queue
    assert timer.timer_queue == worker.timer_queue == topology.timer_queue
    assert timer.timer_queue != timer.worker_queue
    assert timer.tasks_emulator_host == topology.tasks_host
    assert worker.definitions == "tests.fixtures.stack_graph:defs"
    push = Settings.from_env(function_env(topology, "sensor_push"))
    assert push.definitions == worker.definitions


def test_ports_are_distinct_and_everything_listens_on_loopback(topology: Topology) -> None:
    ports = [topology.gcs_port, topology.pubsub_port, topology.tasks_port]
    ports += list(topology.function_ports.values())
    assert len(set(ports)) == len(ports) == 8
    assert len(set(free_ports(20))) == 20
    for name in FUNCTIONS:
        assert topology.function_url(name).startswith("http://127.0.0.1:")
    assert cli_env(topology)["ARCO_STORE"] == topology.store_url
    assert cli_env(topology)["STORAGE_EMULATOR_HOST"] == topology.gcs_url


def test_the_children_start_without_outside_arco_or_cloud_run_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ARCO_STORE", "gs://elsewhere")
    monkeypatch.setenv("K_SERVICE", "api")  # would refuse ARCO_AUTH=off-loopback
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:1")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:1")
    env = base_env("arco-local")
    assert not [k for k in env if k.startswith(("ARCO_", "PUBSUB_", "STORAGE_EMULATOR"))]
    assert "K_SERVICE" not in env
    assert env["PYTHONPATH"].split(os.pathsep)[0] == os.getcwd()


def test_process_checks_know_this_process_and_not_a_made_up_one() -> None:
    assert is_running(os.getpid())
    assert not is_running(os.getpid(), start_ticks=-1)  # same pid, another start: not ours
    assert os.getpid() in group_members([os.getpgid(0)])
    assert group_members([2**22 + 12345]) == []
