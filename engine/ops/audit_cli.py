"""`gongjian audit verify|keygen|checkpoint`: the audit chain checked against its signed
checkpoints, the audit key made, a checkpoint signed now (engine/core/checkpoints.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.audit import verify_audit
from ..core.audit_keys import AuditKeyError, generate_key, load_signing_key, verifying_keys
from ..core.checkpoints import (
    CheckpointPolicy, CheckpointReport, stored_checkpoints, verify_checkpoints, write_checkpoint,
)
from ..core.config import Settings
from .checkpoints import export_checkpoints, read_export
from .platform import Platform


def _policy(platform: Platform) -> CheckpointPolicy:
    return platform.checkpoints or Settings.from_env().checkpoints()


def _gather(platform: Platform, session, files: list[Path]) -> tuple[list, list[str]]:
    """Every checkpoint known: the database's, the export file's and any file given."""
    checkpoints, problems = stored_checkpoints(session), []
    export = _policy(platform).export_path
    if export is not None and export.exists() and export not in files:
        files = [export, *files]
    for path in files:
        try:
            found, bad = read_export(path)
        except OSError as exc:
            problems.append(f"{path}: cannot be read ({exc.strerror})")
            continue
        checkpoints += found
        problems += bad
    return list(dict.fromkeys(checkpoints)), problems  # each statement once


def _print_checkpoints(report: CheckpointReport, keys: list[str]) -> None:
    if report.checkpoints:
        latest = report.latest
        vouched = (f"events 1–{report.trusted_through} vouched for (last matching checkpoint "
                   f"{latest.at:%Y-%m-%d %H:%M:%S} UTC, hash {latest.hash[:16]}…)"
                   if latest else "none of them matches the chain")
        print(f"signed checkpoints: {report.checkpoints} genuine (key {', '.join(keys)}); "
              f"{vouched}")
    for note in report.notes:
        print(f"  note: {note}")


def cmd_verify(platform: Platform, args: argparse.Namespace) -> int:
    """Check the chain's hashes, then the chain against its signed checkpoints; exit 1 when broken."""
    with platform.uow() as uow:
        checkpoints, file_problems = _gather(platform, uow.session, args.checkpoints)
        keys, key_problem = None, ""
        if checkpoints:
            try:
                keys = verifying_keys(args.public_key or [_policy(platform).key_path])
            except AuditKeyError as exc:
                key_problem = str(exc)
        report = verify_checkpoints(uow.session, keys, checkpoints) if keys else None
        # --since-checkpoint: the events after the newest checkpoint that checks out, linked
        # to its signed hash (the history before it was verified when it was signed or since).
        after = None
        if args.since_checkpoint and report is not None and report.latest is not None:
            after = (report.latest.seq, report.latest.hash)
        chain = verify_audit(uow.session, after=after)
    if chain.ok and (report is None or report.ok) and not file_problems:
        if after is not None:
            print(f"audit chain intact: {chain.events} events after the signed checkpoint of "
                  f"event {after[0]}, linked to it")
        else:
            print(f"audit chain intact: {chain.events} events")
    else:
        print(f"audit chain BROKEN ({chain.events} events):")
        for problem in chain.problems + file_problems + (report.problems if report else []):
            print(f"  - {problem}")
        if report is not None and report.first_untrusted is not None:
            vouched = (f"events 1–{report.trusted_through} match a signed checkpoint"
                       if report.trusted_through else "no event matches a signed checkpoint")
            print(f"the chain cannot be trusted from event {report.first_untrusted} on "
                  f"({vouched}); restore from a backup verified against the checkpoints")
    if not checkpoints:
        print("  note: no signed checkpoint yet: the chain is vouched for by its own hashes alone")
    elif report is None:
        print(f"cannot check the signed checkpoints ({len(checkpoints)}): {key_problem}",
              file=sys.stderr)
        return 1 if not chain.ok or file_problems else 2
    else:
        _print_checkpoints(report, sorted(keys))
    return 0 if chain.ok and (report is None or report.ok) and not file_problems else 1


def cmd_keygen(platform: Platform, args: argparse.Namespace) -> int:
    """Make the audit key (never over an existing one)."""
    path = args.key or _policy(platform).key_path
    info = generate_key(path)
    print(f"audit key written: {info.path} (owner-only, 0600), fingerprint {info.key_id}")
    print(f"public key: {info.public_path} (give it to whoever verifies the checkpoints)")
    print("keep the key file off the database host if you can, and back it up apart from the "
          "database: with both, someone could rewrite the chain and sign it anew")
    return 0


def cmd_checkpoint(platform: Platform, args: argparse.Namespace) -> int:
    """Sign a checkpoint of the chain's head now, and export it when an export file is set."""
    policy = _policy(platform)
    key = load_signing_key(policy.key_path)
    with platform.uow() as uow:
        checkpoint = write_checkpoint(uow, key)
    print(f"checkpoint signed: event {checkpoint.seq}, hash {checkpoint.hash}, "
          f"{checkpoint.at:%Y-%m-%d %H:%M:%S} UTC, key {checkpoint.key_id}")
    if policy.export_path is not None:
        count = export_checkpoints(platform.uow, policy.export_path)
        print(f"exported to {policy.export_path}: {count}")
    return 0


def add_commands(audit: argparse._SubParsersAction) -> None:
    """Add `verify`, `keygen` and `checkpoint` under `gongjian audit`."""
    p = audit.add_parser("verify", help="check the hash chain and its signed checkpoints")
    p.set_defaults(func=cmd_verify)
    p.add_argument("--public-key", type=Path, action="append", default=[],
                   help="a public (or private) audit key file; repeat for rotated keys "
                        "(default: GONGJIAN_AUDIT_KEY or its .pub)")
    p.add_argument("--since-checkpoint", action="store_true",
                   help="check only the events after the newest signed checkpoint that checks "
                        "out (a day's events, however long the chain); run it without now and "
                        "then for the whole history")
    p.add_argument("--checkpoints", type=Path, action="append", default=[],
                   help="an exported checkpoint file to check against as well (repeatable; "
                        "GONGJIAN_AUDIT_EXPORT is always read)")
    p = audit.add_parser("keygen", help="make the audit key that signs the checkpoints")
    p.set_defaults(func=cmd_keygen)
    p.add_argument("--key", type=Path, help="where to write it (default: GONGJIAN_AUDIT_KEY)")
    audit.add_parser("checkpoint", help="sign a checkpoint of the chain now").set_defaults(
        func=cmd_checkpoint)
