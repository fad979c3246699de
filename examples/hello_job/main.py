"""The example job: runs on the cluster from the uploaded working_dir."""

import platform
import time

from greeting import greet  # a module that only exists in the uploaded working_dir

for step in range(1, 4):
    print(greet(f"step {step}"), flush=True)
    time.sleep(0.5)
print(f"done on {platform.node()} with Python {platform.python_version()}")
