"""Benchmarks of ``ray_jobs_client`` side by side with Ray's own ``JobSubmissionClient``.

``python -m benchmarks`` (or ``make bench``) starts one local Ray head, measures every figure with
interleaved repetitions (ours, Ray's, ours, Ray's, …) and writes ``BENCHMARKS.md``. One module per
figure; :mod:`benchmarks.common` holds the statistics, subprocess and report helpers they share.
These are measurements, not tests: nothing here asserts a timing.
"""
