"""Images assembled from a few Debian packages: fetched from a mirror, checked as apt checks them.

A local mirror (Python's HTTP server) with a package built by dpkg-deb, an index compressed with
xz and an InRelease clear-signed by a throwaway key made with gpg: the real gpgv and dpkg-deb do
the checking and the unpacking.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from appforge.errors import BaseImageError
from appforge.sandbox.debs import _arch, unpack

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("gpg", "gpgv", "dpkg-deb")),
    reason="needs gpg, gpgv and dpkg-deb (Debian's)")


def _keyring(home: Path, name: str) -> Path:
    """A fresh signing key in ``home`` (a GNUPGHOME) and its public keyring file."""
    home.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key",
                    f"{name} <{name}@example.org>", "ed25519", "sign", "never"],
                   env=env, check=True, capture_output=True)
    keyring = home.parent / f"{name}.gpg"
    keyring.write_bytes(subprocess.run(["gpg", "--export"], env=env, check=True,
                                       capture_output=True).stdout)
    return keyring


def _stop_agent(home: Path) -> None:
    """gpg starts an agent per GNUPGHOME; it must not outlive the test."""
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env={**os.environ, "GNUPGHOME": str(home)},
                   capture_output=True)


def _deb(work: Path, name: str) -> Path:
    pkg = work / name
    (pkg / "DEBIAN").mkdir(parents=True)
    (pkg / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\n"
        "Description: a test package\n")
    (pkg / "usr" / "bin").mkdir(parents=True)
    (pkg / "usr" / "bin" / name).write_text("#!/bin/sh\necho hello\n")
    (pkg / "usr" / "share" / "ca-certificates" / "test").mkdir(parents=True)
    (pkg / "usr" / "share" / "ca-certificates" / "test" / "a.crt").write_text("CERT-A\n")
    (pkg / "usr" / "share" / "doc" / name).mkdir(parents=True)
    (pkg / "usr" / "share" / "doc" / name / "README").write_text("docs\n")
    out = work / f"{name}_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--build", str(pkg), str(out)], check=True, capture_output=True)
    return out


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """(base URL, the mirror's folder, the keyring that signed it)."""
    root = tmp_path / "mirror"
    pool = root / "pool" / "main"
    pool.mkdir(parents=True)
    deb = _deb(tmp_path / "build", "hello")
    shutil.copy(deb, pool / deb.name)
    data = deb.read_bytes()
    index = (f"Package: hello\nVersion: 1.0\nArchitecture: all\nFilename: pool/main/{deb.name}\n"
             f"Size: {len(data)}\nSHA256: {hashlib.sha256(data).hexdigest()}\n\n")
    packages = lzma.compress(index.encode())
    dists = root / "dists" / "test" / "main" / f"binary-{_arch()}"
    dists.mkdir(parents=True)
    (dists / "Packages.xz").write_bytes(packages)
    release = (f"Origin: test\nSuite: test\nSHA256:\n {hashlib.sha256(packages).hexdigest()} "
               f"{len(packages)} main/binary-{_arch()}/Packages.xz\n")
    keyring = _keyring(tmp_path / "gnupg", "mirror")
    signed = subprocess.run(["gpg", "--batch", "--clearsign", "--output", "-"],
                            input=release.encode(), check=True, capture_output=True,
                            env={**os.environ, "GNUPGHOME": str(tmp_path / "gnupg")}).stdout
    (root / "dists" / "test" / "InRelease").write_bytes(signed)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler,
                                                           directory=str(root)))
    server.RequestHandlerClass.log_message = lambda *_args: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", root, keyring
    finally:
        server.shutdown()
        _stop_agent(tmp_path / "gnupg")
        if (tmp_path / "other").exists():
            _stop_agent(tmp_path / "other")


def test_packages_are_unpacked_into_a_container_tree(mirror: tuple[str, Path, Path],
                                                      tmp_path: Path) -> None:
    url, _, keyring = mirror
    tree = tmp_path / "tree"
    seen: list[str] = []
    unpack(url, "test", ("hello",), tree, lambda _d, _t, doing: seen.append(doing),
           keyring=keyring)
    assert (tree / "usr" / "bin" / "hello").read_text().startswith("#!/bin/sh")
    # What ca-certificates' maintainer script would make, made without running it.
    assert (tree / "etc" / "ssl" / "certs" / "ca-certificates.crt").read_text() == "CERT-A\n"
    assert not (tree / "usr" / "share" / "doc").exists()
    assert (tree / "tmp").stat().st_mode & 0o7777 == 0o1777
    assert seen == ["the package index", "fetched hello"]


def test_a_mirror_signed_by_another_key_is_refused(mirror: tuple[str, Path, Path],
                                                   tmp_path: Path) -> None:
    url, _, _ = mirror
    stranger = _keyring(tmp_path / "other", "stranger")
    with pytest.raises(BaseImageError, match="InRelease signature did not verify"):
        unpack(url, "test", ("hello",), tmp_path / "tree", lambda *_: None, keyring=stranger)


def test_a_package_that_does_not_match_its_checksum_is_refused(
        mirror: tuple[str, Path, Path], tmp_path: Path) -> None:
    url, root, keyring = mirror
    (deb,) = (root / "pool" / "main").glob("*.deb")
    deb.write_bytes(deb.read_bytes() + b"tampered")
    with pytest.raises(BaseImageError, match="does not match the checksum its index gives"):
        unpack(url, "test", ("hello",), tmp_path / "tree", lambda *_: None, keyring=keyring)
    assert not (tmp_path / "tree" / "usr").exists()


def test_a_package_the_mirror_lacks_is_named(mirror: tuple[str, Path, Path],
                                             tmp_path: Path) -> None:
    url, _, keyring = mirror
    with pytest.raises(BaseImageError, match="nosuch not in http://127.0.0.1:\\d+ test"):
        unpack(url, "test", ("hello", "nosuch"), tmp_path / "tree", lambda *_: None,
               keyring=keyring)
