"""The one gate between plugin code and the host: every `fox.*` call is dispatched and judged here."""
