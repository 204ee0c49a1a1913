"""Settings: read once at start-up into one frozen object.

Sources, later ones winning: built-in defaults, a TOML file (``LIAISON_CONFIG`` or
``--config``), then ``LIAISON_*`` environment variables (:mod:`hub.config_sources`
reads them). Nothing below
:func:`liaison.app.create_app` reads the environment; everything receives a
:class:`Settings`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.labels import DEFAULT_COLOURS, Policy
from hub.language.engines import engine_spec
from hub.maptiles import tile_origin

__all__ = ["REDIS_SCHEMES", "ConfigError", "Settings"]


_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


class ConfigError(ValueError):
    """Raised when a configuration value is missing, malformed or out of range."""


#: URL schemes of the Redis engine: one server, or a cluster's seed nodes.
REDIS_SCHEMES = ("redis://", "rediss://", "unix://", "redis+cluster://",
                 "rediss+cluster://")


@dataclass(frozen=True, slots=True)
class Settings:
    # --- Network -----------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8080
    #: Origins (scheme://host[:port]) allowed to open a cookie-authenticated
    #: WebSocket besides the hub's own origin (taken from the Host header).
    allowed_origins: tuple[str, ...] = ()
    #: Peer addresses whose X-Forwarded-For header is believed. Empty: never.
    trusted_proxies: tuple[str, ...] = ()

    # --- Storage -----------------------------------------------------------
    data_dir: Path = Path("liaison-data")
    #: "embedded" (SQLite + in-process broker, one process), a Redis URL such as
    #: "redis://127.0.0.1:6379/0" (several processes act as one hub), or a Redis
    #: Cluster's seed nodes: "redis+cluster://10.0.0.1:6379,10.0.0.2:6379".
    engine: str = "embedded"
    #: Prefix of every Redis key and channel, so hubs can share a server (no braces:
    #: the hub places the cluster hash tags itself).
    redis_prefix: str = "liaison:"
    #: How long a client_msg_id is remembered for idempotent retries (Redis engine).
    redis_idempotency_seconds: int = 7 * 86400
    #: A crashed process's users leave presence within this many seconds.
    presence_ttl_seconds: float = 30.0
    #: How long an access check's reading of a channel, its operation and the caller's
    #: role answers that caller's next checks there. The hub's own changes take effect at
    #: once on every node; this bounds only changes another process writes to the store
    #: directly. 0: read for every check.
    access_cache_seconds: float = 1.0
    #: SQLite ``synchronous`` pragma in WAL mode: FULL survives power loss,
    #: NORMAL survives process crashes only.
    sqlite_synchronous: str = "FULL"
    #: Messages kept per channel; 0 keeps everything.
    retention_messages: int = 0
    #: Where the hub's keys live: outside the data directory, so a copy of the data
    #: (or whoever can rewrite it) does not hold them. Empty: the data directory's
    #: sibling ``<data_dir>-keys``. Keep it on a volume of its own (see README).
    key_dir: str = ""
    #: The audit key file (HMAC keys of the audit chain, kept outside the
    #: database); empty: <key_dir>/audit.key, created on first start.
    audit_key_file: str = ""
    #: The Ed25519 key that signs operation exports and audit checkpoints
    #: (empty: <key_dir>/signing.key); its public keys are in the file + ".pub".
    export_key_file: str = ""
    #: The audit trail's head is signed (an ``audit.checkpoint`` record) after this
    #: many records, and after this many seconds when records came since.
    audit_checkpoint_records: int = 100
    audit_checkpoint_seconds: float = 60.0
    #: An RFC 3161 Time-Stamp Authority (``http(s)://...``) that stamps every export's
    #: manifest and every audit checkpoint; empty: none. Its answer is awaited at most
    #: ``tsa_timeout_seconds``; without one, the stamp is left out (and logged).
    tsa_url: str = ""
    tsa_timeout_seconds: float = 5.0

    # --- Alerting --------------------------------------------------------------
    #: A TOML or YAML file of rules and escalation policies every operation
    #: starts with (an operation's own rule or policy of the same id wins).
    rules_file: str = ""
    #: The node running the alert pipeline renews its lease this often x 1/3;
    #: another node takes over this long after it vanished.
    alerting_lease_seconds: float = 10.0
    #: A monitoring system's notification sent again within this many seconds
    #: (Alertmanager retrying) is recognised and changes nothing.
    alert_resend_seconds: float = 300.0
    #: CAP 1.2 out: the <sender> of the hub's documents, and the least severe
    #: case or alert published as CAP (info, minor, major or critical).
    cap_sender: str = "liaison-hub"
    cap_min_severity: str = "major"
    #: CAP in: senders bound to the users or bots that alone may post them, each
    #: ``SENDER=user1|user2`` (``civil-protection@example.org=cp-bot``). A sender
    #: not listed may be posted by any member who may post CAP; its messages are
    #: still told apart by who posted them.
    cap_senders: tuple[str, ...] = ()

    # --- Limits ------------------------------------------------------------
    max_frame_bytes: int = 64 * 1024
    max_text_chars: int = 4000
    max_subscriptions: int = 100
    max_connections_per_user: int = 20
    publish_rate: float = 10.0  # sustained publishes per second per user
    publish_burst: int = 30
    #: Posts per second each incoming webhook may make, sustained, and its burst.
    webhook_post_rate: float = 1.0
    webhook_post_burst: int = 30
    #: Outgoing webhooks only call public addresses, unless a network here
    #: names the target (``10.20.0.0/16``, ``127.0.0.1``): see alerting/interop/outgoing_sender.py.
    webhook_allow_networks: tuple[str, ...] = ()
    #: The longest one outgoing webhook request may take.
    webhook_timeout_seconds: float = 10.0
    send_queue_frames: int = 1000
    send_timeout_seconds: float = 30.0
    hello_timeout_seconds: float = 10.0
    max_body_bytes: int = 64 * 1024
    #: Largest body a monitoring system may post to a receiver (a group of alerts).
    max_receiver_body_bytes: int = 1024 * 1024

    # --- Files ----------------------------------------------------------------
    #: Where uploaded files are kept, once per distinct content (hub.blobs). Empty:
    #: <data_dir>/blobs. With the Redis engine, a folder every hub process shares.
    blob_dir: str = ""
    #: Largest file one upload may be (refused at creation, before any byte is sent).
    max_upload_bytes: int = 25 * 1024 * 1024
    #: An unfinished upload untouched this long expires and its bytes are deleted.
    upload_expiry_seconds: float = 24 * 3600.0
    #: An image of more pixels than this is refused before it is decoded (bombs).
    max_image_pixels: int = 50_000_000
    #: A command that checks each file before it is kept (its path appended; exit
    #: status 0: clean). Empty: none. See hub/scanner.py.
    file_scanner: str = ""
    file_scanner_timeout_seconds: float = 60.0
    #: How often files no message or case refers to are looked for and deleted (those
    #: unused for upload_expiry_seconds). See channels/blob_sweep.py.
    blob_sweep_seconds: float = 6 * 3600.0
    #: How long the link to a file an outgoing webhook carries works.
    webhook_link_seconds: float = 7 * 24 * 3600.0
    #: The hub's address as others reach it ("https://hub.example.org"): the links
    #: webhooks carry start with it. Empty: they are paths on the hub.
    public_url: str = ""

    # --- Translation ----------------------------------------------------------
    #: The self-hosted machine translation engine operations may switch on:
    #: "apertium+http://127.0.0.1:2737" (Apertium APy) or "libretranslate+https://host".
    #: Empty: none, and no text ever leaves the hub. See hub/language.
    translation_engine: str = ""
    #: LibreTranslate's API key, if its server asks for one.
    translation_api_key: str = field(default="", repr=False)
    translation_timeout_seconds: float = 10.0
    #: Engine calls in flight at once, per hub process; more wait their turn.
    translation_concurrency: int = 4
    #: How often translations that failed (the engine away) are tried again.
    translation_retry_seconds: float = 5.0

    # --- Sessions and login ---------------------------------------------------
    session_idle_seconds: int = 3600
    session_absolute_seconds: int = 12 * 3600
    #: "auto" marks the cookie Secure when the request came over https.
    cookie_secure: str = "auto"
    login_failures_per_account: int = 10
    login_failures_per_address: int = 50
    login_window_seconds: int = 600
    #: Roles that must use a TOTP second factor: any of "admin", "coordinator".
    require_totp_for: tuple[str, ...] = ()
    revocation_poll_seconds: float = 2.0

    # --- Password hashing (argon2id) ----------------------------------------------
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19456
    argon2_parallelism: int = 1
    argon2_max_concurrent: int = 2

    # --- Garbage collection (see hub/gcpolicy.py) ---------------------------------
    gc_freeze: bool = True
    gc_full_collect_seconds: float = 600.0

    # --- The board's map (see hub/maptiles.py) ---------------------------------
    #: An XYZ tile URL template of the deployment's own tile server, drawn under
    #: the cases; empty: the bundled country outlines only (no internet needed).
    map_tile_url: str = ""
    #: The credit the tiles' licence asks for, shown on the map (required with a URL).
    map_tile_attribution: str = ""
    #: A raster PMTiles archive on the hub's disk (hub/tilearchive.py), served as the
    #: map's tiles with no tile server and no network: the map of the operation's area.
    map_tile_archive: str = ""

    # --- Confidentiality labels (hub.labels) ----------------------------------
    #: The policy's name, its levels from lowest to highest, its category names (all
    #: permissive: a reader holds one of the listed values; "REL TO" values are
    #: agencies), and banner colours as "LEVEL=#rrggbb" entries.
    label_policy_name: str = "LIAISON"
    label_levels: tuple[str, ...] = ("UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET")
    label_categories: tuple[str, ...] = ("REL TO",)
    label_colours: tuple[str, ...] = tuple(f"{lvl}={c}" for lvl, c in DEFAULT_COLOURS)
    #: Built from the four settings above when the settings are read.
    labels: Policy = field(init=False, repr=False, compare=False)
    #: ``cap_senders`` read: each bound sender and who may post it.
    cap_bindings: Mapping[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    # --- Logging -------------------------------------------------------------
    log_level: str = "INFO"

    # --- WebSocket transport ------------------------------------------------
    ws_ping_interval: float = 20.0

    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536 and self.port != 0:
            raise ConfigError(f"port out of range: {self.port}")
        if self.engine != "embedded" and not self.engine.startswith(REDIS_SCHEMES):
            raise ConfigError("engine must be 'embedded', a redis:// URL or "
                              "redis+cluster://host:port[,host:port...]")
        if "{" in self.redis_prefix or "}" in self.redis_prefix:
            raise ConfigError("redis_prefix cannot contain braces: the hub places the "
                              "cluster hash tags itself")
        if not 0 <= self.access_cache_seconds <= 60:
            raise ConfigError("access_cache_seconds must be between 0 and 60")
        if self.sqlite_synchronous.upper() not in {"FULL", "NORMAL", "EXTRA"}:
            raise ConfigError("sqlite_synchronous must be FULL, NORMAL or EXTRA")
        if self.argon2_memory_kib < 19456 or self.argon2_time_cost < 2:
            raise ConfigError("argon2 parameters below the OWASP minimum (m=19456 KiB, t=2)")
        if self.max_frame_bytes > 1024 * 1024:
            raise ConfigError("max_frame_bytes above 1 MiB is refused")
        if self.cookie_secure not in {"auto", "always", "never"}:
            raise ConfigError("cookie_secure must be auto, always or never")
        bad = set(self.require_totp_for) - {"admin", "coordinator"}
        if bad:
            raise ConfigError(f"require_totp_for: unknown role(s) {sorted(bad)}")
        for name in ("publish_rate", "publish_burst", "send_queue_frames", "max_subscriptions",
                     "alerting_lease_seconds", "webhook_post_rate", "webhook_post_burst",
                     "audit_checkpoint_records", "audit_checkpoint_seconds",
                     "max_upload_bytes", "upload_expiry_seconds", "max_image_pixels",
                     "webhook_link_seconds", "file_scanner_timeout_seconds",
                     "blob_sweep_seconds", "translation_timeout_seconds",
                     "translation_concurrency", "translation_retry_seconds"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive")

        try:
            scanner = shlex.split(self.file_scanner)
        except ValueError as exc:
            raise ConfigError(f"file_scanner: {exc}") from None
        if self.file_scanner.strip() and not scanner:
            raise ConfigError("file_scanner must name a command")
        if self.translation_engine:
            try:
                engine_spec(self.translation_engine)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        if self.public_url and (not self.public_url.startswith(("http://", "https://"))
                                or self.public_url.endswith("/")):
            raise ConfigError("public_url must be an http:// or https:// URL without a "
                              "trailing /")
        if self.tsa_url and not self.tsa_url.startswith(("http://", "https://")):
            raise ConfigError("tsa_url must be an http:// or https:// URL")
        if not 0 < self.tsa_timeout_seconds <= 60:
            raise ConfigError("tsa_timeout_seconds must be between 0 and 60")
        for net in self.webhook_allow_networks:
            try:
                ipaddress.ip_network(net.strip(), strict=False)
            except ValueError:
                raise ConfigError(f"webhook_allow_networks: {net!r} is not a network") from None
        if not 0 < self.webhook_timeout_seconds <= 60:
            raise ConfigError("webhook_timeout_seconds must be between 0 and 60")
        if self.cap_min_severity not in ("info", "minor", "major", "critical"):
            raise ConfigError("cap_min_severity must be info, minor, major or critical")
        if not self.cap_sender or any(c in self.cap_sender for c in " ,<&\t\n") \
                or len(self.cap_sender) > 100:
            raise ConfigError("cap_sender: no spaces, commas, '<' or '&' (CAP forbids them)")
        object.__setattr__(self, "cap_bindings", self._cap_bindings())
        if self.map_tile_url:
            try:
                tile_origin(self.map_tile_url)
            except ValueError as exc:
                raise ConfigError(str(exc)) from exc
            if not self.map_tile_attribution.strip():
                raise ConfigError("map_tile_attribution is required with map_tile_url "
                                  "(tile licences ask for credit)")
        if self.map_tile_url and self.map_tile_archive:
            raise ConfigError("map_tile_url and map_tile_archive: set one (a tile server "
                              "or an archive on the hub's disk), not both")
        if len(self.map_tile_attribution) > 300:
            raise ConfigError("map_tile_attribution: at most 300 characters")
        object.__setattr__(self, "labels", self._label_policy())

    def _cap_bindings(self) -> dict[str, frozenset[str]]:
        bound: dict[str, frozenset[str]] = {}
        for entry in self.cap_senders:
            sender, _, users = entry.rpartition("=")
            names = frozenset(u.strip() for u in users.split("|") if u.strip())
            if not sender.strip() or not names:
                raise ConfigError(f"cap_senders: {entry!r} is not SENDER=user1|user2")
            bound[sender.strip()] = bound.get(sender.strip(), frozenset()) | names
        return bound

    def _label_policy(self) -> Policy:
        colours = []
        for entry in self.label_colours:
            level, _, colour = entry.partition("=")
            if level.strip() not in self.label_levels or not _COLOUR.fullmatch(colour.strip()):
                raise ConfigError(f"label_colours: {entry!r} is not LEVEL=#rrggbb for a "
                                  "level of label_levels")
            colours.append((level.strip(), colour.strip()))
        try:
            return Policy(self.label_policy_name, self.label_levels, self.label_categories,
                          tuple(colours))
        except ValueError as exc:
            raise ConfigError(f"label policy: {exc}") from exc

    @property
    def database_path(self) -> Path:
        return self.data_dir / "hub.db"

    @property
    def blob_path(self) -> Path:
        return Path(self.blob_dir) if self.blob_dir else self.data_dir / "blobs"

    @property
    def key_path(self) -> Path:
        return Path(self.key_dir) if self.key_dir else \
            self.data_dir.with_name(self.data_dir.name + "-keys")

    @property
    def audit_key_path(self) -> Path:
        return Path(self.audit_key_file) if self.audit_key_file else \
            self._key_file("audit.key", "audit.key")

    @property
    def export_key_path(self) -> Path:
        return Path(self.export_key_file) if self.export_key_file else \
            self._key_file("signing.key", "export.key")

    def _key_file(self, name: str, legacy: str) -> Path:
        """``<key_dir>/name``; a hub from before the key directory keeps using the file
        it made in its data directory (README: moving keys out of the data directory)."""
        old = self.data_dir / legacy
        return old if old.exists() and not (self.key_path / name).exists() else \
            self.key_path / name

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)
