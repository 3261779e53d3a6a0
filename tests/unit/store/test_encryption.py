"""Encryption at rest: upstream's stored formats, key rotation, resource matching, config errors."""

from __future__ import annotations

import asyncio
import base64

import nacl.secret
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pyk8s.store import ConflictError, KeyValue, Store, open_store
from pyk8s.store.encryption import (
    EncryptingStore,
    KeyRules,
    StorageTransformError,
    builtin_segments,
    wrap_store,
)
from pyk8s.store.encryptionconfig import EncryptionConfigError, parse

K16, K24, K32 = b"a" * 16, b"b" * 24, b"c" * 32
OLD, NEW = b"o" * 32, b"n" * 32
SECRET_KEY = "/registry/secrets/default/s"
PLAIN = b'{"kind":"Secret","data":{"password":"aHVudGVyMg=="}}'


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def config(*rules: tuple[list[str], list[str]]) -> str:
    """An EncryptionConfiguration from (resources, provider YAML lines) pairs."""
    out = ["apiVersion: apiserver.config.k8s.io/v1", "kind: EncryptionConfiguration",
           "resources:"]
    for resources, providers in rules:
        out.append(f"- resources: {resources!r}".replace("'", '"'))
        out.append("  providers:")
        out += [f"  - {p}" for p in providers]
    return "\n".join(out) + "\n"


def provider(kind: str, *keys: tuple[str, bytes]) -> str:
    if kind == "identity":
        return "identity: {}"
    listed = ", ".join(f"{{name: {n}, secret: {b64(s)}}}" for n, s in keys)
    return f"{kind}: {{keys: [{listed}]}}"


def encrypting(inner: Store, text: str) -> EncryptingStore:
    return EncryptingStore(inner, KeyRules(parse(text), builtin_segments()))


@pytest.fixture
def inner() -> Store:
    return open_store("memory://")


async def raw(inner: Store, key: str = SECRET_KEY) -> bytes:
    return (await inner.get(key)).value


# -- formats -------------------------------------------------------------------------


@pytest.mark.parametrize("kind,secret", [
    ("aesgcm", K16), ("aesgcm", K24), ("aesgcm", K32),
    ("aescbc", K16), ("aescbc", K32), ("secretbox", K32)])
async def test_round_trip_in_upstream_format(inner, kind, secret):
    store = encrypting(inner, config((["secrets"], [provider(kind, ("key1", secret))])))
    rev = await store.create(SECRET_KEY, PLAIN)
    stored = await raw(inner)
    prefix = f"k8s:enc:{kind}:v1:key1:".encode()
    assert stored.startswith(prefix) and PLAIN not in stored
    body = stored[len(prefix):]
    # decrypt independently, as kube-apiserver's transformers would
    if kind == "aesgcm":
        assert AESGCM(secret).decrypt(body[:12], body[12:], SECRET_KEY.encode()) == PLAIN
    elif kind == "aescbc":
        dec = Cipher(algorithms.AES(secret), modes.CBC(body[:16])).decryptor()
        padded = dec.update(body[16:]) + dec.finalize()
        assert padded[:-padded[-1]] == PLAIN
    else:
        assert nacl.secret.SecretBox(secret).decrypt(body[24:], body[:24]) == PLAIN
    assert await store.get(SECRET_KEY) == KeyValue(SECRET_KEY, PLAIN, rev, rev)
    assert [kv.value for kv in (await store.list("/registry/secrets/")).items] == [PLAIN]
    assert not await store.stale(await store.get(SECRET_KEY))
    assert (await store.delete(SECRET_KEY))[1].value == PLAIN


async def test_values_written_by_upstream_layout_read_back(inner):
    """A value sealed by hand in upstream's layout (what an etcd dump would hold) reads."""
    nonce = b"\x01" * 12
    sealed = b"k8s:enc:aesgcm:v1:k:" + nonce + AESGCM(K32).encrypt(
        nonce, PLAIN, SECRET_KEY.encode())
    await inner.create(SECRET_KEY, sealed)
    store = encrypting(inner, config((["secrets"], [provider("aesgcm", ("k", K32))])))
    assert (await store.get(SECRET_KEY)).value == PLAIN


async def test_gcm_binds_the_value_to_its_key(inner):
    store = encrypting(inner, config((["secrets"], [provider("aesgcm", ("k", K32))])))
    await store.create(SECRET_KEY, PLAIN)
    await inner.create("/registry/secrets/default/copy", await raw(inner))
    with pytest.raises(StorageTransformError, match="message authentication failed"):
        await store.get("/registry/secrets/default/copy")


async def test_cbc_rejects_corrupt_padding(inner):
    store = encrypting(inner, config((["secrets"], [provider("aescbc", ("k", K32))])))
    await inner.create(SECRET_KEY, b"k8s:enc:aescbc:v1:k:" + b"\0" * 32)
    with pytest.raises(StorageTransformError, match="PKCS7|padding"):
        await store.get(SECRET_KEY)


# -- rotation and fallback ------------------------------------------------------------


async def test_rotation_reads_old_key_and_rewrites_with_new(inner):
    old = encrypting(inner, config((["secrets"], [provider("aesgcm", ("old", OLD))])))
    rev = await old.create(SECRET_KEY, PLAIN)
    rotated = encrypting(inner, config(
        (["secrets"], [provider("aesgcm", ("new", NEW), ("old", OLD))])))
    kv = await rotated.get(SECRET_KEY)
    assert kv.value == PLAIN and await rotated.stale(kv)
    rev2 = await rotated.update(SECRET_KEY, kv.value, rev)
    assert (await raw(inner)).startswith(b"k8s:enc:aesgcm:v1:new:")
    assert not await rotated.stale(await rotated.get(SECRET_KEY))
    # a kv from before the rewrite is not "stale" any more: its revision is gone
    assert not await rotated.stale(kv)
    assert rev2 > rev


async def test_provider_change_reads_the_previous_provider(inner):
    cbc = encrypting(inner, config((["secrets"], [provider("aescbc", ("k", K32))])))
    await cbc.create(SECRET_KEY, PLAIN)
    gcm = encrypting(inner, config(
        (["secrets"], [provider("aesgcm", ("k2", K32)), provider("aescbc", ("k", K32))])))
    kv = await gcm.get(SECRET_KEY)
    assert kv.value == PLAIN and await gcm.stale(kv)


async def test_plaintext_from_before_encryption_reads_through_identity(inner):
    await inner.create(SECRET_KEY, PLAIN)
    store = encrypting(inner, config(
        (["secrets"], [provider("aesgcm", ("k", K32)), provider("identity")])))
    kv = await store.get(SECRET_KEY)
    assert kv.value == PLAIN and await store.stale(kv)
    await store.update(SECRET_KEY, kv.value, kv.mod_revision)
    assert (await raw(inner)).startswith(b"k8s:enc:aesgcm:v1:k:")


async def test_identity_first_decrypts_old_values_and_writes_plaintext(inner):
    enc = encrypting(inner, config((["secrets"], [provider("secretbox", ("k", K32))])))
    rev = await enc.create(SECRET_KEY, PLAIN)
    decrypting = encrypting(inner, config(
        (["secrets"], [provider("identity"), provider("secretbox", ("k", K32))])))
    kv = await decrypting.get(SECRET_KEY)
    assert kv.value == PLAIN and await decrypting.stale(kv)
    await decrypting.update(SECRET_KEY, PLAIN, rev)
    assert await raw(inner) == PLAIN


async def test_unreadable_values_name_the_key_and_the_cause(inner):
    enc = encrypting(inner, config((["secrets"], [provider("aesgcm", ("old", OLD))])))
    await enc.create(SECRET_KEY, PLAIN)
    other_key = encrypting(inner, config((["secrets"], [provider("aesgcm", ("new", NEW))])))
    with pytest.raises(StorageTransformError,
                       match=f"unable to transform key '{SECRET_KEY}': no matching key"):
        await other_key.get(SECRET_KEY)
    plain = encrypting(inner, config((["secrets"], [provider("identity")])))
    with pytest.raises(StorageTransformError, match="no matching prefix found"):
        await plain.get(SECRET_KEY)
    uncovered = encrypting(inner, config((["configmaps"], [provider("aesgcm", ("old", OLD))])))
    with pytest.raises(StorageTransformError, match="identity transformer tried to read"):
        await uncovered.get(SECRET_KEY)
    wrong_secret = encrypting(inner, config((["secrets"], [provider("aesgcm", ("old", NEW))])))
    with pytest.raises(StorageTransformError, match="authentication failed"):
        await wrong_secret.get(SECRET_KEY)


async def test_watch_conflict_and_delete_carry_plaintext(inner):
    store = encrypting(inner, config((["secrets"], [provider("aesgcm", ("k", K32))])))
    it = store.watch("/registry/secrets/", 0)
    r1 = await store.create(SECRET_KEY, b"v1")
    r2 = await store.update(SECRET_KEY, b"v2", r1)
    with pytest.raises(ConflictError) as err:
        await store.update(SECRET_KEY, b"v3", r1)
    assert err.value.current.value == b"v2"
    with pytest.raises(ConflictError) as err:
        await store.delete(SECRET_KEY, r1)
    assert err.value.current.value == b"v2"
    r3, deleted = await store.delete(SECRET_KEY, r2)
    assert deleted.value == b"v2"
    events = []
    while len(events) < 3:
        events += await asyncio.wait_for(anext(it), 5)
    await it.aclose()
    assert [(e.type, e.kv.value, e.prev and e.prev.value) for e in events] == [
        ("PUT", b"v1", None), ("PUT", b"v2", b"v1"), ("DELETE", b"v2", b"v2")]
    assert [e.kv.mod_revision for e in events] == [r1, r2, r3]


# -- which keys are encrypted ---------------------------------------------------------


@pytest.mark.parametrize("resources,encrypted,plain", [
    (["secrets"], ["/registry/secrets/ns/a"], ["/registry/configmaps/ns/a"]),
    (["configmaps", "secrets"], ["/registry/configmaps/ns/a", "/registry/secrets/ns/a"],
     ["/registry/pods/ns/a"]),
    (["nodes"], ["/registry/minions/n1"], ["/registry/pods/ns/a"]),
    (["services"], ["/registry/services/specs/ns/a"], ["/registry/services/endpoints/ns/a"]),
    (["*."], ["/registry/pods/ns/a", "/registry/services/endpoints/ns/a"],
     ["/registry/deployments/ns/a"]),
    (["*.apps"], ["/registry/deployments/ns/a", "/registry/apps/widgets/ns/a"],
     ["/registry/pods/ns/a", "/registry/jobs/ns/a"]),
    (["deployments.apps"], ["/registry/deployments/ns/a"], ["/registry/replicasets/ns/a"]),
    (["widgets.example.com"], ["/registry/example.com/widgets/ns/a"],
     ["/registry/example.com/gadgets/ns/a"]),
    (["*.*"], ["/registry/pods/ns/a", "/registry/example.com/widgets/a", "/anything"], []),
])
async def test_resource_to_key_matching(inner, resources, encrypted, plain):
    store = encrypting(inner, config((resources, [provider("aesgcm", ("k", K32))])))
    for key in encrypted + plain:
        await store.create(key, b"{}")
    for key in encrypted:
        assert (await raw(inner, key)).startswith(b"k8s:enc:aesgcm:v1:k:"), key
        assert (await store.get(key)).value == b"{}"
    for key in plain:
        assert await raw(inner, key) == b"{}", key


async def test_explicit_resource_beats_wildcards(inner):
    store = encrypting(inner, config(
        (["secrets"], [provider("aescbc", ("c", K32))]),
        (["*."], [provider("secretbox", ("s", K32))]),
        (["*.*"], [provider("aesgcm", ("g", K32))])))
    for key in ("/registry/secrets/ns/a", "/registry/pods/ns/a", "/registry/leases/ns/a"):
        await store.create(key, b"{}")
    assert (await raw(inner, "/registry/secrets/ns/a")).startswith(b"k8s:enc:aescbc:")
    assert (await raw(inner, "/registry/pods/ns/a")).startswith(b"k8s:enc:secretbox:")
    assert (await raw(inner, "/registry/leases/ns/a")).startswith(b"k8s:enc:aesgcm:")


async def test_a_resource_in_two_rules_reads_with_both(inner):
    old = encrypting(inner, config((["secrets"], [provider("aescbc", ("c", K32))])))
    await old.create(SECRET_KEY, PLAIN)
    store = encrypting(inner, config(
        (["secrets"], [provider("aesgcm", ("g", K32))]),
        (["secrets"], [provider("aescbc", ("c", K32))])))
    assert (await store.get(SECRET_KEY)).value == PLAIN


# -- configuration errors -------------------------------------------------------------

GOOD = [provider("aesgcm", ("k", K32))]


@pytest.mark.parametrize("text,message", [
    ("", "must hold an EncryptionConfiguration"),
    ("{not yaml", "cannot decode"),
    ("apiVersion: v1\nkind: EncryptionConfiguration\n", "expected apiVersion"),
    ("apiVersion: apiserver.config.k8s.io/v1\nkind: Secret\n", "kind 'Secret'"),
    ("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n",
     "resources: Required value: at least one resources is required"),
    (config(([], GOOD)), "resources[0].resources: Required value"),
    (config((["secrets"], [])), "resources[0].providers: Required value"),
    (config((["Secrets"], GOOD)), "should not contain capital letters"),
    (config((["*"], GOOD)), "use '*.' to encrypt all the resources"),
    (config((["secrets.*"], GOOD)), "across groups is not supported"),
    (config((["events.events.k8s.io"], GOOD)), "Use 'events' instead"),
    (config((["deployments.extensions"], GOOD)), "'extensions' group has been removed"),
    (config((["serviceipallocations"], GOOD)), "do not have REST API/s"),
    (config((["secrets", "secrets"], GOOD)), "cannot be specified multiple times"),
    (config((["secrets", "*."], GOOD)), "overlapping resources"),
    (config((["*."], GOOD), (["secrets"], GOOD)),
     'resource "secrets" is masked by earlier rule "*."'),
    (config((["*.*"], GOOD), (["deployments.apps"], GOOD)),
     'resource "deployments.apps" is masked by earlier rule "*.*"'),
    (config((["secrets"], ["aesgcm: {keys: [{name: k, secret: c2hvcnQ=}]}"])),
     'resources[0].providers[0].aesgcm.keys[0].secret: Invalid value: "REDACTED": secret is '
     'not of the expected length, got 5, expected one of [16 24 32]'),
    (config((["secrets"], [provider("secretbox", ("k", K16))])), "expected one of [32]"),
    (config((["secrets"], ["aescbc: {keys: [{name: k, secret: '!!!'}]}"])),
     "secrets must be base64 encoded"),
    (config((["secrets"], [f"aescbc: {{keys: [{{secret: {b64(K32)}}}]}}"])),
     "keys[0].name: Required value: name is a mandatory field for a key"),
    (config((["secrets"], ["aescbc: {keys: [{name: k}]}"])), "secret is a mandatory field"),
    (config((["secrets"], ["aescbc: {keys: []}"])), "at least one keys is required"),
    (config((["secrets"], ["aesgcmm: {}"])), "does not contain any of the expected providers"),
    (config((["secrets"], [f"identity: {{}}\n    aesgcm: {{keys: [{{name: k, secret: "
                           f"{b64(K32)}}}]}}"])), "more than one provider"),
    (config((["secrets"], ["kms: {name: x, endpoint: 'unix:///k.sock'}"])),
     "no KMS plugin support"),
])
def test_bad_configs_are_refused_with_the_field_at_fault(text, message):
    with pytest.raises(EncryptionConfigError) as err:
        parse(text)
    assert message in str(err.value)


def test_several_errors_are_reported_together():
    with pytest.raises(EncryptionConfigError) as err:
        parse(config((["Secrets"], ["aesgcmm: {}"])))
    assert str(err.value).startswith("[") and "capital" in str(err.value) \
        and "expected providers" in str(err.value)


def test_wrap_store_reads_the_file(tmp_path, inner):
    path = tmp_path / "enc.yaml"
    with pytest.raises(EncryptionConfigError, match="error reading encryption provider"):
        wrap_store(inner, str(path))
    path.write_text("")
    with pytest.raises(EncryptionConfigError, match="is empty"):
        wrap_store(inner, str(path))
    path.write_text(config((["secrets"], ["aesgcm: {}"])))
    with pytest.raises(EncryptionConfigError, match=f"file '{path}'.*keys: Required value"):
        wrap_store(inner, str(path))
    path.write_text(config((["secrets"], GOOD)))
    assert isinstance(wrap_store(inner, str(path)), EncryptingStore)
