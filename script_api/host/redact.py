"""Credentials never reach an error message or a log line: URLs are shown with their secrets masked.

Plugins carry passwords in URLs (`http://user:pass@host/`) and in queries (Subsonic's `p=`, `t=` and `s=`,
`token=`, `api_key=`); a message quoting the URL would hand them to whoever reads the log.
"""

from __future__ import annotations

import re

MASK = "***"
_SECRET_NAME = re.compile(
    r"^(?:p|t|s|sig|sign|signature|code|auth\w*|\w*(?:pass|pwd|token|secret|key|session|sid|cookie|credential)\w*)$",
    re.I,
)
_USERINFO = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)(?P<user>[^/?#@\s:]*)(?::[^/?#@\s]*)?@", re.I)
_QUERY_PAIR = re.compile(r"(?P<lead>[?&;])(?P<name>[^=&#\s]+)=(?P<value>[^&#\s]*)")


def redact(text: str) -> str:
    """`text` with every URL password and every secret-looking query value replaced by ***."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    return _QUERY_PAIR.sub(
        lambda m: f"{m['lead']}{m['name']}={MASK}" if _SECRET_NAME.match(m["name"]) else m.group(0), text
    )
