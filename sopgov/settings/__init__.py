"""Settings modules: ``local`` (embedded defaults), ``test`` and ``production``."""
