"""Extract the Google provider's configuration schema, offline, from its CDKTF bindings.

`terraform validate` needs the provider binary, which cannot be downloaded here (no registry
access). PyPI does have `cdktf-cdktf-provider-google`, the CDK for Terraform bindings generated
*from* the provider schema: its jsii assembly (`package/.jsii` inside
`cdktf_cdktf_provider_google/_jsii/*.jsii.tgz`) describes every resource and data source, each
argument (optional or required) and each nested block (single or list). This script turns that
into a compact JSON file that `scripts/check_terraform.py` validates `infra/` against.

Regenerate (needs network access to PyPI; about 30 s, 50 MB download, nothing installed):

    .venv/bin/python scripts/terraform_schema.py            # writes the committed fixture
    .venv/bin/python scripts/terraform_schema.py --wheel path/to/cdktf_..._google-X-py3-none-any.whl

then run `.venv/bin/pytest tests/infra` and commit the fixture. To move to another provider
version, change `PACKAGE_VERSION` (the package's version is not the provider's: 16.12.1 binds
hashicorp/google 6.50.0, recorded in the output as `provider_version`).

The output holds every resource and data source (about 1 MB, 90 KB gzipped; small enough to
commit and to load in a test in well under a second), so adding a new resource type to
`infra/` needs no regeneration. Its shape:

    {"package": ..., "provider_version": "6.50.0",
     "provider": BLOCK,                       # the `provider "google"` block
     "resource": {"google_storage_bucket": BLOCK, ...},
     "data": {"google_project": BLOCK, ...}}
    BLOCK = {"attributes": {"name": true if required else false, ...},
             "blocks": {"name": {"nesting": "single" | "list", "required": bool,
                                 "block": BLOCK}, ...}}

A "single" block may appear at most once (the provider's list with max_items = 1); a required
block must appear at least once. Computed-only attributes are not arguments and are absent.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

PACKAGE = "cdktf-cdktf-provider-google"
PACKAGE_VERSION = "16.12.1"
ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "fixtures" / "terraform" / "google_provider_schema.json"

# "Represents a {@link https://registry.terraform.io/.../docs/resources/storage_bucket
# google_storage_bucket}": the Terraform type name of a generated class.
_TYPE_LINK = re.compile(r"/docs/(resources|data-sources)/\S+ (\w+)\}")
_PROVIDER_LINK = re.compile(r"/docs (\w+)\}")
# "Docs at Terraform Registry: {@link https://...#build_config Cloudfunctions2Function#...}"
_ARG_ANCHOR = re.compile(r"registry\.terraform\.io/\S+#(\w+) ")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

Json = dict[str, Any]


def download_wheel(dest: Path) -> Path:
    """`pip download` the bindings wheel (no dependencies) into `dest`."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            f"{PACKAGE}=={PACKAGE_VERSION}",
            "--dest",
            str(dest),
        ],
        check=True,
    )
    wheels = sorted(dest.glob("cdktf_cdktf_provider_google-*.whl"))
    if not wheels:
        raise SystemExit(f"pip download left no wheel in {dest}")
    return wheels[0]


def read_assembly(wheel: Path) -> Json:
    """The jsii assembly (`package/.jsii`) inside the wheel's `_jsii/*.jsii.tgz`."""
    with zipfile.ZipFile(wheel) as whl:
        names = [
            n
            for n in whl.namelist()
            if n.startswith("cdktf_cdktf_provider_google/_jsii/") and n.endswith(".jsii.tgz")
        ]
        if len(names) != 1:
            raise SystemExit(f"expected one _jsii/*.jsii.tgz in {wheel.name}, found {names}")
        tgz = whl.read(names[0])
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        member = tar.extractfile("package/.jsii")
        if member is None:
            raise SystemExit("package/.jsii is missing from the jsii tarball")
        assembly: Json = json.load(member)
    return assembly


def _snake(prop: Json) -> str:
    """The Terraform name of a property: the registry anchor its docs link to, else snake_case."""
    docs = prop.get("docs", {})
    found = _ARG_ANCHOR.findall(f"{docs.get('summary', '')} {docs.get('remarks', '')}")
    if found:
        name: str = found[-1]
        return name
    return _CAMEL.sub("_", str(prop["name"])).lower()


def _block_fqn(type_ref: Json) -> tuple[str, str] | None:
    """(nesting, interface fqn) when a property is a nested block, else None (an attribute)."""
    if "fqn" in type_ref and not type_ref["fqn"].startswith("cdktf."):
        return "single", str(type_ref["fqn"])
    for option in type_ref.get("union", {}).get("types", [type_ref]):
        element = option.get("collection", {}).get("elementtype", {})
        if "fqn" in element and not element["fqn"].startswith("cdktf."):
            return "list", str(element["fqn"])
    return None


def block_schema(types: Json, fqn: str, seen: tuple[str, ...] = ()) -> Json:
    """The arguments and nested blocks of a configuration interface."""
    if fqn in seen:  # no recursive schemas in this provider; stop rather than loop if one appears
        return {"attributes": {}, "blocks": {}}
    attributes: dict[str, bool] = {}
    blocks: dict[str, Json] = {}
    for prop in types[fqn].get("properties", []):
        name = _snake(prop)
        required = not prop.get("optional", False)
        nested = _block_fqn(prop["type"])
        if nested is None:
            attributes[name] = required
        else:
            nesting, inner = nested
            blocks[name] = {
                "nesting": nesting,
                "required": required,
                "block": block_schema(types, inner, (*seen, fqn)),
            }
    return {"attributes": dict(sorted(attributes.items())), "blocks": dict(sorted(blocks.items()))}


def _config_fqn(types: Json, cls: Json) -> str:
    """The class's constructor config interface (its third parameter)."""
    params = cls.get("initializer", {}).get("parameters", [])
    fqn = next((p["type"].get("fqn") for p in params if p["name"] == "config"), None)
    if fqn is None or fqn not in types:
        raise SystemExit(f"{cls['fqn']}: no config interface")
    return str(fqn)


def extract(assembly: Json) -> Json:
    """Every resource and data source of the provider, and the provider block itself."""
    types: Json = assembly["types"]
    resources: Json = {}
    data: Json = {}
    provider: Json | None = None
    provider_version = ""
    for cls in types.values():
        if cls["kind"] != "class":
            continue
        if not any(p["name"] == "tfResourceType" for p in cls.get("properties", [])):
            continue
        summary = cls.get("docs", {}).get("summary", "")
        version = re.search(r"/providers/hashicorp/google/([\w.]+)/", summary)
        if version:
            provider_version = version.group(1)
        link = _TYPE_LINK.search(summary)
        if link is None:
            if _PROVIDER_LINK.search(summary):
                provider = block_schema(types, _config_fqn(types, cls))
                continue
            raise SystemExit(f"{cls['fqn']}: cannot tell its Terraform type from {summary!r}")
        kind, tf_type = link.groups()
        target = resources if kind == "resources" else data
        target[tf_type] = block_schema(types, _config_fqn(types, cls))
    if provider is None or not resources or not data:
        raise SystemExit("the assembly does not look like a Terraform provider binding")
    return {
        "package": f"{PACKAGE}=={assembly.get('version', PACKAGE_VERSION)}",
        "provider_version": provider_version,
        "provider": provider,
        "resource": dict(sorted(resources.items())),
        "data": dict(sorted(data.items())),
    }


def write(schema: Json, path: Path) -> None:
    """Compact JSON, one type per line: small, and a regeneration diffs type by type."""
    lines = [
        "{",
        f'"package": {json.dumps(schema["package"])},',
        f'"provider_version": {json.dumps(schema["provider_version"])},',
        f'"provider": {json.dumps(schema["provider"], separators=(",", ":"))},',
    ]
    for section in ("resource", "data"):
        entries = [
            f"{json.dumps(name)}:{json.dumps(block, separators=(',', ':'))}"
            for name, block in schema[section].items()
        ]
        closing = "}," if section == "resource" else "}"
        lines.append(f'"{section}": {{\n' + ",\n".join(entries) + f"\n{closing}")
    lines.append("}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    json.loads(path.read_text())  # the hand-joined JSON must parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help="a downloaded bindings wheel (skip pip)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    if args.wheel is not None:
        schema = extract(read_assembly(args.wheel))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            schema = extract(read_assembly(download_wheel(Path(tmp))))
    write(schema, args.output)
    size = args.output.stat().st_size
    print(
        f"{args.output}: provider {schema['provider_version']}, "
        f"{len(schema['resource'])} resources, {len(schema['data'])} data sources, "
        f"{size / 1e6:.2f} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
