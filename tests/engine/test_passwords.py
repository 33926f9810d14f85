"""The password hash's cost: scrypt at n=2**14 in production, whatever the tests use."""

from __future__ import annotations

from engine.core import organisation


def test_the_production_cost_is_scrypt_n_16384_r_8_p_1():
    # Made when the module was imported, before tests/conftest.py lowered the cost.
    assert organisation._DUMMY_HASH.startswith("scrypt$16384$8$1$")


def test_a_hash_names_its_cost_and_checks_under_another(monkeypatch):
    made = organisation.hash_password("Lingchuan-2026-gj")
    n = organisation._SCRYPT["n"]
    assert made.startswith(f"scrypt${n}$8$1$")
    monkeypatch.setitem(organisation._SCRYPT, "n", 2 ** 14)  # an app at the production cost
    assert organisation.verify_password(made, "Lingchuan-2026-gj")
    assert not organisation.verify_password(made, "Lingchuan-2026-gk")
