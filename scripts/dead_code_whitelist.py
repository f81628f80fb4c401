"""Names used by frameworks, not by calls in the source (read by scripts/dead_code.py).

vulture matches names, not qualified paths: `_.name` marks every definition called
`name` as used. Each line says who uses it. Never executed.
"""

# ruff: noqa: B018, F821

# http.server calls its handlers' methods and reads its server's class attributes.
_.do_GET  # operator/health.py, pipeline/server.py
_.log_message  # operator/health.py, pipeline/server.py
_.daemon_threads  # operator/health.py, pipeline/server.py

# kopf reads the settings that operator/handlers.py `configure` writes.
_.finalizer
_.progress_storage
_.diffbase_storage
_.reporting_component
_.mandatory
_.server_timeout
_.client_timeout
_.connect_timeout
_.request_timeout
_.max_workers

# RQ calls the overrides of worker/runner.py's Worker and reads the attributes it sets,
# and runs jobs by dotted name (eros.pipeline.queue.JOB_FUNCTION, bench/halt.py).
_.get_heartbeat_ttl
_.working_time  # an argument of RQ's get_heartbeat_ttl signature
_.clean_registries
_.stop_scheduler
_.pubsub_thread
_.last_cleaned_at
_._stopped_job_id
_.worker_name  # a field of RQ's Job, reset by pipeline/outcome.py
_.run_phase_job
_.run_retention_job  # worker/maintenance.py: RQ calls it by name (pipeline/maintenance.py)
_.run_model_fit_job  # worker/maintenance.py: RQ calls it by name (pipeline/maintenance.py)
_.run_recommendations_job  # worker/recommendations.py: RQ calls it by name
_.plain_forever

# The worker imports its work modules (EROS_WORKER_WORK_MODULES) and calls this hook.
_.register_work

# Context managers' __exit__ takes the traceback whether it reads it or not.
_.tb  # core/embedded.py

# The RQ versions the storage layout was checked with, read by its contract test.
_.CHECKED_RQ_VERSIONS  # pipeline/rq_internals.py
_.rq_version  # pipeline/rq_internals.py

# A report's fields are the domain object the API returns; not every one is read yet.
_.reported_id  # core/safety.py

# The CPU limiter's state, read by the tests that skip where cgroups are not writable.
_.enabled  # operator/cgroups.py
# The model's scalar form; tests/operator/test_forecast.py checks the hazard through it.
_.stay_probability  # operator/forecast.py

# TODO(issue 12): dead, owned elsewhere. Each is defined but never used by the product
# (only tests use some of them); the owners remove them, and then their lines here.
_.is_quantity  # operator/quantity.py: the CRD validation tests' twin of CEL isQuantity
_.duplicates  # pipeline/queue.py: EnqueueCounts field nobody reads
