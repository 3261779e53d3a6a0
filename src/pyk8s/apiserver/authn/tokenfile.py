"""Static bearer tokens from ``--token-auth-file`` (tokenfile upstream).

The file is CSV: ``token,user,uid[,"group1,group2"]``, read once at start. Rows
with an empty token are skipped and a repeated token keeps its last row, as
kube-apiserver does; fewer than three columns is an error that stops the server.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

from ..user import UserInfo
from .token import TokenResult

log = logging.getLogger(__name__)


class TokenFileError(ValueError):
    pass


def parse(text: str, source: str = "<token file>") -> dict[str, UserInfo]:
    """token -> user of a token file's text."""
    users: dict[str, UserInfo] = {}
    reader = csv.reader(io.StringIO(text))
    for number, record in enumerate(reader, start=1):
        if not record:
            continue
        if len(record) < 3:
            raise TokenFileError(f"token file '{source}' must have at least 3 columns (token, "
                                 f"user name, user uid), found {len(record)}")
        token = record[0]
        if not token:
            log.warning("empty token has been found in token file '%s', record number '%d'",
                        source, number)
            continue
        if token in users:
            log.warning("duplicate token has been found in token file '%s', record number "
                        "'%d'", source, number)
        groups: tuple[str, ...] = ()
        if len(record) >= 4 and record[3]:
            groups = tuple(g.strip() for g in record[3].split(","))
        users[token] = UserInfo(record[1], uid=record[2], groups=groups)
    return users


class TokenFileAuthenticator:
    def __init__(self, users: dict[str, UserInfo]) -> None:
        self.users = users

    @classmethod
    def from_file(cls, path: str) -> TokenFileAuthenticator:
        return cls(parse(Path(path).read_text(), path))

    async def authenticate_token(self, token: str,
                                 audiences: tuple[str, ...]) -> TokenResult | None:
        user = self.users.get(token)
        return TokenResult(user, audiences) if user is not None else None
