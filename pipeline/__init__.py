"""The job pipeline: queues and job keys, enqueueing, halting, recovery, the scheduler and
the pipeline's status and metrics. The API, the workers and the operator build on it;
`eros.worker` holds only what runs inside a worker process (docs/pipeline.md)."""
