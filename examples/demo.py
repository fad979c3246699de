"""`make demo`: the main job of this package, end to end, on a local Ray head.

Starts a throwaway local Ray head, submits examples/hello_job/ as a local working_dir through
ray_jobs_client, streams its logs, prints the final status and the job list, and stops the head.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ray_jobs_client import JobSubmissionClient
from ray_jobs_client.testing import LocalRayHead

WORKING_DIR = Path(__file__).parent / "hello_job"


def main() -> int:
    print("Starting a local Ray head (this takes a few seconds)...", flush=True)
    with LocalRayHead() as head, JobSubmissionClient(head.address) as client:
        print(f"Ray head up: job server at {client.get_address()} (Jobs API version {client.get_version()})")
        job_id = client.submit_job(
            entrypoint="python main.py",
            runtime_env={"working_dir": str(WORKING_DIR)},
            metadata={"example": "hello_job"},
        )
        print(f"Submitted {job_id}; streaming its logs:\n")
        for chunk in client.follow_job_logs(job_id):
            print(chunk, end="", flush=True)
        info = client.get_job_info(job_id)
        print(f"\nFinal status: {info.status} ({info.message})")
        print("Jobs on the cluster:")
        for job in client.list_jobs():
            print(f"  {job.submission_id or job.job_id}  {job.status:<9}  {job.entrypoint}")
        print("Stopping the Ray head this demo started...")
    return 0 if info.status == "SUCCEEDED" else 1


if __name__ == "__main__":
    sys.exit(main())
