#!/usr/bin/python3
"""Verifies the edge token service's access tokens in Python with PyJWT's PyJWKClient, and checks
permissions from the token's `scope` (and roles from `roles`).

    /usr/bin/python3 verify_pyjwt.py TOKEN [SCOPE...]  prints the claims, or exits 1 with the reason
    /usr/bin/python3 verify_pyjwt.py --serve           one "TOKEN [SCOPE...]" per stdin line, one JSON
                                                       answer per line (one long-lived client, so its
                                                       JWKS cache is exercised)

Settings: ISSUER, AUDIENCE, JWKS_URI (defaults: the service on http://localhost:8787).
Needs PyJWT >= 2.6 with cryptography (Debian: python3-jwt; pip: "pyjwt[crypto]").
"""
import json
import os
import sys

import jwt

ISSUER = os.environ.get("ISSUER", "http://localhost:8787")
AUDIENCE = os.environ.get("AUDIENCE", "http://localhost:8787")
JWKS_URI = os.environ.get("JWKS_URI", ISSUER + "/.well-known/jwks.json")

# Caches the key set for `lifespan` seconds; a token with an unknown kid triggers one refetch.
jwks_client = jwt.PyJWKClient(JWKS_URI, cache_jwk_set=True, lifespan=300)


class InsufficientScope(Exception):
    """The token is valid but lacks a permission: answer 403 with error="insufficient_scope"."""


def verify(token: str) -> dict:
    if jwt.get_unverified_header(token).get("typ") != "at+jwt":
        raise jwt.InvalidTokenError("not an access token (typ)")
    signing_key = jwks_client.get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256"],  # pinned: never the token's own choice
        issuer=ISSUER,
        audience=AUDIENCE,
        leeway=60,
        options={"require": ["exp", "iat", "sub", "jti", "client_id"]},
    )
    if not isinstance(claims.get("scope", ""), str) or not isinstance(claims.get("roles", []), list):
        raise jwt.InvalidTokenError("malformed scope or roles")
    return claims


def scopes(claims: dict) -> list:
    """The permissions of the space-separated `scope` claim ([] when absent)."""
    return claims.get("scope", "").split()


def roles(claims: dict) -> list:
    """The `roles` claim; tokens from before it existed carry the single, deprecated `role`."""
    return claims.get("roles", [claims["role"]] if "role" in claims else [])


def require_scopes(claims: dict, *required: str) -> None:
    missing = [scope for scope in required if scope not in scopes(claims)]
    if missing:
        raise InsufficientScope("insufficient permissions: needs " + " ".join(missing))


def answer(token: str, required=()) -> dict:
    try:
        claims = verify(token)
        require_scopes(claims, *required)
        return {"ok": True, "claims": claims, "roles": roles(claims), "scopes": scopes(claims)}
    except InsufficientScope as err:
        return {"ok": False, "error": "insufficient_scope", "detail": str(err)}
    except (jwt.PyJWTError, ValueError) as err:  # PyJWKClientError is a PyJWTError
        return {"ok": False, "error": "invalid_token", "detail": f"{type(err).__name__}: {err}"}


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        try:
            for line in sys.stdin:
                token, *required = line.split() or [""]
                print(json.dumps(answer(token, required)), flush=True)
        except KeyboardInterrupt:
            pass
    elif len(sys.argv) >= 2:
        result = answer(sys.argv[1], sys.argv[2:])
        print(json.dumps(result, indent=2))
        sys.exit(0 if result["ok"] else 1)
    else:
        sys.exit(__doc__)
