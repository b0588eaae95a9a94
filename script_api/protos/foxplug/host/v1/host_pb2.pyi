from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class CallRequest(_message.Message):
    __slots__ = ("plugin", "method", "args_json", "timeout")
    PLUGIN_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    ARGS_JSON_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    plugin: str
    method: str
    args_json: str
    timeout: float
    def __init__(self, plugin: _Optional[str] = ..., method: _Optional[str] = ..., args_json: _Optional[str] = ..., timeout: _Optional[float] = ...) -> None: ...

class CallResponse(_message.Message):
    __slots__ = ("result_json",)
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    result_json: str
    def __init__(self, result_json: _Optional[str] = ...) -> None: ...

class EmitRequest(_message.Message):
    __slots__ = ("event", "payload_json")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    event: str
    payload_json: str
    def __init__(self, event: _Optional[str] = ..., payload_json: _Optional[str] = ...) -> None: ...

class EmitResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EventsRequest(_message.Message):
    __slots__ = ("names",)
    NAMES_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, names: _Optional[_Iterable[str]] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("name", "payload_json")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    name: str
    payload_json: str
    def __init__(self, name: _Optional[str] = ..., payload_json: _Optional[str] = ...) -> None: ...

class PlayerCommand(_message.Message):
    __slots__ = ("id", "method", "params_json")
    ID_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    id: int
    method: str
    params_json: str
    def __init__(self, id: _Optional[int] = ..., method: _Optional[str] = ..., params_json: _Optional[str] = ...) -> None: ...

class PlayerReply(_message.Message):
    __slots__ = ("id", "result_json", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: int
    result_json: str
    error: str
    def __init__(self, id: _Optional[int] = ..., result_json: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...
