"""Playback backends that implement the Player protocol (script_api.player)."""
