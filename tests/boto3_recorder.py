"""A pytest plugin: log every botocore request a test makes, and whether Stubber or moto answered it.

Loaded by tests/test_boto3_calls.py in a child pytest (``-p boto3_recorder``); ``BOTO3_RECORD`` names the file,
one ``service operation how`` line per request (``how``: ``stubber``, ``moto`` or ``none``).
"""

from __future__ import annotations

import os
from typing import Any

import botocore.client
from botocore import xform_name

_original = botocore.client.BaseClient._make_api_call


def _how(client: Any) -> str:
    emitter = getattr(client.meta.events, "_emitter", client.meta.events)
    if "boto_stubber" in getattr(emitter, "_unique_id_handlers", {}):
        return "stubber"
    try:
        from moto.core.models import botocore_stubber

        if botocore_stubber.enabled:
            return "moto"
    except ImportError:
        pass
    return "none"


def _recording(self: Any, operation_name: str, api_params: Any) -> Any:
    with open(os.environ["BOTO3_RECORD"], "a", encoding="utf-8") as log:
        log.write(f"{self.meta.service_model.service_name} {xform_name(operation_name)} {_how(self)}\n")
    return _original(self, operation_name, api_params)


botocore.client.BaseClient._make_api_call = _recording  # type: ignore[method-assign]
