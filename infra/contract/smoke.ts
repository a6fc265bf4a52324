// A typed client of the document (openapi-typescript types + openapi-fetch), as a React Native or
// web app would use it: list and page, get one, create one, read a problem. Compiled with
// `tsc --strict`, run under Node against iron-local (infra/contract/run.sh).
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

declare const process: { env: Record<string, string | undefined>; exit(code: number): never };

type Problem = components["schemas"]["Problem"];

const api = createClient<paths>({
  baseUrl: process.env.IRON_BASE ?? "http://127.0.0.1:8080",
  headers: { Authorization: `Bearer ${process.env.IRON_KEY ?? ""}` },
});

function check(ok: boolean, what: string): void {
  if (!ok) {
    console.error(`smoke.ts: ${what}`);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  const first = await api.GET("/api/external/v1/athletes", { params: { query: { limit: 2 } } });
  check(first.response.status === 200 && first.data !== undefined, `list: ${first.response.status}`);
  const page = first.data!;
  check(page.data.length === 2 && page.hasMore && typeof page.nextCursor === "string", "list: a full first page");
  const second = await api.GET("/api/external/v1/athletes", {
    params: { query: { limit: 2, cursor: page.nextCursor ?? undefined } },
  });
  check(second.data !== undefined && second.data.data[0].id !== page.data[0].id, "list: the next page");

  const one = await api.GET("/api/external/v1/athletes/{id}", { params: { path: { id: page.data[0].id } } });
  check(one.data?.id === page.data[0].id && Array.isArray(one.data.recentTests), "get");

  const created = await api.POST("/api/external/v1/athletes", {
    body: { firstName: "Åsa", lastName: "Öberg", email: `asa.${Date.now()}@example.se`, sex: "female" },
    headers: { "Idempotency-Key": `ts-smoke-${Date.now()}` },
  });
  check(created.response.status === 201 && created.data?.firstName === "Åsa", `create: ${created.response.status}`);
  const patched = await api.PATCH("/api/external/v1/athletes/{id}", {
    params: { path: { id: created.data!.id } },
    body: { status: "inactive", phone: null },
  });
  check(patched.data?.status === "inactive", "update");

  const missing = await api.GET("/api/external/v1/athletes/{id}", { params: { path: { id: "ath_00000000000000000000000000" } } });
  const problem: Problem | undefined = missing.error;
  check(missing.response.status === 404 && problem?.status === 404 && typeof problem.requestId === "string", "problem");
  console.log(`smoke.ts: list, page, get, create, update and a ${problem!.status} problem (${problem!.requestId}): ok`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
