"""Schemathesis hooks for `npm run test:fuzz` (loaded through SCHEMATHESIS_HOOKS by test/fuzz/run.ts).

POST /api/webhooks/clerk verifies a Svix signature over the exact body bytes, so a generated
request can never get past the signature check: the fuzzer would only ever see 400/401 and
never reach the envelope and payload validation or the hand-off to Inngest. For positive test
cases this hook signs the bytes that will be sent, as Svix does (`v1,` + base64 HMAC-SHA256 over `{svix-id}.{svix-timestamp}.{body}` with the endpoint's
secret, FUZZ_WEBHOOK_SECRET). Negative test cases keep the generated headers: their missing,
malformed or wrong signatures must still be refused (400/401).
"""

import base64
import hashlib
import hmac
import json
import os
import time

import schemathesis

WEBHOOK_PATH = "/api/webhooks/clerk"


def _mode(holder) -> str:
    mode = getattr(holder, "mode", None)
    return str(getattr(mode, "value", mode)).lower()


def _is_positive(case) -> bool:
    """The whole case is schema-valid: the generation and every component (headers, body...)."""
    meta = getattr(case, "meta", None)
    if meta is None or _mode(meta.generation) != "positive":
        return False
    return all(_mode(component) == "positive" for component in (meta.components or {}).values())


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.operation.path != WEBHOOK_PATH or case.method.upper() != "POST" or not _is_positive(case):
        return
    secret = os.environ.get("FUZZ_WEBHOOK_SECRET")
    if not secret or not isinstance(case.body, (dict, list)):
        return
    # The exact bytes requests sends for `json=` (stdlib json, as requests uses without simplejson;
    # schemathesis's JSON serialiser hands the body to requests as `json`). The body itself is left
    # alone: replacing it would make schemathesis re-judge the case as schema-invalid.
    body = json.dumps(case.body, allow_nan=False).encode("utf-8")
    svix_id = (case.headers or {}).get("svix-id") or "msg_fuzz"
    timestamp = str(int(time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{svix_id}.{timestamp}.".encode("utf-8") + body, hashlib.sha256).digest()
    case.headers = {
        **(case.headers or {}),
        "svix-id": svix_id,
        "svix-timestamp": timestamp,
        "svix-signature": "v1," + base64.b64encode(digest).decode("ascii"),
    }
