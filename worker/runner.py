"""`eros worker --phase N`: an RQ forking worker on one phase's queue.

A forking `Worker`, not a `SimpleWorker`: each job runs in a work horse the worker can
signal and, as a last resort, kill. On top of RQ's worker:
- RQ's `stop-job` command (sent by the halter) asks the horse to stop at its next safe
  point, where it saves its checkpoint, and kills it only after `halt_grace_seconds`;
- SIGTERM is a warm shutdown that asks the running job to checkpoint and go back to the
  front of its queue, killing it only after `worker_shutdown_grace_seconds`;
- a halted job ends `stopped` with a halted marker, not failed, and is never retried;
- the horse's execution expires `worker_abandoned_after_seconds` after the worker's last
  heartbeat, so the scheduler requeues the job of a worker killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from types import FrameType, TracebackType
from typing import Any

import redis
import rq
from redis.client import Pipeline
from rq import Queue, Worker, worker_registration
from rq.command import parse_payload
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, FinishedJobRegistry
from rq.utils import now

from eros.core.clock import wall_ms
from eros.core.keys import halt_key
from eros.core.llm import metrics as llm_metrics
from eros.core.phase_config import PhaseConfig, PhaseConfigFollower, from_settings
from eros.core.phases import Phase
from eros.core.redis_client import sync_redis
from eros.core.settings import Settings
from eros.pipeline import metrics
from eros.pipeline.checkpoint import take_checkpoint_saves
from eros.pipeline.index import forget_job
from eros.pipeline.llm_calls import ship_calls, take_calls
from eros.pipeline.maintenance import MAINTENANCE_PHASE, maintenance_queue
from eros.pipeline.outcome import HALTED_META, HaltRecord, record_halt, requeue
from eros.pipeline.queue import JobKey, phase_queue
from eros.pipeline.rq_internals import mark_stopped, mismatched_overrides, started_key
from eros.pipeline.server import ProbeServer
from eros.worker import stop
from eros.worker.job import HorseRuntime, set_runtime
from eros.worker.work import (
    REGISTRY,
    JobHalted,
    JobInterrupted,
    JobSuperseded,
)

logger = logging.getLogger(__name__)

# An idle worker blocks on its queue for WORKER_TTL - 15 s between heartbeats (RQ's rule).
WORKER_TTL_SECONDS = 60
PUBSUB_WAKE_SECONDS = 1.0
# How often a worker reads the published phase configuration (its queue, and to report
# the generation it follows to /eros/status).
QUEUE_WATCH_SECONDS = 5.0
# Longest a healthy worker goes without a heartbeat: a blocking dequeue, then RQ's longest
# back-off while Redis is unreachable, plus slack.
LIVENESS_SECONDS = WORKER_TTL_SECONDS + 60 + 60

# How long a stopping worker waits for RQ's scheduler process after its SIGTERM before
# killing it: it stops within a second, unless the signal came before it could take it.
SCHEDULER_STOP_SECONDS = 5.0
# Modules that job code imports lazily, on first use: a work horse is a fresh fork for
# each job, so whatever the worker has not imported before the fork every job imports
# again. `np.unique` imports `numpy.ma` on its first call, which cost a phase-3 horse
# 15-20 ms of CPU a job (`bench/phase_jobs.py`, a job's own work being ~20 ms).
HORSE_IMPORTS = ("numpy.ma",)

ExcInfo = tuple[type[BaseException] | None, BaseException | None, TracebackType | None]


class PhaseWorker(Worker):
    def __init__(
        self,
        connection: redis.Redis,
        settings: Settings,
        phase: Phase,
        *,
        name: str | None = None,
        config: PhaseConfig | None = None,
        burst: bool = False,
    ) -> None:
        # The phase's queue in the configuration the worker follows (`run_worker`: the
        # operator's), else in the settings; phase 1's then the maintenance queue.
        queues = [phase_queue(connection, config or from_settings(settings), phase)]
        if phase is MAINTENANCE_PHASE:
            queues.append(maintenance_queue(connection, settings))
        super().__init__(
            queues,
            name=name,
            connection=connection,
            default_result_ttl=settings.job_result_ttl_seconds,
            worker_ttl=WORKER_TTL_SECONDS,
            job_monitoring_interval=settings.worker_heartbeat_seconds,
        )
        self.settings = settings
        self.phase = phase
        # Until the queue is empty (`work(burst=self.burst)`): RQ then enqueues scheduled
        # jobs once, in this process, and runs no scheduler process.
        self.burst = burst
        self.started_at = time.monotonic()
        # Run in each new work horse, e.g. to close sockets that belong to the worker.
        self.horse_setup: list[Callable[[], None]] = []
        # The pub/sub thread, the SIGTERM handler and the grace timer all ask the horse to
        # stop; the handler runs on the main thread, hence a re-entrant lock.
        self._stop_lock = threading.RLock()
        self._asked = stop.StopReason.NONE
        self._forced = stop.StopReason.NONE
        self._timer: threading.Timer | None = None
        # Ready from when a SIGTERM would drain it (RQ's handlers are in place) until it is
        # asked to stop: from then on it only drains.
        self.listening = False
        self.draining = False
        stop.install_handlers()

    # --- The worker process -------------------------------------------------------------

    def alive(self) -> bool:
        """The main loop renewed the worker's heartbeat lately (or has only just started)."""
        if self.last_heartbeat is None:
            return time.monotonic() - self.started_at < LIVENESS_SECONDS
        return time.time() - self.last_heartbeat.timestamp() < LIVENESS_SECONDS

    def ready(self) -> bool:
        """Taking jobs: alive, started, and not draining (a stopping worker takes none)."""
        return self.listening and not self.draining and self.alive()

    def _install_signal_handlers(self) -> None:
        super()._install_signal_handlers()  # type: ignore[no-untyped-call]
        self.listening = True

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        # RQ's warm shutdown, on SIGTERM, SIGINT or its shutdown command.
        if os.getpid() != self.pid:
            # A fork that still has the worker's handler: RQ's scheduler process before it
            # installs its own (RQ stops it with SIGTERM as the worker exits, and waits for
            # it), or a horse before it resets its signals. The worker's shutdown would
            # leave such a process running; the signal's default action ends it.
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        self.draining = True
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]

    def stop_scheduler(self) -> None:
        """RQ's, with an end to the wait: SIGTERM, then SIGKILL after
        `SCHEDULER_STOP_SECONDS`.

        RQ waits for its scheduler process without a timeout. A SIGTERM that reaches it
        just after its fork is lost (Python drops signals that arrive before its fork
        bookkeeping), and the worker would wait for it for ever.
        """
        process: BaseProcess | None = self.scheduler._process if self.scheduler else None
        if process is None or not process.pid:
            return
        with contextlib.suppress(OSError):
            os.kill(process.pid, signal.SIGTERM)
        process.join(SCHEDULER_STOP_SECONDS)
        if process.is_alive():
            logger.warning(
                "RQ's scheduler process %d did not stop within %.0f s of SIGTERM; killing it.",
                process.pid,
                SCHEDULER_STOP_SECONDS,
            )
            process.kill()
            process.join()

    def subscribe(self) -> None:
        """RQ's command channel, read by a thread that wakes at least every second.

        RQ's own waits up to 60 s per read, and redis-py's `stop()` waits for that read to
        return: a stopping worker would hang for up to a minute after its job was requeued.
        A message still arrives at once; only the idle wake-ups are more frequent.
        """
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=PUBSUB_WAKE_SECONDS,
            daemon=True,
            exception_handler=self._pubsub_exception_handler,
        )

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        """RQ's heartbeat, then RQ's scheduler started again if it is not running.

        RQ runs its scheduler (which enqueues retries when their back-off ends) in a process
        of its own that ends at the first Redis error, and starts it again only at its
        maintenance run, every 10 minutes: after a Redis outage, retries would wait that
        long. The heartbeat is the first thing the worker's loop does once Redis answers.
        """
        super().heartbeat(timeout, pipeline)
        # Not inside a transaction, and not in a work horse (a fork of this process).
        if pipeline is None and os.getpid() == self.pid:
            self._keep_scheduler()

    def _keep_scheduler(self) -> None:
        scheduler = self.scheduler
        # Without one (`with_scheduler=False`), in burst mode, or draining: RQ runs none
        # or stopped it on purpose.
        if scheduler is None or self.burst or self._stop_requested:
            return
        # RQ leaves it untyped: a multiprocessing process once started, else None.
        process: BaseProcess | None = scheduler._process
        if process is not None and process.is_alive():
            return
        # One scheduler per queue: the worker holding the queue's lock runs it. Whichever
        # worker's heartbeat comes first after the holder's lock lapsed takes over.
        acquired = scheduler.acquire_locks(auto_start=True)  # type: ignore[no-untyped-call]
        if acquired and process is not None:
            logger.warning("RQ's scheduler of this worker had stopped; it runs again.")

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        # RQ allows a minute past the monitoring interval; a dead worker's job would wait that
        # long before anyone noticed.
        return self.settings.worker_abandoned_after_seconds

    def clean_registries(self) -> None:
        """RQ's maintenance, minus its cleanup of abandoned jobs, which would fail them or
        spend a retry: the scheduler's recovery requeues them to resume instead."""
        for queue in self.queues:
            if queue.acquire_maintenance_lock():
                FinishedJobRegistry(queue=queue).cleanup()
                FailedJobRegistry(queue=queue).cleanup()
                worker_registration.clean_worker_registry(queue)
                queue.intermediate_queue.cleanup(self, queue)
                queue.release_maintenance_lock()  # type: ignore[no-untyped-call]
        self.last_cleaned_at = now()  # type: ignore[assignment]

    def execute_job(self, job: Job, queue: Queue) -> None:
        with self._stop_lock:
            self._asked = self._forced = stop.StopReason.NONE
        self._warm_for_horses()
        phase = metrics.phase_label(self.phase)
        metrics.JOBS_STARTED.labels(phase).inc()
        started = time.monotonic()
        try:
            super().execute_job(job, queue)
        finally:
            with self._stop_lock:
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
                drained = self._asked is stop.StopReason.DRAIN
        self._observe(job, time.monotonic() - started, drained=drained)

    def _warm_for_horses(self) -> None:
        """Let the phase's work load, here before the fork, what its horses share."""
        work = REGISTRY.warmer(self.phase)
        if work is None:
            return
        failures: list[Exception] = []

        def warm() -> None:
            try:
                work.warm_worker_process(self.settings)
            except Exception as exc:  # the horse then loads it itself, or fails and retries
                failures.append(exc)

        thread = threading.Thread(target=warm, name="warm-for-horses", daemon=True)
        thread.start()
        # A first load of a large pool takes minutes: the worker stays alive meanwhile.
        while thread.is_alive():
            thread.join(self.job_monitoring_interval)
            if thread.is_alive():
                self.heartbeat()
        if failures:
            logger.warning(
                "Could not warm phase %d's work in the worker process; its job loads it.",
                int(self.phase),
                exc_info=failures[0],
            )

    def handle_payload(self, message: dict[str, Any]) -> None:
        payload = parse_payload(message)
        if payload.get("command") != "stop-job":
            super().handle_payload(message)  # type: ignore[no-untyped-call]
            return
        try:
            self._ask_horse(payload.get("job_id"), stop.StopReason.HALT)
        except Exception:
            # An error here would end RQ's pub/sub thread, and with it every later command;
            # the job still stops by polling its halt flag.
            logger.exception("Could not pass a stop request on to the running job.")

    def handle_warm_shutdown_request(self) -> None:
        super().handle_warm_shutdown_request()  # type: ignore[no-untyped-call]
        if self.horse_pid:
            self._ask_horse(self.get_current_job_id(), stop.StopReason.DRAIN)

    def _ask_horse(self, job_id: str | None, reason: stop.StopReason) -> None:
        with self._stop_lock:
            if not self.horse_pid or job_id is None or self.get_current_job_id() != job_id:
                # The job is not ours (any more); if it is still running, it polls its flag.
                logger.debug(
                    "Ignoring a stop request for job %s, which is not running here.", job_id
                )
                return
            if reason <= self._asked:
                return
            self._asked = reason
            signum = stop.HALT_SIGNAL if reason is stop.StopReason.HALT else stop.DRAIN_SIGNAL
            try:
                os.kill(self.horse_pid, signum)
            except ProcessLookupError:
                return
            grace = (
                self.settings.halt_grace_seconds
                if reason is stop.StopReason.HALT
                else self.settings.worker_shutdown_grace_seconds
            )
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(grace, self._force_stop, args=(job_id, reason))
            self._timer.daemon = True
            self._timer.start()

    def _force_stop(self, job_id: str, reason: stop.StopReason) -> None:
        with self._stop_lock:
            if not self.horse_pid or self.get_current_job_id() != job_id:
                return
            self._forced = reason
            mark_stopped(self, job_id)
        logger.warning("Job %s did not stop within its grace period; killing it.", job_id)
        self.kill_horse()

    def _handle_stopped_job(self, job: Job, queue: Queue, execution: Execution) -> None:
        if self._forced is stop.StopReason.HALT:
            raw = self.connection.get(halt_key(job.id))
            received = None if raw is None else int(raw)
            record = HaltRecord(received, wall_ms(), via="killed", requested=raw is not None)
            record_halt(self.connection, self.settings, job, record, execution)
        elif self._forced is stop.StopReason.DRAIN:
            requeue(self.connection, job, execution, reason="shutdown")
        else:
            super()._handle_stopped_job(job, queue, execution)

    def _observe(self, job: Job, seconds: float, *, drained: bool) -> None:
        phase = metrics.phase_label(self.phase)
        try:
            status = job.get_status(refresh=True)
            meta = job.get_meta(refresh=True)
            saves = take_checkpoint_saves(self.connection, job.id)
            for call in take_calls(self.connection, job.id):
                llm_metrics.observe(call)
        except Exception:  # a job gone or Redis down must not stop the worker
            logger.warning("Could not read the outcome of job %s for metrics.", job.id)
            return
        if saves:
            metrics.CHECKPOINTS_SAVED.labels(phase).inc(saves)
        outcome = _outcome(status, meta, drained=drained)
        metrics.JOB_DURATION.labels(phase, outcome).observe(seconds)
        if outcome == "completed":
            metrics.JOBS_COMPLETED.labels(phase).inc()
        elif outcome == "failed":
            metrics.JOBS_FAILED.labels(phase).inc()
        elif outcome == "retried":
            metrics.JOBS_RETRIED.labels(phase).inc()
        elif outcome == "requeued":
            metrics.JOBS_REQUEUED.labels(phase, "shutdown").inc()
        elif outcome == "halted":
            halted = meta[HALTED_META]
            if not halted.get("requested"):
                metrics.JOBS_HALTED.labels(phase, "running").inc()
            if halted.get("latencyMs") is not None:
                latency = halted["latencyMs"] / 1000
                metrics.HALT_LATENCY.labels(phase, "running").observe(latency)

    # --- The work horse -----------------------------------------------------------------

    def setup_work_horse_signals(self) -> None:
        super().setup_work_horse_signals()  # type: ignore[no-untyped-call]
        stop.start_horse()
        if self._stop_requested:
            # SIGTERM arrived between the dequeue and the fork: drain at the first safe point.
            stop.request(stop.StopReason.DRAIN)
        for setup in self.horse_setup:
            setup()

    def perform_job(self, job: Job, queue: Queue, execution: Execution) -> bool:
        member = (started_key(queue.name), execution.composite_key)
        set_runtime(HorseRuntime(self.settings, member, os.getppid()))
        llm_metrics.buffer_calls()
        try:
            return bool(super().perform_job(job, queue, execution))
        finally:
            try:
                ship_calls(self.connection, job.id, llm_metrics.take_buffered())
            except redis.RedisError:
                logger.warning("Could not ship the Claude calls of job %s for metrics.", job.id)

    def _finalize_failure(
        self, job: Job, queue: Queue, execution: Execution, exc_info: ExcInfo
    ) -> None:
        try:
            self._finalize_stop_or_failure(job, queue, execution, exc_info)
        except Exception:
            # RQ's work horse exits silently on an exception here; say what went wrong.
            logger.exception("Could not record how job %s ended.", job.id)
            raise

    def _finalize_stop_or_failure(
        self, job: Job, queue: Queue, execution: Execution, exc_info: ExcInfo
    ) -> None:
        error = exc_info[1]
        if isinstance(error, JobHalted):
            received = error.received_at_ms
            if received is None and error.requested:
                raw = self.connection.get(halt_key(job.id))
                received = None if raw is None else int(raw)
            record = HaltRecord(received, error.detected_at_ms, error.via, error.requested)
            record_halt(self.connection, self.settings, job, record, execution)
        elif isinstance(error, JobInterrupted):
            requeue(self.connection, job, execution, reason=error.reason)
        elif isinstance(error, JobSuperseded):
            logger.warning("Job %s runs on another worker now; this run stops.", job.id)
        else:
            key = JobKey.parse(job.id)
            if not job.should_retry and key is not None:
                # Before RQ marks it failed: whoever sees the failed status must not find
                # the job still in the user's halting index.
                forget_job(self.connection, key.user_id, job.id)
            super()._finalize_failure(job, queue, execution, exc_info)


def _outcome(status: JobStatus, meta: dict[str, Any], *, drained: bool) -> str:
    if status is JobStatus.FINISHED:
        return "completed"
    if status is JobStatus.STOPPED and HALTED_META in meta:
        return "halted"
    if status is JobStatus.FAILED or status is JobStatus.STOPPED:
        return "failed"
    if status in (JobStatus.QUEUED, JobStatus.SCHEDULED):
        return "requeued" if drained else "retried"
    return "superseded"


class QueueWatch:
    """Follows the phase configuration from a thread and, when the phase's queue is renamed,
    asks the worker to stop as SIGTERM would: it drains (its job checkpoints and is
    requeued) and exits, to be restarted on the new queue by its Deployment or `eros dev`."""

    def __init__(self, follower: PhaseConfigFollower, phase: Phase, queue: str) -> None:
        self._follower = follower
        self._phase = phase
        self._queue = queue
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="eros-queue-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(QUEUE_WATCH_SECONDS):
            queue = self._follower.current().queue(self._phase)
            if queue != self._queue:
                logger.warning(
                    "Phase %d now uses queue %s; this worker leaves %s and stops.",
                    int(self._phase),
                    queue,
                    self._queue,
                )
                os.kill(os.getpid(), signal.SIGTERM)
                return


def run_worker(
    settings: Settings,
    phase: Phase,
    *,
    metrics_port: int | None = None,
    burst: bool = False,
    name: str | None = None,
) -> int:
    """Work on the phase's queue until SIGTERM (or, with `burst`, until it is empty)."""
    if not settings.redis_url:
        raise RuntimeError("EROS_REDIS_URL is not set (run `eros dev` for an embedded one)")
    if problems := mismatched_overrides(PhaseWorker):
        raise RuntimeError(
            f"The installed RQ {rq.__version__} does not fit this worker: {'; '.join(problems)}."
        )
    REGISTRY.load(settings.worker_work_modules)
    for module in HORSE_IMPORTS:
        importlib.import_module(module)
    if REGISTRY.get(phase) is None:
        logger.warning(
            "No work is registered for phase %d; its jobs will complete without doing anything.",
            int(phase),
        )
    connection = sync_redis(settings.redis_url)
    name = name or uuid.uuid4().hex
    # Its own connection: it is read from a thread, and forked work horses must not share it.
    follower = PhaseConfigFollower(
        sync_redis(settings.redis_url),
        settings,
        f"worker/{name}",
        refresh_seconds=QUEUE_WATCH_SECONDS,
    )
    worker = PhaseWorker(
        connection, settings, phase, name=name, config=follower.current(), burst=burst
    )
    watch = QueueWatch(follower, phase, worker.queues[0].name)
    port = settings.worker_metrics_port if metrics_port is None else metrics_port
    server: ProbeServer | None = None
    if port:
        server = ProbeServer(
            settings.metrics_host,
            port,
            registry=metrics.WORKER_REGISTRY,
            live=worker.alive,
            ready=worker.ready,
            before_scrape=metrics.load_sampler(connection, follower.current, [int(phase)]),
        )
        worker.horse_setup.append(server.close_in_horse)
        server.start()
    try:
        # RQ's scheduler (one per queue, elected among the workers) enqueues retries when
        # their back-off ends.
        watch.start()
        worker.work(burst=worker.burst, logging_level=settings.log_level, with_scheduler=True)
    finally:
        watch.stop()
        follower.forget()
        if server is not None:
            server.stop()
    logger.info("Worker for phase %d stopped.", int(phase))
    return 0
