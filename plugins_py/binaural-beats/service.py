"""Binaural beats: `foxplug search "binaural alpha"`. A gRPC plugin written with the Python SDK.

Each ear hears a slightly different tone; the brain hears the difference as a slow beat. Headphones needed.
"""

from script_api.grpc_sdk import serve_grpc

CARRIER_HZ = 200
BANDS = {  # name: (beat in Hz, what it is used for)
    "delta": (2, "deep sleep"),
    "theta": (6, "meditation"),
    "alpha": (10, "relaxed focus"),
    "beta": (18, "alertness"),
    "gamma": (40, "concentration"),
}
WORDS = {"binaural", "beats", "brainwave"}
HOUR_MS = 60 * 60 * 1000
BREATH_S = 10


def song(band):
    beat, use = BANDS[band]
    return {
        "id": f"binaural-{band}",
        "title": f"{band.title()} {beat} Hz — {use}",
        "artists": [{"id": "foxplug", "name": "foxplug Binaural"}],
        "album": {"id": "binaural-beats", "name": "Binaural Beats"},
        "duration_ms": HOUR_MS,
        "extra": {"beat_hz": beat, "carrier_hz": CARRIER_HZ, "headphones": True},
    }


def search(query, opts=None):
    opts = opts or {}
    words = set(query.lower().split())
    if opts.get("type", "song") != "song" or not words & WORDS:
        return []
    asked = [band for band in BANDS if band in words]
    return [song(band) for band in asked or BANDS][: opts.get("limit", 20)]


def band_of(song_id):
    band = str(song_id).removeprefix("binaural-")
    if band not in BANDS:
        raise ValueError(f"no binaural track with id {song_id}")
    return band


def get_song_url(song_id, quality=None):
    beat = BANDS[band_of(song_id)][0]
    left, right = CARRIER_HZ, CARRIER_HZ + beat
    return f"av://lavfi:aevalsrc=0.3*sin(2*PI*{left}*t)|0.3*sin(2*PI*{right}*t):d=3600"


def get_lyrics(song):
    band_of(song.get("id"))
    cues = []
    for breath in range(6):
        start = breath * BREATH_S
        cues.append(f"[{start // 60:02d}:{start % 60:02d}.00]breathe in")
        cues.append(f"[{(start + 4) // 60:02d}:{(start + 4) % 60:02d}.00]breathe out")
    return {"lrc": "\n".join(cues)}


if __name__ == "__main__":
    serve_grpc(
        {"search": search, "get_song_url": get_song_url, "get_lyrics": get_lyrics},
        id="binaural-beats",
        version="1.0.0",
    )
