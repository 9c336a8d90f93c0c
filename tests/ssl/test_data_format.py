"""solo-learn's ``data.format: dali`` / ``h5`` are refused at the config check."""

from __future__ import annotations

import pytest

from sweeper.config import ConfigError
from sweeper.ssl.build import checked_config
from tests.ssl.conftest import digits_cfg


@pytest.mark.parametrize("fmt", ["dali", "h5"])
def test_unsupported_formats_are_refused_naming_the_key(fmt: str) -> None:
    with pytest.raises(ConfigError, match=f"data.format='{fmt}'.*image_folder, torchvision"):
        checked_config(digits_cfg("data=cifar10", f"data.format={fmt}"))
