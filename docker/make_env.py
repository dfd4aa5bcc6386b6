#!/usr/bin/env python3
"""Write `.env` for the compose stack: `.env.example` with every secret filled in.

    python3 docker/make_env.py            # creates .env, or fills the gaps in an existing one
    python3 docker/make_env.py --print    # show which variables it would fill (never values)

A secret is filled when it is empty or still holds a `change-me...` placeholder; values you set
are kept. Generated values are URL-safe (letters, digits, `-`, `_`) because the stack embeds them
in connection URLs and in the JSON of AIRFLOW_CONN_SAAS_WAREHOUSE. AIRFLOW_FERNET_KEY gets a real
Fernet key. On Linux, AIRFLOW_UID is set to your uid so files in ./data stay yours.
Standard library only; the resulting file is readable by you alone (mode 600).
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import secrets
import string
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECRET = re.compile(r"PASSWORD|PASSWD|SECRET|FERNET|_KEY$|TOKEN")
# Filled by hand or by the API later, never generated.
NOT_GENERATED = {"METABASE_API_KEY"}
LINE = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


def _password(length: int = 40) -> str:
    """URL-safe random string with at least one lower, upper and digit (Metabase's password rules);
    it starts with a letter, so no tool can mistake it for an option."""
    alphabet = string.ascii_letters + string.digits + "-_"
    while True:
        value = secrets.choice(string.ascii_letters) + "".join(secrets.choice(alphabet) for _ in range(length - 1))
        if any(c.islower() for c in value) and any(c.isupper() for c in value) and any(c.isdigit() for c in value):
            return value


def generate(name: str) -> str:
    """A fresh value for secret `name`."""
    if "FERNET" in name:
        return base64.urlsafe_b64encode(os.urandom(32)).decode()
    return _password()


def needs_value(name: str, value: str) -> bool:
    """True for a secret that is empty or still a placeholder."""
    if not SECRET.search(name) or name in NOT_GENERATED:
        return False
    value = value.strip().strip("'\"")
    return value == "" or value.startswith("change-me")


def render(example: str, existing: dict[str, str], uid: int | None) -> tuple[str, list[str]]:
    """The new .env text and the names of the variables that were generated."""
    out: list[str] = []
    filled: list[str] = []
    seen: set[str] = set()
    for line in example.splitlines():
        match = LINE.match(line)
        if not match:
            out.append(line)
            continue
        name = match["name"]
        seen.add(name)
        value = existing.get(name, match["value"])
        if needs_value(name, value):
            value = generate(name)
            filled.append(name)
        elif name == "AIRFLOW_UID" and name not in existing and uid not in (None, 0):
            value = str(uid)
        out.append(f"{name}={value}")
    extra = [f"{name}={value}" for name, value in existing.items() if name not in seen]
    if extra:
        out += ["", "# --- kept from the previous .env ---", *extra]
    return "\n".join(out) + "\n", filled


def read_env(path: Path) -> dict[str, str]:
    """NAME=value lines of an env file (comments ignored)."""
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            match = LINE.match(line.strip())
            if match:
                values[match["name"]] = match["value"]
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", type=Path, default=ROOT / ".env.example")
    parser.add_argument("--output", type=Path, default=ROOT / ".env")
    parser.add_argument("--print", action="store_true", help="only list what would be generated")
    args = parser.parse_args(argv)

    if not args.example.exists():
        print(f"make_env: {args.example} not found", file=sys.stderr)
        return 1
    uid = os.getuid() if sys.platform.startswith("linux") else None
    text, filled = render(args.example.read_text(), read_env(args.output), uid)
    if args.print:
        print("would generate: " + (", ".join(filled) or "nothing"))
        return 0
    fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(args.output, 0o600)
    print(f"make_env: wrote {args.output}; generated " + (", ".join(filled) or "nothing"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
