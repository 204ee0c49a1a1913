"""liaison/cli.py and liaison/admin.py: the operator's commands, run in-process on a data directory.

Each command opens the store, does one thing through the same services the
hub uses, and closes it again, so the commands below build up one hub's state
step by step exactly as an operator would.
"""

from __future__ import annotations

import io
import re
import socket
import sys
from pathlib import Path

import pyotp
import pytest

from liaison.cli import _port_taken, main

PASSWORD = "correct horse battery"


class Liaison:
    """`liaison --data-dir D ...` with stdin, stdout and stderr of its own."""

    def __init__(self, data_dir: Path, capsys: pytest.CaptureFixture[str],
                 monkeypatch: pytest.MonkeyPatch) -> None:
        self.data_dir = data_dir
        self._capsys = capsys
        self._monkeypatch = monkeypatch

    def __call__(self, *args: str, stdin: str = "") -> tuple[int, str, str]:
        self._monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        self._capsys.readouterr()
        try:
            code = main(["--data-dir", str(self.data_dir), *args])
        except SystemExit as exc:  # argparse, or a command naming what is missing
            code = exc.code if isinstance(exc.code, int) else 1
            if isinstance(exc.code, str):
                print(exc.code, file=sys.stderr)
        out, err = self._capsys.readouterr()
        return code, out, err


@pytest.fixture
def liaison(tmp_path: Path, capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> Liaison:
    monkeypatch.delenv("LIAISON_CONFIG", raising=False)
    return Liaison(tmp_path / "data", capsys, monkeypatch)


@pytest.fixture
def seeded(liaison: Liaison) -> Liaison:
    assert liaison("init", "root", "--agency", "HUB", "--password-stdin",
                   stdin=PASSWORD + "\n")[0] == 0
    assert liaison("user", "add", "alice", "--agency", "POLICE", "--display-name", "Alice",
                   "--password-stdin", stdin=PASSWORD + "\n")[0] == 0
    assert liaison("op", "create", "FLOOD", "--name", "Flood", "--agencies",
                   "POLICE, ARMY")[0] == 0
    return liaison


def test_init_creates_the_first_administrator_once(liaison: Liaison) -> None:
    code, out, _ = liaison("init", "root", "--agency", "HUB", "--password-stdin",
                           stdin=PASSWORD + "\n")
    assert (code, out.strip()) == (0, "created administrator root")
    code, _, err = liaison("init", "other", "--agency", "HUB", "--password-stdin",
                           stdin=PASSWORD + "\n")
    assert code == 1 and "an administrator exists already" in err
    _, out, _ = liaison("user", "list")
    assert out.splitlines() == ["root\tHUB\troot\tadmin"]


def test_users_bots_and_their_flags(seeded: Liaison) -> None:
    code, out, _ = seeded("user", "add", "feeder", "--agency", "POLICE", "--bot")
    assert (code, out.strip()) == (0, "created bot feeder (POLICE)")
    assert seeded("user", "disable", "alice")[1].strip() == "disabled alice"
    lines = dict(line.split("\t", 1) for line in seeded("user", "list")[1].splitlines())
    assert lines["alice"] == "POLICE\tAlice\tdisabled"
    assert lines["feeder"] == "POLICE\tfeeder\tbot"
    assert seeded("user", "enable", "alice")[1].strip() == "enabled alice"
    lines = dict(line.split("\t", 1) for line in seeded("user", "list")[1].splitlines())
    assert lines["alice"] == "POLICE\tAlice\t"


def test_clearances_are_set_checked_and_shown(seeded: Liaison) -> None:
    assert seeded("user", "add", "bruno", "--agency", "ARMY", "--clearance", "COSMIC",
                  "--password-stdin", stdin=PASSWORD + "\n")[0] == 2
    assert seeded("user", "add", "bruno", "--agency", "ARMY", "--clearance", "SECRET",
                  "--password-stdin", stdin=PASSWORD + "\n")[0] == 0
    code, out, _ = seeded("user", "clearance", "alice", "CONFIDENTIAL", "--grant",
                          "REL TO=UN,BORDER")
    assert code == 0 and "cleared to CONFIDENTIAL REL TO BORDER, UN (agency POLICE)" in out
    code, _, err = seeded("user", "clearance", "alice", "TOP")
    assert code == 2 and "clearance.level" in err
    code, _, err = seeded("user", "clearance", "alice", "SECRET", "--grant", "NOFORN=X")
    assert code == 2 and "not a category" in err
    # The first administrator is cleared to the top: they label the first operations.
    assert seeded("op", "create", "HIGH", "--name", "High", "--classification",
                  "SECRET")[0] == 0
    lines = [line.split("\t") for line in seeded("op", "list")[1].splitlines()]
    assert ["HIGH", "SECRET"] in [[c, cls] for c, _, _, cls, _ in lines]


def test_a_weak_password_or_bad_name_is_refused_with_a_message(seeded: Liaison) -> None:
    code, _, err = seeded("user", "add", "bob", "--agency", "ARMY", "--password-stdin",
                          stdin="short\n")
    assert code == 1 and "password must be at least 10 characters" in err
    code, _, err = seeded("user", "add", "bad name", "--agency", "ARMY", "--password-stdin",
                          stdin=PASSWORD + "\n")
    assert code == 1 and "username:" in err
    assert "bob" not in seeded("user", "list")[1]


def test_commands_naming_someone_missing_say_so(seeded: Liaison) -> None:
    for args in (("user", "disable", "ghost"), ("op", "member", "FLOOD", "ghost"),
                 ("op", "channel", "NOPE", "general"),
                 ("token", "create", "--user", "alice", "--operation", "NOPE")):
        code, _, err = seeded(*args)
        assert code != 0 and ("no user" in err or "no operation" in err
                              or "no such user" in err), (args, err)


def test_operations_members_and_channels(seeded: Liaison) -> None:
    code, out, _ = seeded("op", "member", "FLOOD", "alice", "--role", "coordinator")
    assert (code, out.strip()) == (0, "alice is coordinator in FLOOD")
    code, out, _ = seeded("op", "channel", "FLOOD", "police", "--agencies", "POLICE",
                          "--topic", "police only")
    assert code == 0 and re.fullmatch(r"created channel police \(ch_[\w-]+\)", out.strip())
    code, _, err = seeded("op", "channel", "FLOOD", "ngo", "--agencies", "RED-CROSS")
    assert code == 1 and "'agencies' must take part in the operation" in err
    [line] = seeded("op", "list")[1].splitlines()
    code_, op_id, status, classification, name = line.split("\t")
    assert (code_, status, classification, name) == ("FLOOD", "active", "UNCLASSIFIED",
                                                     "Flood")
    assert op_id.startswith("op_")
    code, _, err = seeded("op", "create", "FLOOD", "--name", "Again")
    assert code == 1 and "operation code FLOOD is taken" in err
    code, _, err = seeded("op", "member", "FLOOD", "alice", "--role", "boss")
    assert code == 2 and "invalid choice" in err  # argparse refuses it


def test_tokens_are_shown_once_listed_by_id_and_revoked(seeded: Liaison) -> None:
    seeded("user", "add", "feeder", "--agency", "POLICE", "--bot")
    code, out, _ = seeded("token", "create", "--user", "feeder", "--operation", "FLOOD",
                          "--name", "river gauges")
    token_id = re.search(r"token id: (tok_[\w-]+)", out).group(1)  # type: ignore[union-attr]
    secret = out.strip().splitlines()[-1]
    assert code == 0 and secret.startswith("lht_")
    [line] = seeded("token", "list")[1].splitlines()
    assert line.split("\t")[:4] == [token_id, "feeder", "river gauges", "live"]
    assert secret not in seeded("token", "list")[1]  # never the secret again
    assert seeded("token", "revoke", token_id)[1].strip() == f"revoked {token_id}"
    assert seeded("token", "list")[1].split("\t")[3] == "revoked"
    code, _, err = seeded("token", "revoke", token_id)
    assert code == 1 and "no live token" in err


def test_passwd_changes_the_password(seeded: Liaison) -> None:
    code, out, _ = seeded("user", "passwd", "alice", "--password-stdin",
                          stdin="another long password\n")
    assert code == 0 and "their sessions were ended" in out


def test_totp_enrolment_needs_a_matching_code(seeded: Liaison,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = seeded("user", "totp", "alice", stdin="000000\n")
    assert code == 1 and "the code does not match" in err
    assert "TOTP secret for alice:" in out and "otpauth://totp/" in out
    assert "totp" not in seeded("user", "list")[1]

    real = pyotp.random_base32

    def remembered() -> str:
        remembered.secret = real()  # type: ignore[attr-defined]
        return remembered.secret  # type: ignore[attr-defined, no-any-return]

    monkeypatch.setattr(pyotp, "random_base32", remembered)
    # The code is typed after the secret is shown: answer with the code of that secret.
    monkeypatch.setattr("sys.stdin", _Answer(lambda: pyotp.TOTP(
        remembered.secret).now()))  # type: ignore[attr-defined]
    code = main(["--data-dir", str(seeded.data_dir), "user", "totp", "alice"])
    assert code == 0
    lines = dict(line.split("\t", 1) for line in seeded("user", "list")[1].splitlines())
    assert lines["alice"].endswith("totp")


class _Answer:
    """A stdin whose next line is computed when it is read."""

    def __init__(self, answer: object) -> None:
        self._answer = answer

    def readline(self) -> str:
        return f"{self._answer()}\n"  # type: ignore[operator]


def test_rule_files_are_checked_and_loaded(seeded: Liaison, tmp_path: Path) -> None:
    good = tmp_path / "rules.toml"
    good.write_text('[[rules]]\nid = "crit"\nwhen = \'severity == "critical"\'\n',
                    encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rules]]\nid = "crit"\nwhen = "severity = 1"\n', encoding="utf-8")
    code, out, _ = seeded("rules", "check", str(good))
    assert code == 0 and "1 rule" in out
    code, _, err = seeded("rules", "check", str(bad))
    assert code != 0 and "column 10" in err
    code, out, _ = seeded("rules", "load", "FLOOD", str(good))
    assert code == 0 and "rule crit" in out
    code, out, _ = seeded("rules", "load", "FLOOD", str(good))
    assert code == 0 and "rule crit" not in out  # nothing changed the second time


def test_repair_on_a_clean_store_finds_nothing(seeded: Liaison) -> None:
    code, out, _ = seeded("repair", "--dry-run")
    assert code == 0 and re.search(r"\b0\b", out)


def test_a_configuration_error_is_reported_not_raised(liaison: Liaison,
                                                      tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("port = 99999\n", encoding="utf-8")
    code, _, err = liaison("--config", str(cfg), "user", "list")
    assert code == 2 and "configuration error: port out of range" in err


def test_an_unknown_command_is_a_usage_error(liaison: Liaison) -> None:
    code, _, err = liaison("frobnicate")
    assert code == 2 and "invalid choice" in err


def test_demo_on_a_port_in_use_says_so_before_printing_anything(
        liaison: Liaison) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = liaison("demo", "--host", "127.0.0.1", "--port", str(port))
    assert code == 1
    assert out == ""  # no banner, no credentials: nothing that looks like a start
    assert f"cannot listen on 127.0.0.1:{port}: the port is already in use" in err
    assert "--port N" in err and "LIAISON_PORT=N" in err
    assert not (liaison.data_dir / "demo-credentials.txt").exists()  # nothing seeded


def test_a_free_port_or_one_left_in_time_wait_is_not_taken() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert _port_taken("127.0.0.1", port) is None
    assert _port_taken("no-such-host.invalid", 80) is not None


def test_an_operation_is_exported_and_verified_offline(seeded: Liaison, tmp_path: Path) -> None:
    """Issue 26, item 1: the CLI exported as an anonymous "HUB" principal that no label
    names (0 of 5 channels). It exports only as a named custodian, the complete record."""
    archive, key = tmp_path / "flood.zip", tmp_path / "hub.pem"
    code, _, err = seeded("op", "export", "FLOOD", "--out", str(archive))
    assert code == 2 and "--custodian" in err  # no anonymous export
    code, _, err = seeded("op", "export", "FLOOD", "--custodian", "alice", "--out", str(archive))
    assert code == 1 and "only the operation's custodians" in err and not archive.exists()
    code, _, err = seeded("op", "custodian", "FLOOD", "alice")
    assert code == 1 and "no such member" in err  # custody is a member's
    assert seeded("op", "member", "FLOOD", "alice", "--role", "observer")[0] == 0
    code, out, _ = seeded("op", "custodian", "FLOOD", "alice")
    assert code == 0 and "alice is a custodian of FLOOD" in out
    code, out, _ = seeded("op", "export", "FLOOD", "--custodian", "alice", "--out", str(archive))
    assert code == 0 and out.startswith(f"wrote {archive}") and archive.exists()
    code, pem, _ = seeded("export", "public-key")
    assert code == 0 and pem.startswith("-----BEGIN PUBLIC KEY-----")
    key.write_text(pem)
    code, out, _ = seeded("export", "verify", str(archive), "--public-key", str(key))
    assert code == 0 and "verified" in out and "FLOOD" in out
    assert "exported by alice (complete: custodian)" in out
    code, out, _ = seeded("audit", "export")
    assert '"action":"custodian.grant"' in out.replace(" ", "")
    assert seeded("op", "custodian", "FLOOD", "alice", "--withdraw")[0] == 0
    assert seeded("op", "export", "FLOOD", "--custodian", "alice",
                  "--out", str(tmp_path / "again.zip"))[0] == 1
    archive.write_bytes(archive.read_bytes()[:-40])  # a damaged archive is no proof
    code, out, _ = seeded("export", "verify", str(archive), "--public-key", str(key))
    assert code == 1 and "NOT VERIFIED" in out
    code, _, err = seeded("export", "verify", str(archive), "--public-key",
                          str(tmp_path / "missing.pem"))
    assert code == 2 and "missing.pem" in err
