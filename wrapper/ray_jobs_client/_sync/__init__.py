# Generated from ray_jobs_client/_async/__init__.py by tools/unasync.py: edit that file, then run `make unasync`.
