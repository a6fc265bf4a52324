"""Schemathesis hooks: the rules the document states in words because JSON Schema can't say them.

Each hook only ever replaces a value that is valid by the schema with another valid one, so a
negative case stays exactly as negative as it was generated, and a positive case also keeps the
rules below (otherwise schemathesis would count their 4xx as "a schema-valid request rejected"):

- `Idempotency-Key` is unique per request (the same key with another request is 422 by design);
- `cursor` is a token only the API issues (`nextCursor`), so generated ones are left out;
- ranges run forwards (`from` ≤ `to`, `since` ≤ `until`, `dateFrom` ≤ `dateTo`), and the referral
  report covers at most 731 days;
- dates that are relative to today: a member's `birthDate` and `joinedOn` are not in the future,
  an API key's `expiresAt` is, a recovery's `since` is not;
- a webhook `url` is https to a public address (one documentation address stands for them all);
- a member's `locationId` names a location of this business (one the schema allows may not exist);
- the delivery log's `eventType` filter is an event type.
"""
import datetime as dt
import re
import uuid

import schemathesis

IDEMPOTENCY = re.compile(r"^[!-~]{1,255}$")
RANGES = [("from", "to"), ("since", "until"), ("dateFrom", "dateTo")]
PUBLIC_URL = "https://93.184.215.14/hooks/iron-metrics"
# What `\s` matches in the schema's (ECMA-262) patterns.
ECMA_SPACE = set("\t\n\v\f\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff") | {chr(c) for c in range(0x2000, 0x200B)}


def parse_time(value):
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            return dt.datetime.fromisoformat(value).replace(tzinfo=dt.timezone.utc)
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        return t if t.tzinfo else None
    except ValueError:
        return None


def header_key(headers, name):
    return next((k for k in headers if k.lower() == name.lower()), None)


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    now = dt.datetime.now(dt.timezone.utc)
    headers = case.headers or {}
    key = header_key(headers, "Idempotency-Key")
    if key and isinstance(headers[key], str) and IDEMPOTENCY.match(headers[key]):
        headers[key] = uuid.uuid4().hex

    query = case.query or {}
    cursor = query.get("cursor")
    if isinstance(cursor, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,2048}", cursor):
        del query["cursor"]
    for lo, hi in RANGES:
        a, b = parse_time(query.get(lo)), parse_time(query.get(hi))
        if a and b and a > b:
            query[lo], query[hi] = query[hi], query[lo]
    if case.operation.path.endswith("/referrals"):
        a, b = parse_time(query.get("dateFrom")), parse_time(query.get("dateTo"))
        if a and b and (b - a).days > 730:
            query["dateFrom"] = (b - dt.timedelta(days=730)).date().isoformat()
        elif a and not b and (now - a).days > 730:
            query["dateTo"] = (a + dt.timedelta(days=730)).date().isoformat()
        elif a and not b and a > now:
            query["dateTo"] = query["dateFrom"]  # the default end is today
    if case.operation.path.endswith("/deliveries") and "eventType" in query and isinstance(query["eventType"], str):
        if len(query["eventType"]) <= 100:
            query["eventType"] = "member.created"

    body = case.body if isinstance(case.body, dict) else None
    if body is None:
        return
    for field in ("birthDate", "joinedOn"):
        d = parse_time(body.get(field))
        if d and (d > now or d.year < 1900):
            body[field] = "1990-06-15"
    if case.operation.path.endswith("/api-keys"):
        t = parse_time(body.get("expiresAt"))
        if t and t <= now:
            body["expiresAt"] = (now + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if case.operation.path.endswith("/recover"):
        t = parse_time(body.get("since"))
        if t and t > now:
            body["since"] = (now - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    url = body.get("url")
    if isinstance(url, str) and url.startswith("https://") and len(url) > 8 and len(url) <= 2048:
        if not any(c in ECMA_SPACE for c in url):
            body["url"] = PUBLIC_URL
    # A location is a reference: one the schema allows may not exist in this business (422).
    location = body.get("locationId")
    if isinstance(location, str) and re.fullmatch(r"loc_[0-9A-HJKMNP-TV-Z]{26}", location):
        del body["locationId"]
