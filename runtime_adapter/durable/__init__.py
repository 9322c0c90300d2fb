"""The runtime's durable state beside runs, read-only: jobs (FileJobStore), the audit log (FileAuditSink JSONL)
and memory layers (FileLayerStore). Each reader turns a broken file or line into an error item, never an exception
that hides the rest."""
