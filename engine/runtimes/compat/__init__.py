"""Other ecosystems' plugin shapes (MusicFree plugins, LX Music custom sources) as rows of the backend table.

Each is the one JavaScript backend with a different `Flavour` (engine/runtimes/js.py): libraries, JS glue that
speaks the ecosystem's host contract over `fox.*`, and the plugin's own metadata read into a manifest.
"""
