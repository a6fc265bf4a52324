#!/usr/bin/env python3
"""Writes the sample API Gateway HTTP API (payload 2.0) events in this folder.

Each event is what API Gateway sends the function for one route. `bak_REPLACE_WITH_YOUR_KEY`
and the example ids are placeholders: the tests substitute real ones; by hand, edit them before
`cargo lambda invoke <function> --data-file events/<name>.json` (the function template.yaml routes
the event's path to: athletes-api, access-api, webhooks-api, members-api, locations-api,
checkin-api, bulk-api, challenges-api, analytics-api, integrations-api or docs-api).
"""
import json
import pathlib
from urllib.parse import parse_qsl

KEY = "bak_REPLACE_WITH_YOUR_KEY"
ATHLETE = "ath_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7"
TEST = "tst_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7"
KEY_ID = "key_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7"
WEBHOOK = "whk_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7"
DELIVERY = "dlv_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7"
LOCATION = "loc_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7"
CHALLENGE = "chl_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7"


def event(route_key, method, path, query="", key=KEY, proxy=None, body=None, extra_headers=None):
    headers = {
        "accept": "application/json",
        "host": "abc123.execute-api.eu-west-1.amazonaws.com",
        "user-agent": "curl/8.5.0",
        "x-forwarded-for": "203.0.113.7",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    if key:
        headers["authorization"] = f"Bearer {key}"
    if isinstance(body, str):
        headers["content-type"] = "text/csv"
    elif body is not None:
        headers["content-type"] = "application/json"
    headers.update(extra_headers or {})
    e = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "curl/8.5.0"},
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": route_key,
            "stage": "$default",
            "time": "22/Nov/2026:10:00:30 +0000",
            "timeEpoch": 1795341630000,
        },
        "isBase64Encoded": False,
    }
    if query:
        e["queryStringParameters"] = dict(parse_qsl(query))
    if isinstance(proxy, dict):
        e["pathParameters"] = proxy
    elif proxy is not None:
        e["pathParameters"] = {"proxy": proxy}
    if isinstance(body, str):
        e["body"] = body
    elif body is not None:
        e["body"] = json.dumps(body)
    return e


V1 = "/api/external/v1/"


def api(method, path, query="", **kw):
    """An event on one of the HTTP API's routes as template.yaml declares them: each group's
    prefix (`ANY /api/external/v1/<group>`) and everything under it (`…/<group>/{proxy+}`)."""
    group, _, rest = path[len(V1):].partition("/")
    if rest:
        return event(f"ANY {V1}{group}/{{proxy+}}", method, path, query, proxy=rest, **kw)
    return event(f"ANY {V1}{group}", method, path, query, **kw)


def exact(method, path, query="", **kw):
    """An event on a route the template declares exactly (`ANY /api/external/v1/athletes/bulk`)."""
    return event(f"ANY {path}", method, path, query, **kw)


def member_route(method, leaf, query="", **kw):
    """A member route the check-in function owns outright (`…/members/{id}/<leaf>`)."""
    path = f"{V1}members/{ATHLETE}/{leaf}"
    return event(f"ANY {V1}members/{{id}}/{leaf}", method, path, query, proxy={"id": ATHLETE}, **kw)


EVENTS = {
    "athletes-list": api("GET", "/api/external/v1/athletes", "limit=2&q=nunez"),
    "athletes-get": api("GET", f"/api/external/v1/athletes/{ATHLETE}"),
    "tests-list": api("GET", "/api/external/v1/tests", "testType=lactate_step&limit=5"),
    "tests-get": api("GET", f"/api/external/v1/tests/{TEST}"),
    "referrals": api("GET", "/api/external/v1/referrals", "dateFrom=2026-01-01&dateTo=2026-11-22"),
    "athletes-unauthenticated": api("GET", "/api/external/v1/athletes", key=None),
    "athletes-bad-limit": api("GET", "/api/external/v1/athletes", "limit=500"),
    "openapi": event("GET /api/external/v1/openapi.json", "GET", "/api/external/v1/openapi.json", key=None),
    "docs": event("GET /docs/{proxy+}", "GET", "/docs/", key=None, proxy=""),
    "health": event("GET /health", "GET", "/health", key=None),
    "api-keys-list": api("GET", "/api/external/v1/api-keys"),
    "api-keys-create": api("POST", "/api/external/v1/api-keys",
                             body={"name": "Zapier", "scopes": ["read:athletes"], "allowedIps": ["203.0.113.0/24"]},
                             extra_headers={"idempotency-key": "create-zapier-key-1"}),
    "api-keys-rotate": api("POST", f"/api/external/v1/api-keys/{KEY_ID}/rotate",
                             body={"gracePeriodHours": 48}),
    "api-keys-revoke": api("DELETE", f"/api/external/v1/api-keys/{KEY_ID}"),
    "audit-log": api("GET", "/api/external/v1/audit-log", "statusClass=2xx&limit=10"),
    "athletes-create": api("POST", "/api/external/v1/athletes",
                             body={"firstName": "José", "lastName": "Núñez", "email": "Jose.Nunez@Example.com", "externalId": "CRM-1042"},
                             extra_headers={"idempotency-key": "create-crm-1042"}),
    "athletes-update": api("PATCH", f"/api/external/v1/athletes/{ATHLETE}",
                             body={"status": "inactive", "phone": None}),
    "event-types": api("GET", "/api/external/v1/event-types"),
    "webhooks-create": api("POST", "/api/external/v1/webhooks",
                             body={"url": "https://93.184.215.14/iron", "events": ["member.created"], "description": "CRM sync"}),
    "webhooks-list": api("GET", "/api/external/v1/webhooks"),
    "webhooks-update": api("PATCH", f"/api/external/v1/webhooks/{WEBHOOK}",
                             body={"active": False}),
    "webhooks-rotate-secret": api("POST", f"/api/external/v1/webhooks/{WEBHOOK}/rotate-secret"),
    "webhooks-test": api("POST", f"/api/external/v1/webhooks/{WEBHOOK}/test"),
    "deliveries-list": api("GET", f"/api/external/v1/webhooks/{WEBHOOK}/deliveries", "status=failed&limit=10"),
    "deliveries-get": api("GET", f"/api/external/v1/webhooks/{WEBHOOK}/deliveries/{DELIVERY}"),
    "deliveries-retry": api("POST", f"/api/external/v1/webhooks/{WEBHOOK}/deliveries/{DELIVERY}/retry"),
    "webhooks-recover": api("POST", f"/api/external/v1/webhooks/{WEBHOOK}/recover",
                              body={"since": "2026-11-01T00:00:00Z"}),
    "webhooks-delete": api("DELETE", f"/api/external/v1/webhooks/{WEBHOOK}"),
    "tests-get-beta-zones": api("GET", f"/api/external/v1/tests/{TEST}",
                                  extra_headers={"x-beta-features": "test-zones"}),
    "locations-list": api("GET", "/api/external/v1/locations"),
    "locations-get": api("GET", f"/api/external/v1/locations/{LOCATION}"),
    "locations-update": api("PATCH", f"/api/external/v1/locations/{LOCATION}", body={"capacity": 80}),
    "locations-check-ins": api("GET", f"/api/external/v1/locations/{LOCATION}/check-ins", "limit=10"),
    "locations-occupancy": api("GET", f"/api/external/v1/locations/{LOCATION}/occupancy"),
    "readiness-create": api("POST", f"/api/external/v1/members/{ATHLETE}/readiness",
                              body={"questionnaire": "hooper", "sleep": 2, "fatigue": 3, "stress": 2, "soreness": 3, "restingHr": 55}),
    "readiness-list": api("GET", f"/api/external/v1/members/{ATHLETE}/readiness"),
    "workouts-create": api("POST", f"/api/external/v1/members/{ATHLETE}/workouts",
                             body={"type": "conditioning", "startedAt": "2026-11-22T09:00:00Z", "durationMin": 50, "sessionRpe": 7,
                                   "source": "kiosk", "sourceId": "kiosk-7781",
                                   "movements": [{"exerciseId": "rowing-stationary", "calories": 60}, {"exerciseId": "kettlebell-swing", "sets": 5, "reps": 15, "loadKg": 24}]}),
    "workouts-list": api("GET", f"/api/external/v1/members/{ATHLETE}/workouts", "limit=10"),
    "injuries-create": api("POST", f"/api/external/v1/members/{ATHLETE}/injuries",
                             body={"bodyArea": "knee", "side": "left", "severity": "moderate"}),
    "injuries-list": api("GET", f"/api/external/v1/members/{ATHLETE}/injuries", "status=active"),
    "check-in": api("POST", "/api/external/v1/check-in", body={"memberId": ATHLETE, "locationId": LOCATION, "duration": 30}),
    "daily-wod": member_route("GET", "daily-wod", "duration=30&focus=strength"),
    "member-check-ins": member_route("GET", "check-ins"),
    "exercises-list": api("GET", "/api/external/v1/exercises", "tag=impact&limit=5"),
    "exercises-get": api("GET", "/api/external/v1/exercises/goblet-squat"),
    "injury-rules": api("GET", "/api/external/v1/injury-rules"),
    "tests-create": api("POST", "/api/external/v1/tests",
                          body={"athleteId": ATHLETE, "testType": "cooper_12min", "performedAt": "2026-11-22T09:30:00Z",
                                "stages": [{"number": 1, "durationS": 720, "distanceM": 2650, "heartRateBpm": 182}]}),
    "athletes-bulk": exact("POST", "/api/external/v1/athletes/bulk",
                             body={"athletes": [{"firstName": "Åsa", "lastName": "Öberg", "email": "asa.oberg@example.com", "externalId": "CRM-2001"},
                                                {"firstName": "Luis", "lastName": "Pérez", "email": "not-an-email"}],
                                   "options": {"updateExisting": True}},
                             extra_headers={"idempotency-key": "bulk-import-2026-11-22"}),
    "tests-bulk": exact("POST", "/api/external/v1/tests/bulk",
                          body={"tests": [{"athleteExternalId": "CRM-2001", "testType": "row_2k", "performedAt": "2026-11-20T18:00:00Z",
                                           "stages": [{"number": 1, "durationS": 445, "distanceM": 2000}]}]}),
    "export-athletes": api("GET", "/api/external/v1/export/athletes", "format=csv&fields=externalId,firstName,lastName,email"),
    "export-tests": api("GET", "/api/external/v1/export/tests", "format=json&fields=id,athleteId,testType,performedAt,results"),
    "imports-create": api("POST", "/api/external/v1/imports", "type=athletes&mapping=%7B%22Socio%20n%C2%BA%22%3A%22externalId%22%7D",
                          body="Nombre;Apellidos;E-mail;Socio nº\r\nÅsa;Öberg;asa.import@example.com;S-1\r\nLuis;Pérez;luis.import@example.com;S-2\r\n",
                          extra_headers={"idempotency-key": "import-2026-11-22"}),
    "imports-list": api("GET", "/api/external/v1/imports", "limit=5"),
    "exports-create": api("POST", "/api/external/v1/exports/athletes", "format=csv&fields=externalId,firstName,lastName,email"),
    "exports-list": api("GET", "/api/external/v1/exports", "limit=5"),
    "challenges-list": api("GET", "/api/external/v1/challenges", "status=active"),
    "challenges-leaderboard": api("GET", f"/api/external/v1/challenges/{CHALLENGE}/leaderboard", f"limit=25&memberId={ATHLETE}"),
    "gyms-list": api("GET", "/api/external/v1/gyms", "limit=10"),
    "churn-risk": api("GET", "/api/external/v1/analytics/churn-risk", "threshold=0.5&limit=10"),
}

here = pathlib.Path(__file__).parent
for name, body in EVENTS.items():
    (here / f"apigw-{name}.json").write_text(json.dumps(body, indent=2) + "\n")
print(f"wrote {len(EVENTS)} events")
