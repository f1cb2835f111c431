"""TLS-RPT (RFC 8460): read reports, aggregate them, show them; receive them on AWS.

Importing the package installs the typed fast path of :func:`mtasts.tlsrpt.report.parse_report` (:mod:`.typed`,
msgspec) wherever msgspec is installed. The rua Lambda ships this file, ``report.py`` and ``receiver.py`` only
(no site-packages): there the import fails and the standard-library reference decodes alone.
"""

import contextlib

with contextlib.suppress(ImportError):  # no msgspec (the rua Lambda): the reference decodes alone
    from . import typed as _typed  # noqa: F401 - imported for its effect: report.use_fast_decoder(typed.decode)
