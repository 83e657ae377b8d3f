"""The built-in sample county: a deterministic synthetic county calibrated to DOMAIN.md."""
