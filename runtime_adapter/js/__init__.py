"""JS value semantics the runtime's records depend on: values, JSON text, collation, ISO timestamps."""
