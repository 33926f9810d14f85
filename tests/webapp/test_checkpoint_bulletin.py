"""The monthly bulletin prints the audit chain's newest signed checkpoint, so paper anchors it."""

from __future__ import annotations

from engine.core.audit_keys import generate_key, load_signing_key
from engine.core.checkpoints import write_checkpoint


def test_the_printed_bulletin_carries_the_checkpoint_hash_and_time(app, auth, client, platform,
                                                                   tmp_path):
    auth.login("ducha1")
    page = client.get("/board/bulletin?month=2026-11").get_data(as_text=True)
    assert "审计链签名检查点" not in page  # none signed yet
    key = generate_key(tmp_path / "audit_key.pem")
    with platform.uow() as uow:
        checkpoint = write_checkpoint(uow, load_signing_key(key.path))
    page = client.get("/board/bulletin?month=2026-11").get_data(as_text=True)
    assert (f"审计链签名检查点：截至第 {checkpoint.seq} 号事件，哈希 {checkpoint.hash}，"
            "2026-12-01 09:00 签名") in page
    weekly = client.get("/board/dispatch?period=week").get_data(as_text=True)
    assert "审计链签名检查点" not in weekly
