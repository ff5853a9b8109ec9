"""The offline Terraform checks: the real infra passes, and each kind of mistake is caught.

The checker's own tests write small modules to tmp_path and validate them against the committed
provider schema (tests/fixtures/terraform/google_provider_schema.json).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from scripts import check_terraform as ct
from scripts import terraform_schema as ts

from tests.infra.conftest import INFRA, REPO, WriteModule


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return ct.load_schema()


def problems_of(directory: Path, schema: dict[str, Any]) -> list[str]:
    return [f"{p.where}: {p.message}" for p in ct.check_paths([directory], schema)]


BUCKET = """
    variable "name" {
      type = string
    }

    resource "google_storage_bucket" "b" {
      name     = var.name
      location = "EU"
      %s
    }
"""


# -- the real infra ---------------------------------------------------------------------------


def test_the_infra_matches_the_provider_schema(schema: dict[str, Any]) -> None:
    assert ct.check_paths([INFRA], schema) == []


def test_the_cli_passes_on_the_infra(capsys: pytest.CaptureFixture[str]) -> None:
    assert ct.main([str(INFRA)]) == 0
    assert "no problems" in capsys.readouterr().out


def test_the_schema_covers_every_type_the_infra_uses(schema: dict[str, Any]) -> None:
    used = {
        (kind, type_name)
        for directory in ct.module_dirs([INFRA])
        for kind in ("resource", "data")
        for _, type_name, _, _ in ct.load_module(directory).typed(kind)
    }
    assert ("resource", "google_cloudfunctions2_function") in used
    assert all(type_name in schema[kind] for kind, type_name in used)
    assert schema["provider_version"] == "6.50.0"


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH")
def test_the_infra_is_terraform_fmt_clean() -> None:
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", "-list=true", "-no-color", str(INFRA)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"run `terraform fmt -recursive infra`: {result.stdout}"


# -- what the checker catches -----------------------------------------------------------------


def test_a_valid_module_passes(write_module: WriteModule, schema: dict[str, Any]) -> None:
    directory = write_module(BUCKET % "uniform_bucket_level_access = true")
    assert problems_of(directory, schema) == []


def test_an_unknown_argument_fails(write_module: WriteModule, schema: dict[str, Any]) -> None:
    directory = write_module(BUCKET % "uniform_bucket_access = true")
    assert problems_of(directory, schema) == [
        "resource google_storage_bucket.b: unknown argument 'uniform_bucket_access' "
        "(did you mean 'uniform_bucket_level_access'?)"
    ]


def test_a_missing_required_argument_fails(
    write_module: WriteModule, schema: dict[str, Any]
) -> None:
    directory = write_module(
        """
        resource "google_storage_bucket" "b" {
          name = "x"
        }
        """
    )
    assert problems_of(directory, schema) == [
        "resource google_storage_bucket.b: missing required argument 'location'"
    ]


def test_a_missing_required_nested_argument_and_block_fail(
    write_module: WriteModule, schema: dict[str, Any]
) -> None:
    directory = write_module(
        BUCKET
        % """
        lifecycle_rule {
          condition {
            age = 3
          }
        }
        versioning {}
        """
    )
    assert problems_of(directory, schema) == [
        "resource google_storage_bucket.b.lifecycle_rule: missing required block 'action'",
        "resource google_storage_bucket.b.versioning: missing required argument 'enabled'",
    ]


def test_an_unknown_nested_block_fails(write_module: WriteModule, schema: dict[str, Any]) -> None:
    directory = write_module(
        """
        resource "google_pubsub_subscription" "s" {
          name  = "s"
          topic = "t"
          push_config {
            push_endpoint = "https://example.com"
            oidc {
              service_account_email = "a@b.iam.gserviceaccount.com"
            }
          }
        }
        """
    )
    assert problems_of(directory, schema) == [
        "resource google_pubsub_subscription.s.push_config: unknown block 'oidc' "
        "(did you mean 'oidc_token'?)"
    ]


def test_an_unknown_argument_deep_inside_fails(
    write_module: WriteModule, schema: dict[str, Any]
) -> None:
    directory = write_module(
        """
        resource "google_cloudfunctions2_function" "f" {
          name     = "f"
          location = "europe-west1"
          build_config {
            source {
              storage_source {
                bucket = "b"
                objekt = "o.zip"
              }
            }
          }
        }
        """
    )
    assert problems_of(directory, schema) == [
        "resource google_cloudfunctions2_function.f.build_config.source.storage_source: "
        "unknown argument 'objekt' (did you mean 'object'?)"
    ]


def test_dynamic_blocks_are_checked_against_the_block_they_generate(
    write_module: WriteModule, schema: dict[str, Any]
) -> None:
    directory = write_module(
        BUCKET
        % """
        dynamic "lifecycle_rule" {
          for_each = [1]
          content {
            condition {
              age  = 3
              agee = 4
            }
            action {
              type = "Delete"
            }
          }
        }
        dynamic "lifecycle_rules" {
          for_each = []
          content {}
        }
        """
    )
    assert problems_of(directory, schema) == [
        "resource google_storage_bucket.b.dynamic.lifecycle_rule.content.condition: "
        "unknown argument 'agee' (did you mean 'age'?)",
        "resource google_storage_bucket.b.dynamic.lifecycle_rules: unknown block "
        "'lifecycle_rules' (did you mean 'lifecycle_rule'?)",
    ]


def test_a_required_block_given_by_a_dynamic_block_counts(
    write_module: WriteModule, schema: dict[str, Any]
) -> None:
    directory = write_module(
        BUCKET
        % """
        lifecycle_rule {
          condition {
            age = 3
          }
          dynamic "action" {
            for_each = ["Delete"]
            content {
              type = action.value
            }
          }
        }
        """
    )
    assert problems_of(directory, schema) == []


def test_meta_arguments_are_understood(write_module: WriteModule, schema: dict[str, Any]) -> None:
    directory = write_module(
        """
        variable "names" {
          type    = set(string)
          default = []
        }

        resource "google_storage_bucket" "b" {
          for_each = var.names
          provider = google
          name     = each.key
          location = "EU"

          lifecycle {
            prevent_destroy = true
            ignore_changes  = [labels]
            precondition {
              condition     = length(each.key) > 2
              error_message = "short"
            }
          }

          depends_on = [google_storage_bucket.other]
        }

        resource "google_storage_bucket" "other" {
          count    = 1
          name     = "other"
          location = "EU"
        }

        data "google_project" "p" {
          count = 0
          lifecycle {
            postcondition {
              condition     = self.number != ""
              error_message = "no number"
            }
          }
        }
        """
    )
    assert problems_of(directory, schema) == []


def test_count_and_for_each_together_fail(
    write_module: WriteModule, schema: dict[str, Any]
) -> None:
    directory = write_module(BUCKET % "count = 1\nfor_each = toset([])")
    assert problems_of(directory, schema) == [
        "resource google_storage_bucket.b: count and for_each cannot both be set"
    ]


def test_a_block_written_as_an_argument_and_the_reverse_fail(
    write_module: WriteModule, schema: dict[str, Any]
) -> None:
    directory = write_module(
        BUCKET
        % """
        versioning = { enabled = true }
        labels {
          a = "b"
        }
        """
    )
    assert problems_of(directory, schema) == [
        "resource google_storage_bucket.b: 'versioning' is a block, not an argument: "
        "write `versioning { ... }`",
        "resource google_storage_bucket.b: 'labels' is an argument, not a block: "
        "write `labels = ...`",
    ]


def test_a_single_block_given_twice_fails(
    write_module: WriteModule, schema: dict[str, Any]
) -> None:
    directory = write_module(
        BUCKET
        % """
        versioning {
          enabled = true
        }
        versioning {
          enabled = false
        }
        """
    )
    assert problems_of(directory, schema) == [
        "resource google_storage_bucket.b: block 'versioning' may appear only once (given 2 times)"
    ]


def test_unknown_resource_and_data_source_types_fail(
    write_module: WriteModule, schema: dict[str, Any]
) -> None:
    directory = write_module(
        """
        resource "google_storage_buckets" "b" {
          name = "x"
        }

        data "google_storage_bucket_objekt" "o" {}

        resource "terraform_data" "builtin" {
          input = 1
        }
        """
    )
    assert problems_of(directory, schema) == [
        "resource google_storage_buckets.b: unknown resource type 'google_storage_buckets' "
        "(did you mean 'google_storage_bucket'?)",
        "data.google_storage_bucket_objekt.o: unknown data source type "
        "'google_storage_bucket_objekt' (did you mean 'google_storage_bucket_object'?)",
    ]


def test_an_undeclared_variable_fails(write_module: WriteModule, schema: dict[str, Any]) -> None:
    directory = write_module(
        """
        resource "google_storage_bucket" "b" {
          name     = "${var.prefix}-store"
          location = var.regionn
        }
        """,
        variables="""
        variable "prefix" {
          type = string
        }

        variable "region" {
          type = string
        }
        """,
    )
    assert problems_of(directory, schema) == [
        "reference: var.regionn is not a declared variable (did you mean 'region'?)"
    ]


def test_undeclared_locals_resources_and_data_sources_fail(
    write_module: WriteModule, schema: dict[str, Any]
) -> None:
    directory = write_module(
        """
        locals {
          name = "x"
        }

        resource "google_storage_bucket" "b" {
          name     = local.nmae
          location = data.google_project.this.number
          labels   = { other = google_storage_bucket.c.name, me = google_storage_bucket.b.id }
        }

        output "name" {
          value = local.name
        }
        """
    )
    assert problems_of(directory, schema) == [
        "reference: local.nmae is not a declared local (did you mean 'name'?)",
        "reference: data.google_project.this is not declared",
        "reference: google_storage_bucket.c is not a declared resource",
    ]


def test_literal_text_is_not_read_as_a_reference(
    write_module: WriteModule, schema: dict[str, Any]
) -> None:
    directory = write_module(
        BUCKET % 'labels = { note = "set var.missing and local.missing" }',
    )
    assert problems_of(directory, schema) == []


def test_module_calls_are_checked_against_the_child(
    write_module: WriteModule, schema: dict[str, Any], tmp_path: Path
) -> None:
    child = write_module(
        """
        variable "needed" {
          type = string
        }

        variable "optional" {
          type    = string
          default = "x"
        }

        output "out" {
          value = var.needed
        }
        """
    )
    parent = write_module(
        f"""
        module "child" {{
          source   = "../{child.name}"
          optionl  = "y"
        }}

        output "ok" {{
          value = module.child.out
        }}

        output "bad" {{
          value = module.child.outt
        }}

        output "missing" {{
          value = module.other.out
        }}
        """
    )
    assert problems_of(parent, schema) == [
        "module child: the module has no variable 'optionl' (did you mean 'optional'?)",
        "module child: missing required argument 'needed' (its variable has no default)",
        "reference: module.child has no output 'outt' (did you mean 'out'?)",
        "reference: module.other is not declared",
    ]


def test_variable_and_output_blocks_are_checked(
    write_module: WriteModule, schema: dict[str, Any]
) -> None:
    directory = write_module(
        """
        variable "x" {
          type    = string
          defalt  = "a"
          validation {
            condition = true
          }
        }

        output "y" {
          description = "no value"
        }
        """
    )
    assert problems_of(directory, schema) == [
        "variable x: unknown argument 'defalt' (did you mean 'default'?)",
        "variable x.validation: missing required argument 'error_message'",
        "output y: missing required argument 'value'",
    ]


def test_a_syntax_error_is_reported(write_module: WriteModule, schema: dict[str, Any]) -> None:
    directory = write_module('resource "google_storage_bucket" "b" {\n  name = \n}\n')
    [problem] = problems_of(directory, schema)
    assert problem.startswith("file: cannot parse")


def test_the_cli_exits_1_and_names_each_problem(
    write_module: WriteModule, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_module(BUCKET % "colour = 1")
    assert ct.main([str(directory), "--no-function-env"]) == 1
    err = capsys.readouterr().err
    assert "main.tf: resource google_storage_bucket.b: unknown argument 'colour'" in err
    assert "1 problem(s) in 1 module(s)" in err


# -- the schema extraction --------------------------------------------------------------------


def _prop(name: str, anchor: str | None, type_: dict[str, Any], **extra: Any) -> dict[str, Any]:
    link = f" Docs: {{@link https://registry.terraform.io/x#{anchor} T#{anchor}}}"
    summary = ("a block." if extra.pop("block", False) else "a value.") + (link if anchor else "")
    return {"name": name, "type": type_, "docs": {"summary": summary}, **extra}


def _class(fqn: str, summary: str, config: str) -> dict[str, Any]:
    return {
        "kind": "class",
        "fqn": fqn,
        "docs": {"summary": summary},
        "properties": [{"name": "tfResourceType", "const": True, "static": True}],
        "initializer": {"parameters": [{"name": "config", "type": {"fqn": config}}]},
    }


def _interface(fqn: str, *props: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "interface", "datatype": True, "fqn": fqn, "properties": list(props)}


def test_the_extraction_reads_names_requiredness_and_nesting_from_jsii() -> None:
    base = "https://registry.terraform.io/providers/hashicorp/google/6.50.0/docs"
    string = {"primitive": "string"}
    types = {
        "g.thing.Thing": _class(
            "g.thing.Thing", f"Represents a {{@link {base}/resources/thing google_thing}}.", "g.C"
        ),
        "g.C": _interface(
            "g.C",
            _prop("name", "name", string),
            _prop("ipv4Enabled", None, {"union": {"types": [{"primitive": "boolean"}]}}),
            _prop("countAttribute", "count", string, optional=True),
            _prop("labels", "labels", {"collection": {"kind": "map", "elementtype": string}}),
            _prop("settings", "settings", {"fqn": "g.S"}, optional=True, block=True),
            _prop(
                "rule",
                "rule",
                {
                    "union": {
                        "types": [
                            {"fqn": "cdktf.IResolvable"},
                            {"collection": {"kind": "array", "elementtype": {"fqn": "g.R"}}},
                        ]
                    }
                },
                block=True,
            ),
        ),
        "g.S": _interface("g.S", _prop("tier", "tier", string, optional=True)),
        "g.R": _interface("g.R"),
        "g.provider.P": _class("g.provider.P", f"Represents a {{@link {base} google}}.", "g.PC"),
        "g.PC": _interface("g.PC", _prop("project", "project", string, optional=True)),
        "g.dataP.D": _class(
            "g.dataP.D", f"Represents a {{@link {base}/data-sources/p google_p}}.", "g.DC"
        ),
        "g.DC": _interface("g.DC"),
    }
    schema = ts.extract({"types": types, "version": "16.12.1"})
    assert schema["provider_version"] == "6.50.0"
    assert schema["provider"]["attributes"] == {"project": False}
    assert schema["data"] == {"google_p": {"attributes": {}, "blocks": {}}}
    assert schema["resource"]["google_thing"] == {
        "attributes": {"count": False, "ipv4_enabled": True, "labels": True, "name": True},
        "blocks": {
            "rule": {
                "nesting": "list",
                "required": True,
                "block": {"attributes": {}, "blocks": {}},
            },
            "settings": {
                "nesting": "single",
                "required": False,
                "block": {"attributes": {"tier": False}, "blocks": {}},
            },
        },
    }


def test_the_committed_schema_is_what_the_script_writes(tmp_path: Path) -> None:
    """Rewriting the committed fixture from its own content changes nothing: it is the script's
    output format, not a hand edit."""
    committed = REPO / "tests" / "fixtures" / "terraform" / "google_provider_schema.json"
    rewritten = tmp_path / "schema.json"
    ts.write(ct.load_schema(committed), rewritten)
    assert rewritten.read_bytes() == committed.read_bytes()
