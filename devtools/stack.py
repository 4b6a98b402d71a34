"""A local Airflow on this machine: API server, scheduler and DAG processor as child processes.

``python -m devtools.stack`` (``make airflow``) serves the example DAGs with the demo's conda
environments (see ``devtools.demo``), prints the UI address and the login, and stops
everything on Ctrl-C. The end-to-end tests drive ``AirflowStack`` directly.

The stack is configured through environment variables only: SQLite and its own Airflow home,
LocalExecutor (or CeleryExecutor: Redis on loopback as broker, workers from
``start_celery_worker``), two task processes at most, the API server on a free port of
127.0.0.1, and Airflow's SimpleAuthManager with one admin user whose password
Airflow generates into the home's passwords file. Every component runs in a process group of
its own and logs to ``<home>/<component>.log``; ``stop()`` ends every process the stack
started, found by a marker variable in their environment, so none outlives it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from devtools.processes import marked_processes

#: Variable every process of a stack carries, with the stack's own id as value.
MARKER_VARIABLE = "AIRFLOW_STACK_ID"
FINAL_RUN_STATES = ("success", "failed")
#: Variable holding the name a Celery worker of the stack reports as its hostname.
WORKER_NAME_VARIABLE = "AIRFLOW_STACK_WORKER"


class StackError(RuntimeError):
    """The stack did not come up or did not do what was asked; the message has the logs' ends."""


@dataclass
class Component:
    name: str
    process: subprocess.Popen
    log: Path


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float) -> None:
    """Wait until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise StackError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s") from None
            time.sleep(0.2)


class AirflowStack:
    """Airflow's API server, scheduler and DAG processor over ``dags_folder``, with a REST client.

    ``settings`` are more environment variables for every component (connections, Variables,
    executor options); they win over the stack's own. Use it as a context manager, or call
    ``start()`` and then ``stop()`` in a ``finally``.
    """

    def __init__(
        self,
        home: Path,
        dags_folder: Path,
        settings: Mapping[str, str] | None = None,
        *,
        executor: str = "LocalExecutor",
    ) -> None:
        self.home = Path(home)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.username = "admin"
        self.password = ""
        self.stack_id = uuid.uuid4().hex
        self.components: list[Component] = []
        self._token = ""
        self.env = {
            **os.environ,
            MARKER_VARIABLE: self.stack_id,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__EXECUTOR": executor,
            # Two task processes at most: a small machine stays responsive.
            "AIRFLOW__CORE__PARALLELISM": "2",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # Triggered runs start at once; nobody has to unpause the DAG first.
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self.username}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            # The scheduler signs the tokens tasks show the execution API: both need one secret.
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        }
        self.redis_port = 0
        if executor == "CeleryExecutor":
            # Redis on loopback, started with the stack, is the broker and keeps the results.
            self.redis_port = free_port()
            self.env["AIRFLOW__CELERY__BROKER_URL"] = f"redis://127.0.0.1:{self.redis_port}/0"
            self.env["AIRFLOW__CELERY__RESULT_BACKEND"] = f"redis://127.0.0.1:{self.redis_port}/1"
        self.env.update(settings or {})

    # -- processes -------------------------------------------------------------------------

    def start(self, timeout: float = 240) -> AirflowStack:
        """Migrate the database, start the components, wait until they are healthy and log in."""
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            self._migrate()
            if self.redis_port:
                self._start_redis()
            airflow = [sys.executable, "-m", "airflow"]
            self.start_process("api-server", [*airflow, "api-server"])
            # Task logs are read from the shared log folder: no log server on 0.0.0.0 is needed.
            self.start_process("scheduler", [*airflow, "scheduler", "--skip-serve-logs"])
            self.start_process("dag-processor", [*airflow, "dag-processor"])
            self._wait_healthy(timeout)
            self.password = self._read_password()
        except BaseException:
            self.stop()
            raise
        return self

    def start_process(
        self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None
    ) -> subprocess.Popen:
        """Start one more component (a Celery worker, Redis) that ``stop()`` ends with the rest."""
        log = self.home / f"{name}.log"
        self.home.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as output:
            process = subprocess.Popen(
                list(argv),
                env={**self.env, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.home,
            )
        self.components.append(Component(name, process, log))
        return process

    def start_celery_worker(self, name: str, queues: Sequence[str], timeout: float = 60) -> None:
        """A Celery worker taking one task at a time from ``queues``, as if on a machine named ``name``.

        Task instances it runs report ``name`` as their hostname (``[core] hostname_callable``),
        as they would from a machine of its own.
        """
        if not self.redis_port:
            raise StackError("Celery workers need a stack with executor='CeleryExecutor'")
        repo = str(Path(__file__).resolve().parent.parent)
        env = {
            WORKER_NAME_VARIABLE: name,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.worker_hostname",
            "PYTHONPATH": os.pathsep.join(filter(None, [repo, self.env.get("PYTHONPATH")])),
        }
        argv = [sys.executable, "-m", "airflow", "celery", "worker", "--celery-hostname", name]
        # No log server (it would listen on every address): task logs are in the shared folder.
        argv += ["--queues", ",".join(queues), "--concurrency", "1", "--skip-serve-logs"]
        self.start_process(name, argv, env)
        log = self.home / f"{name}.log"
        deadline = time.monotonic() + timeout
        while " ready." not in log.read_text(errors="replace"):
            self._raise_if_exited("while starting")
            if time.monotonic() > deadline:
                raise self._fail(f"Celery worker {name} was not ready after {timeout:.0f} s")
            time.sleep(0.5)

    def _start_redis(self) -> None:
        self.start_process(
            "redis",
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.home),
            ],
        )
        try:
            wait_for_port(self.redis_port, timeout=30)
        except StackError as error:
            raise self._fail(f"redis-server: {error}") from None

    def stop(self, grace: float = 15) -> None:
        """SIGTERM each component's process group, SIGKILL what is left after ``grace`` seconds.

        Then every process carrying this stack's marker is killed, as some start process groups
        of their own (a task's notebook run does).
        """
        for component in self.components:
            _signal_group(component.process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for component in self.components:
            try:
                component.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(component.process, signal.SIGKILL)
                component.process.wait()
        for component in self.components:  # the group may outlive its leader
            _signal_group(component.process, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while (left := marked_processes(MARKER_VARIABLE, self.stack_id)) and time.monotonic() < deadline:
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
        self.components = []

    def __enter__(self) -> AirflowStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def exited(self) -> list[Component]:
        """The components that are no longer running."""
        return [c for c in self.components if c.process.poll() is not None]

    def log_tails(self, lines: int = 40) -> str:
        """The last lines of every component's log, to show why something did not work."""
        parts = []
        for component in self.components:
            text = component.log.read_text(errors="replace") if component.log.exists() else ""
            status = component.process.poll()
            state = "running" if status is None else f"exited with status {status}"
            tail = "\n".join(text.splitlines()[-lines:])
            parts.append(f"----- {component.name} ({state}), {component.log}:\n{tail}")
        return "\n".join(parts)

    def _fail(self, message: str) -> StackError:
        return StackError(f"{message}\n{self.log_tails()}")

    def _raise_if_exited(self, during: str) -> None:
        """Fail, with the logs' ends, if a component is no longer running."""
        if exited := self.exited():
            raise self._fail(f"{', '.join(c.name for c in exited)} stopped {during}")

    def _migrate(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        (self.home / "db-migrate.log").write_text(result.stdout + result.stderr)
        if result.returncode != 0:
            raise StackError(f"airflow db migrate failed ({result.returncode}):\n{result.stderr[-3000:]}")

    def _wait_healthy(self, timeout: float) -> None:
        """Wait until the API server answers and reports the scheduler and DAG processor healthy."""
        deadline = time.monotonic() + timeout
        health: Any = None
        while time.monotonic() < deadline:
            self._raise_if_exited("while starting")
            try:
                health = httpx.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).json()
            except (httpx.HTTPError, ValueError):
                health = None
            if health and all(
                (health.get(part) or {}).get("status") == "healthy"
                for part in ("metadatabase", "scheduler", "dag_processor")
            ):
                return
            time.sleep(0.5)
        raise self._fail(f"Airflow was not healthy after {timeout:.0f} s; last health report: {health}")

    def _read_password(self) -> str:
        """The password Airflow generated for the user (written when the API server started)."""
        passwords_file = self.home / "simple_auth_manager_passwords.json.generated"
        passwords = json.loads(passwords_file.read_text())
        return passwords[self.username]

    # -- REST API --------------------------------------------------------------------------

    def token(self) -> str:
        """A new JWT for the user, from ``POST /auth/token``."""
        response = httpx.post(
            f"{self.base_url}/auth/token",
            json={"username": self.username, "password": self.password},
            timeout=30,
        )
        if response.status_code != 201:
            raise self._fail(f"POST /auth/token: {response.status_code} {response.text}")
        return response.json()["access_token"]

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """``method`` on ``/api/v2{path}`` as the user; the response whatever its status."""
        if not self._token:
            self._token = self.token()
        headers = {"Authorization": f"Bearer {self._token}", **kwargs.pop("headers", {})}
        return httpx.request(method, f"{self.base_url}/api/v2{path}", headers=headers, timeout=30, **kwargs)

    def rest(self, method: str, path: str, **kwargs: Any) -> Any:
        """``request()`` that must succeed; its JSON body."""
        response = self.request(method, path, **kwargs)
        if not response.is_success:
            raise StackError(f"{method} /api/v2{path}: {response.status_code} {response.text}")
        return response.json()

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> dict:
        """The DAG's details, once the DAG processor has parsed it; a DAG file error fails at once."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = self.request("GET", f"/dags/{dag_id}")
            if response.status_code == 200:
                return response.json()
            errors = self.rest("GET", "/importErrors")["import_errors"]
            if errors:
                raise self._fail(f"DAG {dag_id} is not there; import errors: {errors}")
            time.sleep(1)
        raise self._fail(f"DAG {dag_id} was not parsed within {timeout:.0f} s")

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None) -> str:
        """Trigger a run through ``POST /dags/{dag_id}/dagRuns``; its run id."""
        body = {"logical_date": None, "conf": dict(conf or {})}
        return self.rest("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 180) -> str:
        """The run's final state (``success`` or ``failed``), waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            state = self.rest("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
            if state in FINAL_RUN_STATES:
                return state
            self._raise_if_exited(f"during run {run_id}")
            time.sleep(1)
        raise self._fail(
            f"run {run_id} of {dag_id} still {state} after {timeout:.0f} s; "
            f"task instances: {self.task_instances(dag_id, run_id)}"
        )

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        """The run's task instances as the REST API shows them (state, hostname, queue, ...)."""
        return self.rest("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """A task's log as text, to show in a failing assertion."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        return self.request("GET", path, headers={"Accept": "text/plain"}).text

    def describe_run(self, dag_id: str, run_id: str) -> str:
        """Each task instance's state and log: what to show when a run did not succeed."""
        return "\n".join(
            f"----- {ti['task_id']} ({ti['state']}, try {ti['try_number']}):\n"
            + self.task_log(dag_id, run_id, ti["task_id"], ti["try_number"])
            for ti in self.task_instances(dag_id, run_id)
        )


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the stack's Celery workers: the worker's own name."""
    return os.environ[WORKER_NAME_VARIABLE]


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the whole group is gone already
        os.killpg(process.pid, signum)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    """Serve the example DAGs until Ctrl-C."""
    from devtools.demo import DEMO, EXAMPLE_DAGS, airflow_settings, example_dag_ids, prepare_conda

    # Ctrl-C stops the stack even where SIGINT came ignored (a job started with `&` from a
    # script), and so does a SIGTERM (a closed terminal, a supervisor).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    conda = prepare_conda()
    stack = AirflowStack(DEMO / "airflow-stack", EXAMPLE_DAGS, airflow_settings(conda))
    try:
        print(f"Starting Airflow in {stack.home} (logs: {stack.home}/*.log)", flush=True)
        stack.start()
        for dag_id in example_dag_ids():
            stack.wait_for_dag(dag_id)
        print(
            f"\nAirflow UI: {stack.base_url}\n"
            f"Login: {stack.username} / {stack.password}\n"
            f"Example DAGs: {', '.join(example_dag_ids())}; notebooks go to {DEMO / 'output'}\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        while not (exited := stack.exited()):
            time.sleep(1)
        print(stack.log_tails(), file=sys.stderr)
        print(f"{', '.join(c.name for c in exited)} stopped; stopping the rest", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping Airflow", flush=True)
        return 0
    except StackError as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
