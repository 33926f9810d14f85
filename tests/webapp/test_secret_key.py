"""The per-install secret key: workers starting together on a fresh install agree on one key."""

from __future__ import annotations

import threading

from webapp import _instance_secret_key


def test_workers_starting_together_all_read_the_same_whole_key(tmp_path, monkeypatch):
    monkeypatch.setenv("GONGJIAN_INSTANCE_DIR", str(tmp_path))
    start, keys, errors = threading.Barrier(8), [], []

    def boot():
        start.wait()
        try:
            keys.append(_instance_secret_key())
        except Exception as exc:  # noqa: BLE001 - any failure to boot is the finding
            errors.append(exc)

    workers = [threading.Thread(target=boot) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert len(set(keys)) == 1 and len(keys[0]) == 64
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no drafts left behind
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert _instance_secret_key() == keys[0]  # and it stays
