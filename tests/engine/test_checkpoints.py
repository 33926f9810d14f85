"""Signed checkpoints: someone who rewrites the chain in the database cannot make it verify."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from datetime import date
from io import BytesIO

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from openpyxl import load_workbook
from sqlalchemy import func, select, text

from engine.core.audit import event_hash, verify_audit
from engine.core.audit_keys import (
    AuditKeyError, ensure_key, generate_key, load_signing_key, verifying_keys,
)
from engine.core.checkpoints import (
    AuditCheckpoint, Checkpoint, CheckpointPolicy, sign, stored_checkpoints, verify_checkpoints,
    write_checkpoint,
)
from engine.core.identity import Actor
from engine.core.models import AuditEvent
from engine.county import dispatch
from engine.ops import cli, webhooks, worker
from engine.ops.checkpoints import CheckpointDuty, export_checkpoints, read_export

ADMIN = Actor.of("admin", "admin")


@pytest.fixture
def key_path(tmp_path, monkeypatch):
    """A fresh audit key, named in the settings as GONGJIAN_AUDIT_KEY."""
    path = tmp_path / "keys" / "audit_key.pem"
    generate_key(path)
    monkeypatch.setenv("GONGJIAN_AUDIT_KEY", str(path))
    return path


def add_events(platform, count: int) -> int:
    """Append `count` events (one per transaction); the chain's last sequence number."""
    for n in range(count):
        with platform.uow() as uow:
            uow.begin_write()
            uow.audit.record("tester", "note_written", subject=f"note:{n}", n=n)
            uow.commit()
    return head_seq(platform)


def head_seq(platform) -> int:
    with platform.uow() as uow:
        return uow.session.scalar(select(func.max(AuditEvent.seq))) or 0


def checkpoint_now(platform, key_path) -> Checkpoint:
    with platform.uow() as uow:
        return write_checkpoint(uow, load_signing_key(key_path))


def rewrite_from(platform, seq: int, **changes) -> None:
    """What someone with database access does: edit one event, then recompute every later hash
    (and the head), so that the plain chain verifies again."""
    with platform.db.begin() as conn:
        sets = ", ".join(f"{column} = :{column}" for column in changes)
        conn.execute(text(f"UPDATE audit_event SET {sets} WHERE seq = :seq"),
                     {**changes, "seq": seq})
        rows = conn.execute(select(AuditEvent.__table__).where(AuditEvent.seq >= seq)
                            .order_by(AuditEvent.seq)).all()
        prev = conn.execute(select(AuditEvent.hash).where(AuditEvent.seq == seq - 1)).scalar()
        prev = prev or "0" * 64
        for row in rows:
            at = row.at if row.at.tzinfo else row.at.replace(tzinfo=platform.clock.now().tzinfo)
            digest = event_hash(prev, row.seq, at, row.actor, row.action, row.subject,
                                row.instance_id, row.task_id, row.detail)
            conn.execute(text("UPDATE audit_event SET prev_hash = :p, hash = :h WHERE seq = :s"),
                         {"p": prev, "h": digest, "s": row.seq})
            prev = digest
        conn.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": prev})


def check(platform, key_path, extra=()):
    with platform.uow() as uow:
        return verify_checkpoints(uow.session, verifying_keys([key_path]),
                                  [*stored_checkpoints(uow.session), *extra])


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


# ---------------------------------------------------------------- the key


def test_the_key_is_owner_only_with_its_public_half_beside_it(tmp_path):
    info = generate_key(tmp_path / "k" / "audit_key.pem")
    assert stat.S_IMODE(info.path.stat().st_mode) == 0o600
    assert info.public_path == tmp_path / "k" / "audit_key.pub"
    assert "PUBLIC KEY" in info.public_path.read_text()
    assert list(verifying_keys([info.public_path])) == [info.key_id]
    with pytest.raises(AuditKeyError, match="exists"):
        generate_key(info.path)  # never over a key that signed checkpoints
    assert ensure_key(info.path).created is False


def test_a_key_readable_by_others_is_refused_with_the_fix(tmp_path):
    info = generate_key(tmp_path / "audit_key.pem")
    os.chmod(info.path, 0o644)
    with pytest.raises(AuditKeyError, match="chmod 600"):
        load_signing_key(info.path)


def test_a_missing_key_says_how_to_make_one(tmp_path):
    with pytest.raises(AuditKeyError, match="gongjian audit keygen"):
        load_signing_key(tmp_path / "nowhere.pem")


def test_keygen_and_init_make_the_key_once(database_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    path = tmp_path / "secret" / "audit_key.pem"
    monkeypatch.setenv("GONGJIAN_AUDIT_KEY", str(path))
    code, out, _ = run(capsys, "audit", "keygen")
    assert code == 0 and f"audit key written: {path}" in out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    code, _, err = run(capsys, "audit", "keygen")
    assert code == 2 and "exists" in err
    other = tmp_path / "county" / "audit_key.pem"
    monkeypatch.setenv("GONGJIAN_AUDIT_KEY", str(other))
    code, out, _ = run(capsys, "init")
    assert code == 0 and f"audit key created: {other}" in out
    assert stat.S_IMODE(other.stat().st_mode) == 0o600
    code, out, _ = run(capsys, "init")
    assert code == 0 and f"audit key exists: {other}" in out


# ---------------------------------------------------------------- verifying


def test_a_rewritten_chain_passes_the_hash_check_but_not_the_signed_checkpoints(
        platform, key_path, database_url, monkeypatch, capsys):
    add_events(platform, 3)
    first = checkpoint_now(platform, key_path)          # vouches events 1–3
    add_events(platform, 4)
    second = checkpoint_now(platform, key_path)         # vouches events 1–8
    add_events(platform, 2)
    assert (first.seq, second.seq) == (3, 8)
    assert check(platform, key_path).ok

    rewrite_from(platform, 6, actor="someone_else")
    with platform.uow() as uow:
        assert verify_audit(uow.session).ok  # the hashes alone are fooled
    report = check(platform, key_path)
    assert not report.ok
    assert report.trusted_through == 3 and report.first_untrusted == 4
    assert any("event 8 now has hash" in p for p in report.problems)

    monkeypatch.setenv("DATABASE_URL", database_url)
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 1
    assert "BROKEN" in out and "cannot be trusted from event 4 on" in out
    assert "events 1–3 match a signed checkpoint" in out


def test_the_export_file_still_catches_a_rewrite_that_removed_the_checkpoints(
        platform, key_path, tmp_path):
    add_events(platform, 4)
    checkpoint_now(platform, key_path)
    export = tmp_path / "elsewhere" / "checkpoints.jsonl"
    assert export_checkpoints(platform.uow, export) == 1
    add_events(platform, 2)
    # the rewrite also erases the checkpoint's row and its record in the chain
    with platform.db.begin() as conn:
        conn.execute(text("DELETE FROM audit_checkpoint"))
    rewrite_from(platform, 2, detail='{"n":99}')
    rewrite_from(platform, 5, action="note_written", detail="{}")
    assert check(platform, key_path).checkpoints == 0  # nothing left in the database
    exported, problems = read_export(export)
    assert problems == [] and len(exported) == 1
    report = check(platform, key_path, exported)
    assert report.first_untrusted == 1 and not report.ok


def test_a_checkpoint_forged_without_the_key_fails(platform, key_path, database_url,
                                                    monkeypatch, capsys):
    add_events(platform, 3)
    genuine = checkpoint_now(platform, key_path)
    add_events(platform, 2)
    rewrite_from(platform, 2, actor="someone_else")
    with platform.uow() as uow:
        uow.session.execute(text("DELETE FROM audit_checkpoint"))
        # signed with a key of the forger's own, and a copy claiming the real key's name
        forged = sign(Ed25519PrivateKey.generate(), 6, "f" * 64, platform.clock.now())
        uow.session.add(AuditCheckpoint(seq=forged.seq, hash=forged.hash, at=forged.at,
                                        key_id=forged.key_id, signature=forged.signature))
        uow.session.add(AuditCheckpoint(seq=forged.seq, hash=forged.hash, at=forged.at,
                                        key_id=genuine.key_id, signature=forged.signature))
        uow.session.commit()
    report = check(platform, key_path)
    assert any("not the audit key" in p for p in report.problems)
    assert any("signature does not match" in p for p in report.problems)
    # the genuine checkpoint is still in the chain's own record of it, and no longer matches
    assert report.first_untrusted == 1
    monkeypatch.setenv("DATABASE_URL", database_url)
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 1 and "forged" in out


def test_verify_with_a_missing_key_says_so_clearly(platform, key_path, database_url,
                                                   monkeypatch, capsys):
    add_events(platform, 2)
    checkpoint_now(platform, key_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert run(capsys, "audit", "verify")[0] == 0
    monkeypatch.setenv("GONGJIAN_AUDIT_KEY", str(key_path.parent / "gone.pem"))
    code, out, err = run(capsys, "audit", "verify")
    assert code == 2
    assert "audit chain intact" in out
    assert "cannot check the signed checkpoints (1)" in err  # the row and the record, once
    assert "gone.pem does not exist" in err and "gongjian audit keygen" in err
    # an auditor holding only the public half verifies with it
    code, out, _ = run(capsys, "audit", "verify", "--public-key",
                       str(key_path.with_suffix(".pub")))
    assert code == 0 and "signed checkpoints: 1 genuine" in out


def test_an_intact_chain_verifies_and_names_what_no_checkpoint_covers_yet(
        platform, key_path, database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    add_events(platform, 2)
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 0 and "no signed checkpoint yet" in out
    assert run(capsys, "audit", "checkpoint")[0] == 0
    add_events(platform, 3)
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 0 and "audit chain intact: 6 events" in out
    assert "events 1–2 vouched for" in out and "events 3–6 come after" in out


# ---------------------------------------------------------------- the worker


def test_the_worker_signs_after_n_events_and_at_least_daily(platform, clock, key_path, tmp_path):
    export = tmp_path / "export" / "checkpoints.jsonl"
    duty = CheckpointDuty(CheckpointPolicy(key_path, export, every=5))
    assert duty.run(platform.uow) == []  # an empty chain needs no checkpoint
    add_events(platform, 2)
    assert "audit checkpoint signed: event 2" in duty.run(platform.uow)[0]
    add_events(platform, 3)  # 4 since: the checkpoint's own record and these three
    assert duty.run(platform.uow) == []
    add_events(platform, 1)
    assert "event 7" in duty.run(platform.uow)[0]
    clock.advance(hours=23, minutes=59)
    assert duty.run(platform.uow) == []
    clock.advance(minutes=1)
    assert "event 8" in duty.run(platform.uow)[0]  # a quiet day still gets its checkpoint
    exported, _ = read_export(export)
    assert [c.seq for c in exported] == [2, 7, 8]
    assert check(platform, key_path, exported).trusted_through == 8


def test_the_worker_loop_signs_and_a_missing_key_is_logged_once(platform, clock, tmp_path):
    add_events(platform, 3)
    key = tmp_path / "later" / "audit_key.pem"
    lines: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_worker, args=(platform.uow, clock), kwargs={
        "poll": 0.05, "stop": stop, "log": lines.append,
        "checkpoints": CheckpointPolicy(key, every=1000)})
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(lines) < 1:
            time.sleep(0.05)
        time.sleep(0.3)  # several more passes
        assert len([line for line in lines if "not signed" in line]) == 1
        assert "does not exist" in lines[0] and "gongjian audit keygen" in lines[0]
        generate_key(key)
        while time.monotonic() < deadline and not any("signed: event 3" in x for x in lines):
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert any("audit checkpoint signed: event 3" in line for line in lines), lines
    with platform.uow() as uow:
        assert len(stored_checkpoints(uow.session)) == 2  # the row and the chain's record


def test_an_export_that_fails_is_retried_and_loses_nothing(platform, key_path, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the export folder should be")
    export = blocked / "checkpoints.jsonl"
    duty = CheckpointDuty(CheckpointPolicy(key_path, export))
    add_events(platform, 1)
    signed, failed = duty.run(platform.uow)
    assert signed.startswith("audit checkpoint signed: event 1")
    assert failed.startswith(f"audit checkpoints not exported to {export}")
    assert duty.run(platform.uow) == []  # the same complaint is not repeated at every pass
    blocked.unlink()
    assert duty.run(platform.uow) == [f"audit checkpoints exported to {export}: 1"]
    assert [c.seq for c in read_export(export)[0]] == [1]


# ---------------------------------------------------------------- where else it goes


def test_a_subscribed_system_receives_each_checkpoint_signed(platform, key_path):
    with platform.uow() as uow:
        webhooks.create_subscription(uow, ADMIN, "https://archive.example.org/gongjian",
                                     "audit_checkpoint", targets=webhooks.TargetPolicy(
                                         resolve=lambda *a, **k: [(2, 1, 6, "", ("93.184.215.14", 443))]))
    add_events(platform, 2)
    checkpoint = checkpoint_now(platform, key_path)
    with platform.uow() as uow:
        bodies = [json.loads(d.body) for d in uow.session.execute(
            select(webhooks.WebhookDelivery)).scalars()]
    assert [b["event"] for b in bodies] == ["audit_checkpoint"]
    sent = Checkpoint.from_dict(bodies[0]["detail"])
    assert sent == checkpoint
    assert sent.signed_by(verifying_keys([key_path.with_suffix(".pub")])[checkpoint.key_id])


def test_the_monthly_bulletin_prints_the_newest_checkpoint(platform, clock, key_path):
    with platform.uow() as uow:
        assert dispatch.dispatch_report(uow, "month", date(2026, 11, 1)).anchor_line is None
    add_events(platform, 4)
    checkpoint = checkpoint_now(platform, key_path)
    with platform.uow() as uow:
        bulletin = dispatch.dispatch_report(uow, "month", date(2026, 11, 1))
        week = dispatch.dispatch_report(uow, "week", date(2026, 11, 30))
    assert bulletin.audit_anchor == checkpoint and week.audit_anchor is None
    assert f"截至第 {checkpoint.seq} 号事件，哈希 {checkpoint.hash}" in bulletin.anchor_line
    assert "2026-12-01 09:00" in bulletin.anchor_line  # Lingchuan time
    sheet = load_workbook(BytesIO(dispatch.to_xlsx(bulletin))).active
    assert sheet.cell(sheet.max_row, 1).value == bulletin.anchor_line


# ---------------------------------------------------------------- verify that does not grow


def test_verify_since_the_checkpoint_reads_only_the_events_after_it_and_links_them(
        platform, key_path, database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    add_events(platform, 5)
    signed = checkpoint_now(platform, key_path)
    add_events(platform, 3)
    with platform.uow() as uow:
        since = verify_audit(uow.session, after=(signed.seq, signed.hash))
        # the 3 added and the checkpoint's own event, of 10 in all
        assert since.ok and since.events == 4
    code, out, _ = run(capsys, "audit", "verify", "--since-checkpoint")
    assert code == 0 and f"4 events after the signed checkpoint of event {signed.seq}" in out

    # an event after the checkpoint edited (its hash left as it was): caught
    with platform.db.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'x' WHERE seq = :s"),
                     {"s": signed.seq + 2})
    code, out, _ = run(capsys, "audit", "verify", "--since-checkpoint")
    assert code == 1 and "contents were changed" in out


def test_verify_since_the_checkpoint_catches_events_rewritten_across_it(
        platform, key_path, database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    add_events(platform, 4)
    signed = checkpoint_now(platform, key_path)
    add_events(platform, 2)
    rewrite_from(platform, 2, actor="someone_else")  # every later hash recomputed
    code, out, _ = run(capsys, "audit", "verify", "--since-checkpoint")
    assert code == 1 and "BROKEN" in out
    with platform.uow() as uow:
        # from the (now disagreeing) signed hash, the next event no longer links
        assert not verify_audit(uow.session, after=(signed.seq, signed.hash)).ok


def test_verify_since_the_checkpoint_reports_an_event_moved_before_it_as_a_gap(platform, key_path):
    """The events after the checkpoint are read as the rows after its row (a key range): one
    of them moved before that row is not read, and the sequence shows it missing."""
    add_events(platform, 3)
    signed = checkpoint_now(platform, key_path)
    add_events(platform, 3)
    with platform.db.begin() as conn:
        conn.execute(text("UPDATE audit_event SET id = -5 WHERE seq = :s"), {"s": signed.seq + 2})
    with platform.uow() as uow:
        since = verify_audit(uow.session, after=(signed.seq, signed.hash))
    assert not since.ok and any(f"where {signed.seq + 2} was expected" in p for p in since.problems)


def test_a_full_walk_streams_in_batches(platform, monkeypatch):
    from engine.core import audit
    monkeypatch.setattr(audit, "VERIFY_BATCH", 2)
    add_events(platform, 7)
    with platform.uow() as uow:
        report = verify_audit(uow.session)
    assert report.ok and report.events == 7
