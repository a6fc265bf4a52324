"""Schemathesis hooks: the rules the document states in words because JSON Schema can't say them.

Each hook only ever replaces a value that is valid by the schema with another valid one, so a
negative case stays exactly as negative as it was generated, and a positive case also keeps the
rules below (otherwise schemathesis would count their 4xx as "a schema-valid request rejected"):

- `Idempotency-Key` is unique per request (the same key with another request is 422 by design);
- `cursor` is a token only the API issues (`nextCursor`), so generated ones are left out;
- ranges run forwards (`from` ≤ `to`, `since` ≤ `until`, `dateFrom` ≤ `dateTo`), the referral
  report covers at most 731 days and a gym's monthly metrics at most 36 months;
- a gym's `locationIds` (maybe not this business's) are left out, and a Wodify key is the fake's;
- dates that are relative to today: a member's `birthDate` and `joinedOn` are not in the future,
  an API key's `expiresAt` is, a recovery's `since` is not;
- a webhook `url` is https to a public address (one documentation address stands for them all);
- a member's `locationId` names a location of this business (one the schema allows may not exist);
- the delivery log's `eventType` filter is an event type;
- a location's `timezone` is an IANA zone; a check-in names `memberId` or `externalMemberId`, not
  both (one the schema allows may not exist: that is the documented 404);
- opening windows close after they open; a weight range runs min ≤ max; a workout's `exerciseId` is a library id; a readiness entry's `recordedAt` is in the last 7 days;
- a McLean questionnaire answers `mood` and keeps its items to 1–5 (Hooper's go to 7; Hooper has no mood);
- an injury's `since` is not in the future and `expectedUntil` is not before it; a workout's
  `startedAt` is in the last 400 days;
- a new test's `performedAt` is from 2000 to now, its modality fits its type (a Cooper test is
  running, a 2k row rowing, the others name one), its stages are numbered once each, a Cooper
  test or 2k row has a distance, and its `locationId` (maybe not this business's) is left out;
- an import's `mapping` is a JSON object (left out), `updateExisting` is for athletes, and its
  body is empty with `upload=url` and the file without;
- a challenge's fields fit its type (`teamMetric` for a team challenge only, `streak` for
  consistency, `measure` for improvement and required there, `aggregate` and `teamSize` by
  mode, `exerciseIds` library ids for distance and time, `workoutTypes` once each and not for
  PR or improvement challenges, the target under the metric's ceiling), its dates run forwards
  within a year of today, its `locationIds` (maybe not this business's) are left out, a prize's
  `toPlace` is not before its `place`; a leaderboard takes `teamId` or `locationId`, not both;
  a team's `locationId` (maybe not this business's) is left out;
- what a request meets on the server, looked up with the run's key: a join names a team with room
  in a team challenge (one is made when none has) and none otherwise; an entry goes to a
  challenge that takes entries now and the member is in (joined here when not; another active
  challenge when this one can't be), with a value that fits its metric and a time in its window;
  a replaced challenge that members have joined keeps its type, mode and start;
- the analytics sources: a membership's or payment's `currency` is the business's (left out),
  a membership's holds run forwards, a payment's `date` is in the last two years and its
  `failureReason` only on a failed one, app events happened in the last 30 days; the churn
  model's six weights sum to 1.
"""
import time
import zoneinfo
import datetime as dt
import json
import os
import urllib.error
import urllib.request
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
    if case.operation.path.endswith("/leaderboard") and "teamId" in query and "locationId" in query:
        del query["teamId"]
    if case.operation.path.endswith("/deliveries") and "eventType" in query and isinstance(query["eventType"], str):
        if len(query["eventType"]) <= 100:
            query["eventType"] = "member.created"

    if case.operation.path == "/api/external/v1/imports" and case.method.upper() == "POST":
        # A column mapping is a JSON object (the schema says a string): any generated one is left out.
        if isinstance(query.get("mapping"), str):
            del query["mapping"]
        # Tests are never updated: `updateExisting` is for athletes.
        if query.get("type") == "tests" and "updateExisting" in query:
            del query["updateExisting"]
        # With `upload=url` the file comes later (no body); without it, the body is the file.
        if isinstance(case.body, (str, bytes)) or case.body is None:
            if query.get("upload") == "url":
                case.body = ""
            elif not case.body:
                case.body = "email,firstName,lastName\r\nschemathesis@example.com,Schema,Thesis\r\n"
                if not getattr(case, "media_type", None):
                    case.media_type = "text/csv"

    if case.operation.path.endswith("/metrics/monthly"):
        fit_months(query, now)

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
    path = case.operation.path
    # A connect makes seven calls to Wodify, which allows 5 a second (the fake too): spaced out
    # so the fake's limiter never answers 429 to a run of them (a documented 502 otherwise).
    if path.endswith("/integrations/wodify/connect"):
        time.sleep(1.6)
    # A Wodify key is checked with Wodify (run.sh's fake, whose key is this one): any other is 422.
    if path.endswith("/integrations/wodify/connect") and isinstance(body.get("apiKey"), str):
        if re.fullmatch(r"[\x21-\x7e]{8,256}", body["apiKey"]):
            body["apiKey"] = "wdf_demo_5e1f0c3a9b7d2468"
    # A gym's locations are references (one the schema allows may not be this business's: 422).
    if path.startswith("/api/external/v1/gyms") and isinstance(body.get("locationIds"), list):
        del body["locationIds"]
    # A member's location is a reference: one the schema allows may not exist in this business (422).
    location = body.get("locationId")
    if "/athletes" in path and isinstance(location, str) and re.fullmatch(r"loc_[0-9A-HJKMNP-TV-Z]{26}", location):
        del body["locationId"]
    tz = body.get("timezone")
    if path.startswith("/api/external/v1/locations") and isinstance(tz, str) and 1 <= len(tz) <= 64:
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            body["timezone"] = "Europe/Madrid"
    if path.endswith("/check-in") and "memberId" in body and "externalMemberId" in body:
        del body["externalMemberId"]
    if path.endswith("/check-in") and "memberId" not in body and "externalMemberId" not in body:
        body["memberId"] = "ath_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7"
    hours = body.get("openingHours")
    if path.startswith("/api/external/v1/locations") and isinstance(hours, list):
        for window in hours:
            if isinstance(window, dict) and isinstance(window.get("opens"), str) and isinstance(window.get("closes"), str):
                if re.fullmatch(r"\d\d:\d\d", window["opens"]) and window["closes"] <= window["opens"]:
                    window["opens"], window["closes"] = "06:00", "22:00"
    equipment = body.get("equipment")
    if path.startswith("/api/external/v1/locations") and isinstance(equipment, list):
        # One line per equipment type.
        seen = set()
        equipment[:] = [l for l in equipment if not (isinstance(l, dict) and isinstance(l.get("type"), str) and (l["type"] in seen or seen.add(l["type"])))]
        for line in equipment:
            if not isinstance(line, dict):
                continue
            if isinstance(line.get("rangeKg"), dict):
                line["rangeKg"] = {"min": 2.5, "max": 30, "step": 2.5}
    movements = body.get("movements")
    if path.endswith("/workouts") and isinstance(movements, list):
        for m in movements:
            if isinstance(m, dict):
                m["exerciseId"] = "rowing-stationary"
    if path.endswith("/memberships") or path.endswith("/payments"):
        if isinstance(body.get("currency"), str) and re.fullmatch(r"[A-Z]{3}", body["currency"]):
            del body["currency"]
    if path.endswith("/memberships") and isinstance(body.get("holds"), list):
        for h in body["holds"]:
            if isinstance(h, dict) and isinstance(h.get("from"), str) and isinstance(h.get("to"), str) and h["to"] < h["from"]:
                h["from"], h["to"] = h["to"], h["from"]
        s0, e0 = body.get("start"), body.get("end")
        if isinstance(s0, str) and isinstance(e0, str) and e0 < s0:
            body["start"], body["end"] = e0, s0
    if path.endswith("/memberships"):
        for f in ("start", "end"):
            d = parse_time(body.get(f))
            if d and not (2000 <= d.year <= 2100):
                body[f] = "2026-06-01" if f == "start" else "2027-05-31"
        s0, e0 = body.get("start"), body.get("end")
        if isinstance(s0, str) and isinstance(e0, str) and e0 < s0:
            body["start"], body["end"] = e0, s0
    if path.endswith("/payments"):
        d = parse_time(body.get("date"))
        if d and (d > now or (now - d).days > 700):
            body["date"] = (now - dt.timedelta(days=3)).date().isoformat()
        if body.get("status") == "succeeded" and "failureReason" in body:
            del body["failureReason"]
    if path.endswith("/app-events") and isinstance(body.get("events"), list):
        for e in body["events"]:
            if isinstance(e, dict):
                t = parse_time(e.get("occurredAt"))
                if t and (t > now or (now - t).days >= 29):
                    e["occurredAt"] = (now - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if path.endswith("/churn-model") and isinstance(body.get("weights"), dict):
        w = body["weights"]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in w.values()) and len(w) == 6:
            body["weights"] = {"daysSinceVisit": 0.3, "visitTrend": 0.25, "workoutCompletion": 0.15,
                               "appEngagement": 0.1, "socialActivity": 0.1, "paymentIssues": 0.1}
    if path.endswith("/readiness"):
        t = parse_time(body.get("recordedAt"))
        if t and (t > now or (now - t).days >= 6):
            body["recordedAt"] = (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if path.endswith("/readiness") and body.get("questionnaire") == "mclean":
        for item in ("sleep", "fatigue", "stress", "soreness"):
            if isinstance(body.get(item), (int, float)) and not isinstance(body.get(item), bool) and 5 < body[item] <= 7:
                body[item] = 5
        if body.get("mood") is None:
            body["mood"] = 3
    if path.endswith("/readiness") and body.get("questionnaire") == "hooper" and "mood" in body:
        del body["mood"]  # Hooper's four items have no mood
    if path.endswith("/injuries"):
        today = now.date()
        since = parse_time(body.get("since"))
        if since and (since.date() > today or since.year < 1900):
            body["since"] = today.isoformat()
            since = parse_time(body["since"])
        until = parse_time(body.get("expectedUntil"))
        start = since.date() if since else today
        if until and (until.date() < start or (until.date() - start).days > 3600):
            body["expectedUntil"] = (start + dt.timedelta(days=14)).isoformat()
    if path.endswith("/workouts"):
        t = parse_time(body.get("startedAt"))
        if t and (t > now or (now - t).days >= 399):
            body["startedAt"] = (now - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if path == "/api/external/v1/tests" and case.method.upper() == "POST":
        t = parse_time(body.get("performedAt"))
        if t and (t > now or t.year < 2000):
            body["performedAt"] = (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        test_type = body.get("testType") if isinstance(body.get("testType"), str) else None
        implied = {"cooper_12min": "running", "row_2k": "rowing"}.get(test_type)
        if implied and isinstance(body.get("modality"), str):
            body["modality"] = implied
        elif test_type in ("lactate_step", "vo2max_ramp") and body.get("modality") is None:
            body["modality"] = "cycling"
        stages = body.get("stages")
        if isinstance(stages, list) and all(isinstance(s, dict) for s in stages):
            for i, s in enumerate(stages):
                if isinstance(s.get("number"), (int, float)) and not isinstance(s.get("number"), bool):
                    s["number"] = i + 1
            if implied and stages and not any(isinstance(s.get("distanceM"), (int, float)) for s in stages):
                stages[0]["distanceM"] = 2000
        if isinstance(body.get("locationId"), str) and re.fullmatch(r"loc_[0-9A-HJKMNP-TV-Z]{26}", body["locationId"]):
            del body["locationId"]

    if path in ("/api/external/v1/challenges", "/api/external/v1/challenges/{id}") and case.method.upper() in ("POST", "PUT"):
        challenge_body(body, now.date())
    if path.startswith("/api/external/v1/challenges/{id}") and case.method.upper() in ("POST", "PUT"):
        cid = (case.path_parameters or {}).get("id")
        stored = api("GET", f"{V1}/challenges/{cid}") if isinstance(cid, str) and CHALLENGE.fullmatch(cid) else None
        if stored:
            if path.endswith("/join"):
                join_body(body, stored)
            elif path.endswith("/entries"):
                target = entry_challenge(stored, body.get("memberId"), now)
                if target:
                    case.path_parameters["id"] = target["id"]
                    entry_body(body, target, now)
            elif path.endswith("{id}") and stored.get("participants"):
                locked_body(body, stored)
    if path == "/api/external/v1/challenges/{id}/teams" and case.method.upper() == "POST":
        if isinstance(body.get("locationId"), str) and re.fullmatch(r"loc_[0-9A-HJKMNP-TV-Z]{26}", body["locationId"]):
            del body["locationId"]


V1 = "/api/external/v1"
CHALLENGE = re.compile(r"chl_[0-9A-HJKMNP-TV-Z]{26}")
TEAM = re.compile(r"team_[0-9A-HJKMNP-TV-Z]{26}")
MEMBER = re.compile(r"ath_[0-9A-HJKMNP-TV-Z]{26}")
# What one entry may be, by metric, and a value that fits.
ENTRY_RANGE = {"distance": (1, 250000, 5000), "time": (1, 43200, 1800), "workouts": (1, 5, 1),
               "pr_count": (1, 10, 1), "consistency": (1, 1, 1), "improvement": (0.1, 10000, 45)}


MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def fit_months(query, now):
    """The monthly metrics' range runs forwards and spans at most 36 months (to defaults to this
    month, from to eleven months before `to`)."""
    def index(m):
        return int(m[:4]) * 12 + int(m[5:7]) - 1

    def month(i):
        return f"{i // 12:04d}-{i % 12 + 1:02d}"

    f, t = query.get("from"), query.get("to")
    fi = index(f) if isinstance(f, str) and MONTH.fullmatch(f) else None
    ti = index(t) if isinstance(t, str) and MONTH.fullmatch(t) else None
    if fi is None:
        return
    hi = ti if ti is not None else now.year * 12 + now.month - 1
    if fi > hi:
        fi, hi = hi, fi
    hi = min(hi, fi + 35)
    query["from"], query["to"] = month(fi), month(hi)


def api(method, path, body=None):
    """A call to the iron-local under test with the run's own key (run.sh exports both), to fit a
    request to the state it meets: a challenge's type, its teams, whether a member joined."""
    base, key = os.environ.get("IRON_BASE"), os.environ.get("IRON_KEY")
    if not base or not key:
        return None
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")
    except (urllib.error.URLError, ValueError):
        return None


def team_with_room(stored):
    cid, size = stored["id"], stored.get("teamSize")
    for t in (api("GET", f"{V1}/challenges/{cid}/teams") or {}).get("data", []):
        if size is None or t["members"] < size:
            return t["id"]
    made = api("POST", f"{V1}/challenges/{cid}/teams", {"name": f"Contract {uuid.uuid4().hex[:12]}"})
    return made["id"] if made else None


def join_body(body, stored):
    team = body.get("teamId")
    shaped = team is None or (isinstance(team, str) and TEAM.fullmatch(team))
    if not shaped:
        return
    if stored["mode"] != "team":
        body.pop("teamId", None)
        return
    teams = (api("GET", f"{V1}/challenges/{stored['id']}/teams") or {}).get("data", [])
    size = stored.get("teamSize")
    if not any(t["id"] == team and (size is None or t["members"] < size) for t in teams):
        chosen = team_with_room(stored)
        if chosen:
            body["teamId"] = chosen


def takes_entries(c, now):
    start, end = parse_time(c["startsAt"]), parse_time(c["endsAt"])
    return start <= now < end + dt.timedelta(days=3)


def joined(c, member):
    """Whether the member is in the challenge, joining them when not (with a team in team mode)."""
    if api("GET", f"{V1}/challenges/{c['id']}/my-progress?memberId={member}"):
        return True
    join = {"memberId": member}
    join_body(join, c)
    return api("POST", f"{V1}/challenges/{c['id']}/join", join) is not None


def entry_challenge(stored, member, now):
    """An entry goes to a challenge that takes entries now and that the member is in (422
    otherwise, saying why): this one when it can, else an active one the member may join."""
    if not (isinstance(member, str) and MEMBER.fullmatch(member)):
        return stored
    if takes_entries(stored, now) and joined(stored, member):
        return stored
    for c in (api("GET", f"{V1}/challenges?status=active&limit=100") or {}).get("data", []):
        if takes_entries(c, now) and joined(c, member):
            return c
    return None


def entry_body(body, stored, now):
    lo, hi, fit = ENTRY_RANGE[stored["metric"]]
    v = body.get("value")
    number = isinstance(v, (int, float)) and not isinstance(v, bool)
    whole = stored["metric"] in ("workouts", "pr_count", "consistency")
    if ("value" not in body and stored["metric"] not in ("workouts", "consistency")) or (
        number and not (lo <= v <= hi and (not whole or float(v).is_integer()))
    ):
        body["value"] = fit
    start, end = parse_time(stored["startsAt"]), parse_time(stored["endsAt"])
    at = parse_time(body.get("occurredAt"))
    latest = min(now, end - dt.timedelta(seconds=1))
    if at and not (start <= at < end and at <= now) and latest >= start:
        body["occurredAt"] = latest.isoformat().replace("+00:00", "Z")
    if "occurredAt" not in body and now >= end:
        body["occurredAt"] = latest.isoformat().replace("+00:00", "Z")


def locked_body(body, stored):
    """Members have joined: what their scores mean (and the start) stays as it is."""
    for field in ("type", "mode", "aggregate", "streak", "measure"):
        if stored.get(field) is None:
            body.pop(field, None)
        else:
            body[field] = stored[field]
    if stored["mode"] == "individual":
        body.pop("aggregate", None)
    if stored["type"] == "team":
        body["teamMetric"] = stored["metric"]
    else:
        body.pop("teamMetric", None)
    if stored["mode"] != "team":
        body.pop("teamSize", None)
    start, end = parse_time(stored["startDate"]), parse_time(body.get("endDate"))
    body["startDate"] = stored["startDate"]
    if not end or not (start <= end and (end - start).days < 366):
        body["endDate"] = stored["endDate"]


METRICS = {"distance", "time", "workouts", "pr_count", "consistency", "improvement"}


def challenge_body(body, today):
    kind = body.get("type")
    if not isinstance(kind, str) or kind not in METRICS | {"team"}:
        return
    if kind == "team":
        if body.get("teamMetric") not in METRICS:
            body["teamMetric"] = "time"
        body["mode"] = "team"
        metric = body["teamMetric"]
    else:
        body.pop("teamMetric", None)
        metric = kind
    mode = body.get("mode") if body.get("mode") in ("individual", "team", "location") else "individual"
    if mode == "individual":
        body.pop("aggregate", None)
    if mode != "team":
        body.pop("teamSize", None)
    if metric != "consistency":
        body.pop("streak", None)
    if metric == "improvement":
        if body.get("measure") not in ("vo2max", "peak_power", "row2k_time"):
            body["measure"] = "vo2max"
    else:
        body.pop("measure", None)
    if isinstance(body.get("exerciseIds"), list):
        if metric in ("distance", "time") and body["exerciseIds"]:
            body["exerciseIds"] = ["rowing-stationary"]
        elif body["exerciseIds"]:
            del body["exerciseIds"]
    if isinstance(body.get("workoutTypes"), list):
        if metric in ("pr_count", "improvement") and body["workoutTypes"]:
            del body["workoutTypes"]
        else:
            seen = []
            for t in body["workoutTypes"]:
                if t not in seen:
                    seen.append(t)
            body["workoutTypes"] = seen
    target = body.get("target")
    ceiling = {"consistency": 366, "improvement": 10000}.get(metric, 4294967295)
    if isinstance(target, (int, float)) and not isinstance(target, bool) and target > ceiling:
        body["target"] = ceiling
    if isinstance(body.get("locationIds"), list):
        del body["locationIds"]
    start, end = parse_time(body.get("startDate")), parse_time(body.get("endDate"))
    if start and end:
        lo, hi = today - dt.timedelta(days=366), today + dt.timedelta(days=732)
        if not (lo <= start.date() <= hi and start.date() <= end.date() <= hi and (end.date() - start.date()).days < 366):
            body["startDate"], body["endDate"] = today.isoformat(), (today + dt.timedelta(days=30)).isoformat()
    prizes = body.get("prizes")
    for prize in prizes if isinstance(prizes, list) else []:
        place, to = (prize.get("place"), prize.get("toPlace")) if isinstance(prize, dict) else (None, None)
        if all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in (place, to)) and to < place:
            prize["toPlace"] = place
