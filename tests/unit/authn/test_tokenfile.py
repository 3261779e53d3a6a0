"""--token-auth-file parsing: columns, groups, empty and duplicate tokens."""

from __future__ import annotations

import pytest

from pyk8s.apiserver.authn.tokenfile import (
    TokenFileAuthenticator,
    TokenFileError,
    parse,
)


def test_rows_with_and_without_groups():
    users = parse('t1,alice,uid-1,"dev,ops"\nt2,bob,uid-2\n\nt3,carol,uid-3,\n')
    assert users["t1"].name == "alice" and users["t1"].uid == "uid-1"
    assert users["t1"].groups == ("dev", "ops")
    assert users["t2"].groups == () and users["t3"].groups == ()


def test_group_names_are_trimmed():
    assert parse('t,u,1," a , b"')["t"].groups == ("a", "b")


def test_too_few_columns_is_an_error():
    with pytest.raises(TokenFileError, match="at least 3 columns"):
        parse("t1,alice\n", "tokens.csv")


def test_empty_token_skipped_and_last_duplicate_wins():
    users = parse(",ghost,0\nt,first,1\nt,second,2\n")
    assert list(users) == ["t"] and users["t"].name == "second"


async def test_authenticator_answers_only_its_tokens(tmp_path):
    path = tmp_path / "tokens.csv"
    path.write_text('secret-token,alice,42,"g1"\n')
    auth = TokenFileAuthenticator.from_file(str(path))
    result = await auth.authenticate_token("secret-token", ("api",))
    assert result.user.name == "alice" and result.audiences == ("api",)
    assert await auth.authenticate_token("other", ("api",)) is None
