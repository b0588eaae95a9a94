"""The binary ABI native libraries and WebAssembly modules share (docs/abi.md): JSON in, JSON out, bounds-checked.

A backend supplies the primitives (`_memory`, `_alloc`, `_free`, `_call`, `_info`, `_abi_version`); everything
that reads or writes plugin memory lives here, so both kinds check pointers the same way. Every pointer that
crosses is a u32 offset into the plugin's one memory and is checked against that memory's size before a byte
is touched: a plugin that returns garbage gets a PluginError and the host reads nothing outside its memory.
"""

from __future__ import annotations

import ctypes
import json
from typing import Any

from engine.errors import FoxplugError, ManifestError, PluginError
from engine.runtimes.base import HostLink, Limits
from script_api.context import PluginContext

ABI_VERSION = 1

_MASK = 0xFFFFFFFF
_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON data")


_decoder = json.JSONDecoder(parse_constant=_no_constant)


def pack(ptr: int, length: int) -> int:
    """(ptr, len) as the u64 every ABI function returns: pointer in the high half, length in the low."""
    return (ptr << 32) | length


def unpack(packed: int) -> tuple[int, int]:
    return (packed >> 32) & _MASK, packed & _MASK


def encode(value: Any) -> bytes:
    return _encoder.encode(value).encode("utf-8")


class AbiViolation(Exception):
    """The plugin broke the ABI: a pointer outside its memory, bytes that are not JSON, a malformed reply."""


def decode(data: bytes, what: str) -> Any:
    try:
        return _decoder.decode(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise AbiViolation(f"{what} is not UTF-8 (byte {exc.start})") from None
    except RecursionError:
        raise AbiViolation(f"{what} is nested too deeply") from None
    except ValueError as exc:
        raise AbiViolation(f"{what} is not JSON: {exc}") from None


class AbiInstance:
    """An `Instance` speaking the ABI. Subclasses bind the primitives to ctypes or wasmtime."""

    kind = "binary"
    """How messages name the plugin's form: `native library`, `wasm module`."""

    def __init__(self, ctx: PluginContext, limits: Limits) -> None:
        self._link = HostLink(ctx)
        self._ctx = ctx
        self._limits = limits
        self._exports: frozenset[str] = frozenset()
        self._pending: BaseException | None = None
        """An error raised inside `host_call` that could not unwind through the plugin's frames."""

    # -- primitives a backend provides -------------------------------------------------------------------
    def _memory(self, fresh: bool = False) -> tuple[int, int]:
        """(address of the plugin's memory in this process, its size in bytes). Without `fresh` it may be an
        earlier reading: memory never shrinks, so a range inside an old size is inside the current one."""
        raise NotImplementedError

    def _alloc(self, size: int) -> int:
        raise NotImplementedError

    def _free(self, ptr: int, size: int) -> None:
        raise NotImplementedError

    def _call(self, function: str, name_ptr: int, name_len: int, args_ptr: int, args_len: int) -> int:
        raise NotImplementedError

    def _info(self) -> int:
        raise NotImplementedError

    def _abi_version(self) -> int:
        raise NotImplementedError

    def _arm(self, deadline: float) -> None:
        """Start a host → plugin call that must end by `deadline` (wasm: the epoch deadline)."""

    # -- memory, bounds-checked -------------------------------------------------------------------------
    def _read(self, ptr: int, length: int, what: str) -> bytes:
        base, size = self._memory()
        if ptr == 0 or length == 0 or ptr + length > size:
            base, size = self._memory(fresh=True)
            if ptr == 0 or length == 0 or ptr + length > size:
                raise AbiViolation(f"{what} is bytes {ptr}..{ptr + length}, outside its {size}-byte memory")
        return ctypes.string_at(base + ptr, length)

    def _write(self, ptr: int, data: bytes, what: str) -> None:
        base, size = self._memory()
        if ptr == 0 or ptr + len(data) > size:
            base, size = self._memory(fresh=True)
            if ptr == 0 or ptr + len(data) > size:
                raise AbiViolation(f"{what} gave bytes {ptr}..{ptr + len(data)}, outside its {size}-byte memory")
        ctypes.memmove(base + ptr, data, len(data))

    def _take(self, packed: int, what: str) -> bytes:
        """Read a buffer the plugin returned, then give it back to the plugin."""
        ptr, length = unpack(packed)
        data = self._read(ptr, length, what)
        self._free(ptr, length)
        return data

    # -- the protocol ----------------------------------------------------------------------------------
    def _start(self, deadline: float) -> None:
        """After the backend bound its primitives: check the ABI version and read `info`."""
        self._link.begin(deadline)
        self._arm(deadline)
        try:
            version = self._abi_version()
            if version != ABI_VERSION:
                raise PluginError(
                    f"{self.kind} speaks foxplug ABI {version}, this engine speaks {ABI_VERSION}",
                    plugin=self._ctx.plugin_id,
                    file=self._ctx.path,
                    hint="rebuild it against docs/abi.md of this engine",
                )
            info = decode(self._take(self._info(), "foxplug_info()"), "foxplug_info()")
        except AbiViolation as violation:
            raise self._violation("foxplug_info", violation) from None
        self._raise_pending()
        exports = info.get("exports") if isinstance(info, dict) else None
        if not isinstance(exports, list) or not all(isinstance(name, str) for name in exports):
            raise self._violation("foxplug_info", AbiViolation('the reply needs "exports": [function names]'))
        if info.get("id", self._ctx.plugin_id) != self._ctx.plugin_id:
            raise ManifestError(
                f"{self.kind} says it is plugin `{info['id']}`, the manifest says `{self._ctx.plugin_id}`",
                plugin=self._ctx.plugin_id,
                file=self._ctx.path,
                field="id",
                hint="build it from this plugin's source, or fix the id in one of them",
            )
        self._exports = frozenset(exports)

    def call(self, name: str, args: tuple[Any, ...], deadline: float) -> Any:
        if name not in self._exports:
            raise self._link.missing(name)
        self._link.begin(deadline)
        self._arm(deadline)
        encoded_name = name.encode("utf-8")
        payload = encoded_name + encode(args)
        try:
            ptr = self._alloc(len(payload))
            if ptr == 0:
                raise self._link.out_of_memory(name, f"memory (foxplug_alloc({len(payload)}) failed)")
            self._write(ptr, payload, "foxplug_alloc()")
            packed = self._call(name, ptr, len(encoded_name), ptr + len(encoded_name), len(payload) - len(encoded_name))
            self._raise_pending()
            self._free(ptr, len(payload))
            if packed & _MASK > self._limits.max_result:
                raise self._link.out_of_memory(name, f"{self._limits.max_result}-byte result limit")
            reply = decode(self._take(packed, "the result"), "the result")
        except AbiViolation as violation:
            raise self._violation(name, violation) from None
        finally:
            self._pending = None
        if type(reply) is dict and len(reply) == 1:
            if "ok" in reply:
                return reply["ok"]
            if "error" in reply:
                raise self._link.script_error(str(reply["error"]), name)
        raise self._violation(name, AbiViolation('the result must be {"ok": value} or {"error": message}'))

    def host_call(self, name_ptr: int, name_len: int, args_ptr: int, args_len: int) -> int:
        """The plugin's one import: dispatch `fox.<name>(*args)` through the gate, reply with an envelope.

        Runs inside a plugin frame, so nothing may propagate: an error the plugin cannot be told about
        (a trap inside `foxplug_alloc`, say) is kept in `_pending` and raised once the plugin returns.
        """
        try:
            try:
                name = self._read(name_ptr, name_len, "host_call's name").decode("utf-8")
                if args_len > self._limits.max_result:
                    raise AbiViolation(f"host_call's arguments exceed the {self._limits.max_result}-byte limit")
                args = decode(self._read(args_ptr, args_len, "host_call's arguments"), "host_call's arguments")
                if type(args) is not list:
                    raise AbiViolation("host_call's arguments must be a JSON array")
            except (AbiViolation, UnicodeDecodeError) as violation:
                error = self._violation("host_call", violation)
                self._link.raised = error
                reply: dict[str, Any] = {"error": f"{type(error).__name__}: {error}"}
            else:
                try:
                    reply = {"ok": self._link(name, tuple(args))}
                except FoxplugError as error:
                    reply = {"error": f"{type(error).__name__}: {error}"}
            try:
                data = encode(reply)
            except (TypeError, ValueError) as exc:
                data = encode({"error": f"PluginError: fox.{name} returned data that is not JSON: {exc}"})
            ptr = self._alloc(len(data))
            if ptr == 0:
                self._pending = self._link.out_of_memory("host_call", f"memory (foxplug_alloc({len(data)}) failed)")
                return 0
            self._write(ptr, data, "foxplug_alloc()")
            return pack(ptr, len(data))
        except AbiViolation as violation:
            self._pending = self._violation("host_call", violation)
        except BaseException as error:
            self._pending = error
        return 0

    def _raise_pending(self) -> None:
        if self._pending is not None:
            error, self._pending = self._pending, None
            raise error

    def _violation(self, function: str, violation: AbiViolation) -> PluginError:
        return PluginError(
            f"{function}(): {violation}",
            plugin=self._ctx.plugin_id,
            file=self._ctx.path,
            hint=f"the {self.kind} breaks the foxplug ABI (docs/abi.md)",
        )

    def exports(self) -> frozenset[str]:
        return self._exports
