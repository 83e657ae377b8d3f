"""The OGC API (pygeoapi): configuration, providers, processes, access control. Not built yet (issue 3)."""
