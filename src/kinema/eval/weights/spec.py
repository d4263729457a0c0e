"""One registry entry: which file a backbone needs, how to check it, and where a user gets it.

A :class:`WeightSpec` records facts stated by public sources, never guesses: ``sha256`` and ``size``
are ``None`` when no source states them (the ``note`` says so). torch-hub style file names
(``alexnet-owt-7be5be79.pth``) carry the first 8 hex digits of the file's sha256; when only that
is known it goes in ``sha256_prefix``.

Directory weights (``format`` ``"hf-dir"``: a Hugging Face model folder; ``"dir"``: an unpacked
archive) name the folder in ``filename`` and list the files that must be inside in ``members``;
an entry ``"a|b"`` accepts either file. ``member_sha256`` pins individual member files.
``alt_filenames`` are other names the same bytes are published under (a mirror's name); directory
look-ups accept them after ``filename``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kinema.errors import ConfigError

FILE_FORMATS = ("pth", "safetensors", "torchscript")
DIR_FORMATS = ("hf-dir", "dir")
FORMATS = FILE_FORMATS + DIR_FORMATS

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX8 = re.compile(r"[0-9a-f]{8}")


@dataclass(frozen=True)
class WeightSpec:
    id: str                                  # registry key, e.g. "inception-fid"
    filename: str                            # file (or folder) name as the original source ships it
    sha256: str | None                       # full lowercase hex digest, None when no source states it
    size: int | None                         # bytes, None when no source states it
    source: str                              # URL where a user obtains the file
    licence: str                             # licence of the weights / their original repository
    format: str                              # one of FORMATS
    used_by: tuple[str, ...]                 # metric / backbone names that need it
    note: str = ""                           # provenance of the hash and size, caveats
    sha256_prefix: str | None = None         # first 8 hex digits (torch-hub file names), if known
    alt_filenames: tuple[str, ...] = ()      # other names the same bytes are published under
    members: tuple[str, ...] = ()            # directory formats: files required inside ("a|b" = either)
    member_sha256: tuple[tuple[str, str], ...] = ()  # directory formats: (member file, sha256) pins

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", self.id):
            raise ConfigError(f"weight id {self.id!r}: use lowercase letters, digits, '.', '_' and '-'")
        if self.format not in FORMATS:
            raise ConfigError(f"weight {self.id!r}: format {self.format!r} is not one of {', '.join(FORMATS)}")
        if self.sha256 is not None and not _HEX64.fullmatch(self.sha256):
            raise ConfigError(f"weight {self.id!r}: sha256 {self.sha256!r} is not 64 lowercase hex digits")
        if self.sha256_prefix is not None and not _HEX8.fullmatch(self.sha256_prefix):
            raise ConfigError(f"weight {self.id!r}: sha256_prefix {self.sha256_prefix!r} is not 8 lowercase hex digits")
        if self.sha256 and self.sha256_prefix and not self.sha256.startswith(self.sha256_prefix):
            raise ConfigError(f"weight {self.id!r}: sha256 does not start with sha256_prefix {self.sha256_prefix!r}")
        if self.size is not None and self.size <= 0:
            raise ConfigError(f"weight {self.id!r}: size {self.size!r} must be a positive byte count")
        if (self.members or self.member_sha256) and not self.is_dir:
            raise ConfigError(f"weight {self.id!r}: members are only for directory formats {DIR_FORMATS}")
        for name, digest in self.member_sha256:
            if not _HEX64.fullmatch(digest):
                raise ConfigError(f"weight {self.id!r}: member {name!r} sha256 {digest!r} is not 64 hex digits")

    @property
    def is_dir(self) -> bool:
        """True when the weight is a folder (``hf-dir`` / ``dir``) rather than one file."""
        return self.format in DIR_FORMATS

    @property
    def filenames(self) -> tuple[str, ...]:
        """``filename`` then ``alt_filenames``: the names looked for inside a directory."""
        return (self.filename, *self.alt_filenames)

    @property
    def env_var(self) -> str:
        """``KINEMA_WEIGHT_<ID>``: the id upper-cased, every non-alphanumeric character as ``_``."""
        return "KINEMA_WEIGHT_" + re.sub(r"[^A-Za-z0-9]", "_", self.id).upper()

    @property
    def digest_label(self) -> str:
        """The recorded hash as shown to users: full digest, ``prefix…``, or ``unknown``."""
        if self.sha256:
            return self.sha256
        if self.sha256_prefix:
            return f"{self.sha256_prefix}… (prefix)"
        return "unknown"
