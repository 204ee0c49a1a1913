"""Issue 26, item 4: trusted time from a real RFC 3161 TSA (OpenSSL's ``openssl ts`` over
HTTP, tests/tsa.py). Stamps are had over the protocol, verified by the hub's check and by
``openssl ts -verify`` alike; a stamp for other bytes, a TSA certificate that had expired
or belongs to another chain, and a missing stamp are each reported by name — for
exports and for audit checkpoints, on the command line a verifier runs."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from hub.timestamps import Stamper, TimestampError, check, load_chain
from hub.verifying import verify_export
from tests.hub.test_checkpoints_cli import seed_audited
from tests.tsa import make_ca, require_openssl, running_tsa


async def test_a_stamp_from_the_tsa_verifies_here_and_with_openssl(tmp_path: Path) -> None:
    openssl = require_openssl()
    data = b"liaison-audit-checkpoint/1 42 " + b"ab" * 32
    with running_tsa() as tsa:
        token = await Stamper(tsa.url, 10.0).stamp(data)
        assert token is not None and tsa.requests == 1
        chain = load_chain(tsa.chain)
        when = check(token, data, chain)
        assert abs((when - dt.datetime.now(dt.UTC)).total_seconds()) < 120
        # OpenSSL agrees, from the same bytes (an independent verifier).
        (tmp_path / "data").write_bytes(data)
        (tmp_path / "r.tsr").write_bytes(base64.b64decode(token))
        root, leaf = chain[0].public_bytes(serialization.Encoding.PEM), \
            chain[1].public_bytes(serialization.Encoding.PEM)
        (tmp_path / "root.pem").write_bytes(root)
        (tmp_path / "tsa.pem").write_bytes(leaf)
        done = subprocess.run([openssl, "ts", "-verify", "-data", str(tmp_path / "data"),
                               "-in", str(tmp_path / "r.tsr"), "-CAfile",
                               str(tmp_path / "root.pem"), "-untrusted",
                               str(tmp_path / "tsa.pem")],
                              capture_output=True, text=True, timeout=30, check=False)
        assert "Verification: OK" in done.stdout, done.stdout + done.stderr
        # A stamp for other bytes, and one checked against another TSA's chain.
        with pytest.raises(TimestampError, match="other bytes"):
            check(token, data + b"x", chain)
        _, other_root = make_ca("Another TSA Root")
        with pytest.raises(TimestampError, match="does not verify"):
            check(token, data, [other_root])
    with pytest.raises(TimestampError, match="not a readable"):
        check("bm90IGEgdG9rZW4=", data, chain)


async def test_a_tsa_certificate_expired_when_it_stamped_is_refused() -> None:
    data = b"an export's manifest"
    with running_tsa(expired=True) as tsa:
        token = await Stamper(tsa.url, 10.0).stamp(data)
        assert token is not None  # OpenSSL signs with it all the same...
        with pytest.raises(TimestampError, match="does not verify"):
            check(token, data, load_chain(tsa.chain))  # ...but it was not valid then


async def test_an_unreachable_tsa_leaves_the_stamp_out() -> None:
    assert await Stamper("http://127.0.0.1:9/tsa", 2.0).stamp(b"x") is None


def _liaison(data_dir: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "liaison", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, **env})


def test_exports_and_checkpoints_are_stamped_and_a_verifier_names_what_fails(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with running_tsa() as tsa:
        env = {"LIAISON_TSA_URL": tsa.url, "LIAISON_AUDIT_CHECKPOINT_RECORDS": "10"}

        seed_audited(data_dir, 20, tsa_url=tsa.url)
        (tmp_path / "chain.pem").write_bytes(tsa.chain)
        assert _liaison(data_dir, "op", "custodian", "OP-B", "xavier", env=env).returncode == 0
        done = _liaison(data_dir, "op", "export", "OP-B", "--custodian", "xavier",
                        "--out", str(tmp_path / "stamped.zip"), env=env)
        assert done.returncode == 0, done.stderr
        assert tsa.requests >= 4  # the checkpoints and the export
    keys = _liaison(data_dir, "export", "public-key", env={}).stdout
    (tmp_path / "keys.pem").write_text(keys)
    out = io.StringIO()
    assert verify_export(tmp_path / "stamped.zip", tmp_path / "keys.pem", out,
                         tsa_cert=tmp_path / "chain.pem") == 0, out.getvalue()
    assert "time-stamped by the TSA at" in out.getvalue()
    # Another TSA's chain: the stamp is named as failing.
    _, other = make_ca("Another TSA Root")
    (tmp_path / "other.pem").write_bytes(other.public_bytes(serialization.Encoding.PEM))
    out = io.StringIO()
    assert verify_export(tmp_path / "stamped.zip", tmp_path / "keys.pem", out,
                         tsa_cert=tmp_path / "other.pem") == 1
    assert "the manifest's time-stamp fails" in out.getvalue()
    # An export made while no TSA was configured has none, and says so.
    done = _liaison(data_dir, "op", "export", "OP-B", "--custodian", "xavier",
                    "--out", str(tmp_path / "plain.zip"), env={})
    assert done.returncode == 0, done.stderr
    out = io.StringIO()
    assert verify_export(tmp_path / "plain.zip", tmp_path / "keys.pem", out,
                         tsa_cert=tmp_path / "chain.pem") == 1
    assert "the manifest has no time-stamp" in out.getvalue()
    # The audit trail: every stamped checkpoint verifies; one whose stamp was swapped for
    # another checkpoint's is named, and so is one with none.
    trail = tmp_path / "trail.jsonl"
    assert _liaison(data_dir, "audit", "export", "-o", str(trail), env={}).returncode == 0
    args = ("audit", "verify", "--records", str(trail), "--public-key",
            str(tmp_path / "keys.pem"), "--tsa-cert", str(tmp_path / "chain.pem"))
    records = [json.loads(line) for line in trail.read_text().splitlines()]
    stamped = [r for r in records if r["action"] == "audit.checkpoint"
               and "timestamp" in r["details"]]
    assert len(stamped) >= 2
    done = _liaison(data_dir, *args, env={})
    if any(r["action"] == "audit.checkpoint" and "timestamp" not in r["details"]
           for r in records):
        assert done.returncode == 1 and "has no time-stamp" in done.stdout
    else:
        assert done.returncode == 0 and "time-stamped by the TSA" in done.stdout, done.stdout
    # Changed afterwards (the last checkpoint, which no later one covers by its digest):
    # a stamp of another checkpoint, then none at all, each named.
    first, last = stamped[0], stamped[-1]
    for change, expected in (
            ({**last["details"], "timestamp": first["details"]["timestamp"]},
             f"checkpoint at record {last['seq']}: its time-stamp fails: it stamps other "
             "bytes"),
            ({k: v for k, v in last["details"].items() if k != "timestamp"},
             f"checkpoint at record {last['seq']} has no time-stamp")):
        changed = [{**r, "details": change} if r["seq"] == last["seq"] else r
                   for r in records]
        trail.write_text("".join(json.dumps(r) + "\n" for r in changed))
        done = _liaison(data_dir, *args, env={})
        assert done.returncode == 1 and expected in done.stdout, done.stdout
