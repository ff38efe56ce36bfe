"""The config file: YAML with ``${VAR}`` interpolation, validated into frozen dataclasses.

Reading goes in two passes. First every string value has its ``${VAR}`` / ``${VAR:-default}``
references replaced from the environment (``$$`` is a literal ``$``). Then each section is checked
key by key, as its dataclass's fields declare (:mod:`sync.config.sections`); every problem is
collected with its key path (``ozon.client_id: ...``) and they are raised together as one
:class:`~sync.errors.ConfigError`, so a person fixes the file in one go.

Only the stable-contract keys are required (``ozon.client_id``, ``ozon.api_key``, ``ozon.base_url``,
``spreadsheet.backend``, ``spreadsheet.worksheet``, ``spreadsheet.path`` for Excel, ``state``);
everything else has the default shown in the dataclasses and in config.example.yaml.
Relative paths resolve against the folder of the config file. Durations are seconds when given
as numbers, or strings such as ``30s``, ``5m``, ``2h``, ``1d``, ``1h30m``.
"""

from sync.config.checks import parse_duration as _parse_duration
from sync.config.load import config_from_dict, load_config
from sync.config.sections import (
    AlertsConfig,
    Config,
    EmailConfig,
    HandoverConfig,
    LabelsConfig,
    LoggingConfig,
    OzonConfig,
    PrivacyConfig,
    ScheduleConfig,
    SpreadsheetConfig,
    SyncOptions,
    ViewConfig,
    WebhookConfig,
    fold_name,
    url_origin,
)

__all__ = [
    "AlertsConfig", "Config", "EmailConfig", "HandoverConfig", "LabelsConfig", "LoggingConfig", "OzonConfig",
    "PrivacyConfig", "ScheduleConfig", "SpreadsheetConfig", "SyncOptions", "ViewConfig", "WebhookConfig",
    "_parse_duration",
    "config_from_dict", "fold_name", "load_config", "url_origin",
]
