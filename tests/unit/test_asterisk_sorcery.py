"""The optional cached sorcery.conf is the default one plus caches, and caches only what
res_sorcery_memory_cache can serve: objects looked up one by one, or a full backend cache."""
from pathlib import Path

ASTERISK = Path(__file__).resolve().parents[2] / "asterisk"


def read_conf(name: str) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    current = None
    for raw in (ASTERISK / name).read_text().splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
        elif line:
            key, _, value = line.partition("=")
            current[key.strip()] = value.strip()
    return sections


def options(value: str) -> dict[str, str]:
    wizard, *rest = value.split(",")
    return {"wizard": wizard, **dict(item.split("=", 1) for item in rest)}


def test_the_cached_variant_reads_the_same_realtime_tables():
    plain, cached = read_conf("sorcery.conf"), read_conf("sorcery-cached.conf")
    assert plain.keys() == cached.keys()
    for section, entries in plain.items():
        backends = {key: value for key, value in cached[section].items() if not key.endswith("/cache")}
        assert backends == entries


def test_caches_expire_within_seconds_and_never_hold_contacts():
    cached = read_conf("sorcery-cached.conf")
    caches = {(section, key[:-len("/cache")]): options(value)
              for section, entries in cached.items() for key, value in entries.items()
              if key.endswith("/cache")}
    assert set(caches) == {("res_pjsip", "endpoint"), ("res_pjsip", "auth"), ("res_pjsip", "aor"),
                           ("res_pjsip_endpoint_identifier_ip", "identify")}
    for cache in caches.values():
        assert cache["wizard"] == "memory_cache"
        assert 0 < int(cache["object_lifetime_maximum"]) <= 60
    # identify rows are read all at once: only a full backend cache can answer that.
    assert caches[("res_pjsip_endpoint_identifier_ip", "identify")]["full_backend_cache"] == "yes"
