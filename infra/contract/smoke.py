"""A Python client generated from the document (openapi-python-client), used as an integrator
would: list and page, get one, create one, read a problem (infra/contract/run.sh)."""
import os
import sys
import time

from iron_client import AuthenticatedClient
from iron_client.api.athletes import create_athlete, get_athlete, list_athletes
from iron_client.models import AthleteIn, Problem
from iron_client.types import UNSET


def check(ok, what):
    if not ok:
        print(f"smoke.py: {what}", file=sys.stderr)
        sys.exit(1)


client = AuthenticatedClient(base_url=os.environ["IRON_BASE"], token=os.environ["IRON_KEY"])
first = list_athletes.sync_detailed(client=client, limit=2)
check(first.status_code == 200 and len(first.parsed.data) == 2 and first.parsed.has_more, f"list: {first.status_code}")
second = list_athletes.sync(client=client, limit=2, cursor=first.parsed.next_cursor)
check(second.data[0].id != first.parsed.data[0].id, "list: the next page")
one = get_athlete.sync(first.parsed.data[0].id, client=client)
check(one.id == first.parsed.data[0].id, "get")
body = AthleteIn(first_name="José", last_name="Núñez", email=f"jose.{time.time_ns()}@example.es")
created = create_athlete.sync_detailed(client=client, body=body, idempotency_key=f"py-smoke-{time.time_ns()}")
check(created.status_code == 201 and created.parsed.first_name == "José", f"create: {created.status_code} {created.content[:200]}")
missing = get_athlete.sync_detailed("ath_00000000000000000000000000", client=client)
check(missing.status_code == 404 and isinstance(missing.parsed, Problem) and missing.parsed.request_id not in (None, UNSET), "problem")
print(f"smoke.py: list, page, get, create and a {missing.parsed.status} problem ({missing.parsed.request_id}): ok")
