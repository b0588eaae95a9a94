"""Artifacts and signatures, byte by byte: what unpacks, what is refused, and minisign's formats."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from engine.errors import SignatureError, UnsafeArchive
from engine.registry.signing import PublicKey, SecretKey, verify
from engine.registry.unpack import unpack

PLUGIN = "--[[---\nid: solo\nversion: 1.0.0\n---]]\nreturn {}\n"


def zipped(*entries: tuple[str, str, int]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text, mode in entries:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
    return buffer.getvalue()


def test_a_folder_plugin_in_one_top_folder_and_a_single_file_unpack(tmp_path: Path) -> None:
    folder = zipped(
        ("lib/plugin.yaml", "id: lib\nversion: 1.0.0\nentry: m.lua\n", 0o100644), ("lib/m.lua", "return {}", 0o100644)
    )
    assert unpack(folder, "lib.zip", tmp_path / "a", 1 << 20) == tmp_path / "a" / "lib"
    assert unpack(zipped(("solo.lua", PLUGIN, 0o100644)), "solo.zip", tmp_path / "b", 1 << 20).name == "solo.lua"
    assert unpack(PLUGIN.encode(), "solo.lua", tmp_path / "c", 1 << 20).read_text() == PLUGIN


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (("/etc/cron.d/x", "x", 0o100644), "is an absolute path"),
        (("a/../../x.lua", "x", 0o100644), "climbs out of its folder"),
        (("link.lua", "/etc/passwd", stat.S_IFLNK | 0o777), "is a link"),
    ],
)
def test_entries_that_escape_are_refused(tmp_path: Path, entry: tuple[str, str, int], message: str) -> None:
    with pytest.raises(UnsafeArchive, match=message):
        unpack(zipped(("solo.lua", PLUGIN, 0o100644), entry), "evil.zip", tmp_path / "dest", 1 << 20)
    assert not (tmp_path / "x.lua").exists()


def test_a_zip_bomb_stops_at_the_cap_counted_as_it_is_written(tmp_path: Path) -> None:
    bomb = zipped(("solo.lua", PLUGIN + "--" + "x" * (4 << 20), 0o100644))
    assert len(bomb) < 64 << 10
    with pytest.raises(UnsafeArchive, match="max_plugin_size"):
        unpack(bomb, "bomb.zip", tmp_path / "dest", 1 << 20)


def test_an_artifact_with_two_plugins_or_none_is_refused(tmp_path: Path) -> None:
    two = zipped(("a.lua", PLUGIN, 0o100644), ("b.lua", PLUGIN, 0o100644))
    with pytest.raises(UnsafeArchive, match="holds 2 plugins"):
        unpack(two, "two.zip", tmp_path / "dest", 1 << 20)


def test_signatures_verify_prehashed_and_refuse_a_changed_trusted_comment() -> None:
    key = SecretKey.generate()
    signature = key.sign(b"index", "serial:4")
    public = PublicKey.parse(str(key.public))
    assert verify(b"index", signature, public, what="index") == "serial:4"
    with pytest.raises(SignatureError, match="does not match its content"):
        verify(b"index!", signature, public, what="index")
    forged = signature.replace("trusted comment: serial:4", "trusted comment: serial:9")
    with pytest.raises(SignatureError, match="trusted comment was changed"):
        verify(b"index", forged, public, what="index")
    with pytest.raises(SignatureError, match="signed by key"):
        verify(b"index", signature, SecretKey.generate().public, what="index")


def test_a_secret_key_round_trips_and_a_corrupt_one_is_refused() -> None:
    key = SecretKey.generate()
    again = SecretKey.parse(key.dump())
    assert str(again.public) == str(key.public)
    text = key.dump().splitlines()[1]
    corrupt = text[:-10] + ("A" if text[-10] != "A" else "B") + text[-9:]
    with pytest.raises(SignatureError):
        SecretKey.parse(corrupt)
