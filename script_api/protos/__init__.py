"""Python modules generated from schemas/proto (see build.py): the musicfox.plugin services and foxplug.host.v1."""
