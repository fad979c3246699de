/**
 * A tiny typed client for the Ray Jobs API, using only Node's built-in `fetch` and the types that
 * openapi-typescript generates from openapi/jobs.yaml (`schema.d.ts`, never edited by hand).
 *
 * It proves that the spec carries other languages: the response types below come from the spec,
 * so a field renamed there breaks this file's type-check, not a user's program.
 *
 *   RAY_ADDRESS=http://127.0.0.1:8265 RAY_AUTH_TOKEN=... node build/ts-client/smoke.js
 *
 * Prints two lines: the `GET /api/version` object, then the `GET /api/jobs/` array, as JSON.
 *
 * Only GETs: Node's `fetch` always sends `Sec-Fetch-Mode: cors`, which the job server treats as
 * browser traffic, so a POST/PUT/DELETE sent with `fetch` answers 405 (see the spec's description);
 * use `node:http` or undici's `request()` for those.
 */
import type { paths } from "./schema.js";

/** The paths this client reads. */
type GetPath = "/api/version" | "/api/jobs/";
/** The JSON body of the 200 answer to `GET path` (indexed directly, so a spec change is a type error). */
type Ok<P extends GetPath> = paths[P]["get"]["responses"][200]["content"]["application/json"];

export type VersionResponse = Ok<"/api/version">;
export type JobList = Ok<"/api/jobs/">;

export class RayJobsClient {
  private readonly baseUrl: string;
  private readonly headers: Record<string, string>;

  constructor(address: string, token?: string, private readonly timeoutMs = 30_000) {
    // Ray strips every trailing slash from the address; paths then carry their own (`/api/jobs/`).
    this.baseUrl = address.replace(/\/+$/, "");
    this.headers = { Accept: "application/json" };
    if (token) {
      this.headers["Authorization"] = `Bearer ${token}`;
    }
  }

  private async get<P extends GetPath>(path: P): Promise<Ok<P>> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      headers: this.headers,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    // Errors are text/plain (often a Python traceback): its last line is the useful message.
    if (response.status !== 200) {
      const text = await response.text();
      throw new Error(`GET ${path} answered ${response.status}: ${text}`);
    }
    return (await response.json()) as Ok<P>;
  }

  /** `GET /api/version`: the Jobs API version ("4") and the cluster's Ray version. */
  version(): Promise<VersionResponse> {
    return this.get("/api/version");
  }

  /** `GET /api/jobs/` (the trailing slash is required): every job the cluster knows. */
  listJobs(): Promise<JobList> {
    return this.get("/api/jobs/");
  }
}

async function main(): Promise<void> {
  const address = process.env["RAY_ADDRESS"];
  if (!address || !address.includes("://")) {
    throw new Error("set RAY_ADDRESS to the dashboard URL, e.g. http://127.0.0.1:8265");
  }
  const client = new RayJobsClient(address, process.env["RAY_AUTH_TOKEN"]?.trim());
  const version: VersionResponse = await client.version();
  const jobs: JobList = await client.listJobs();
  if (!Array.isArray(jobs)) {
    throw new Error(`GET /api/jobs/ did not answer a JSON array: ${JSON.stringify(jobs)}`);
  }
  // Typed access: `status` is the spec's JobStatus union, `submission_id` is `string | null`.
  const summary = jobs.map((job) => `${job.submission_id ?? job.job_id ?? "?"}=${job.status}`);
  process.stdout.write(`${JSON.stringify(version)}\n${JSON.stringify(jobs)}\n`);
  process.stderr.write(`Ray ${version.ray_version}, Jobs API ${version.version}: ${summary.length} job(s)\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
