"""Extract, validate, load: schema, embedded database, readers, loader, sample county."""
