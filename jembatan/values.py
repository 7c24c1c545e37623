"""Field values on the wire: conversion between Python values and ``jembatan.v1.Value``.

Hand-written beside the generated code because it is part of the contract: the hub,
the connector SDK and the client SDK all read and write values through it.
"""

from __future__ import annotations

import datetime
from typing import TypeAlias

from jembatan.v1 import common_pb2

FieldValue: TypeAlias = str | int | bool | float | datetime.date


def to_wire(value: FieldValue) -> common_pb2.Value:
    # bool before int: bool is a subclass of int.
    if isinstance(value, bool):
        return common_pb2.Value(flag=value)
    if isinstance(value, int):
        return common_pb2.Value(integer=value)
    if isinstance(value, float):
        return common_pb2.Value(number=value)
    if isinstance(value, datetime.date):
        return common_pb2.Value(date=value.isoformat())
    if isinstance(value, str):
        return common_pb2.Value(text=value)
    raise TypeError(f"unsupported field value type {type(value).__name__}")


def from_wire(value: common_pb2.Value) -> FieldValue:
    kind = value.WhichOneof("kind")
    if kind == "text":
        return value.text
    if kind == "integer":
        return value.integer
    if kind == "flag":
        return value.flag
    if kind == "number":
        return value.number
    if kind == "date":
        return datetime.date.fromisoformat(value.date)
    raise ValueError("empty field value")
