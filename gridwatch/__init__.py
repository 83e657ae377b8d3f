"""gridwatch: county public-safety GIS."""
