"""Fliqa's webhook signature, `X-Fliqa-Signature` (FACTS-2 §2.1): the sender's `sign` (the
`WebhookDef` signer of hooks.py) and a receiver's `verify`, as Fliqa's examples check it."""

from __future__ import annotations

from ... import kit

__all__ = ["HEADER", "SignatureError", "sign", "signature_of", "verify"]

HEADER = "X-Fliqa-Signature"
SignatureError = kit.SignatureError


def _signed(stamp: int, url: str, body: bytes) -> bytes:
    """`"{t}.{hookUrl}.{rawBody}"`: the registered URL exactly, the body exactly as sent."""
    return f"{stamp}.{url}.".encode() + body


# `t=<epoch seconds>,v=<hex>`, and `,v0=<hex>` signed with the previous secret while it is
# given (the 24 hours after a secret change). A receiver checks as Fliqa's examples do: `v`
# against the current secret, or `v0` against the previous one; no timestamp tolerance (the
# docs have none).
SIGNATURE = kit.StampedSignature(HEADER, _signed)
sign, signature_of, verify = SIGNATURE.sign, SIGNATURE.signature_of, SIGNATURE.verify
