"""The local run and the test harness: nothing here is imported by a running service.

- `run`: `pingvas-dev up`, every service as a child process on embedded defaults.
- `stack`: the whole product started for an end-to-end test (`running_stack`).
- `testing`: the pytest plugin (databases, the AWS emulator, `run_service`).
- `emulator`: moto's server with the fix that keeps it fast under a backlog.
"""
