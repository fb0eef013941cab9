#!/usr/bin/python3
"""Verifies the edge token service's access tokens in Python with PyJWT's PyJWKClient.

    /usr/bin/python3 verify_pyjwt.py TOKEN    prints the claims, or exits 1 with the reason
    /usr/bin/python3 verify_pyjwt.py --serve  one token per stdin line, one JSON answer per line
                                              (one long-lived client, so its JWKS cache is exercised)

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


def verify(token: str) -> dict:
    if jwt.get_unverified_header(token).get("typ") != "at+jwt":
        raise jwt.InvalidTokenError("not an access token (typ)")
    signing_key = jwks_client.get_signing_key_from_jwt(token)
    return jwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256"],  # pinned: never the token's own choice
        issuer=ISSUER,
        audience=AUDIENCE,
        leeway=60,
        options={"require": ["exp", "iat", "sub", "jti"]},
    )


def answer(token: str) -> dict:
    try:
        return {"ok": True, "claims": verify(token)}
    except (jwt.PyJWTError, ValueError) as err:  # PyJWKClientError is a PyJWTError
        return {"ok": False, "error": f"{type(err).__name__}: {err}"}


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        try:
            for line in sys.stdin:
                print(json.dumps(answer(line.strip())), flush=True)
        except KeyboardInterrupt:
            pass
    elif len(sys.argv) == 2:
        result = answer(sys.argv[1])
        print(json.dumps(result, indent=2))
        sys.exit(0 if result["ok"] else 1)
    else:
        sys.exit(__doc__)
