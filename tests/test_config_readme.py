"""config/README.md describes every key the config and the dataset sheet accept."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def test_config_readme_names_every_key_and_column():
    text = (REPO / "config" / "README.md").read_text()
    config = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    sheet = yaml.safe_load((REPO / "workflow" / "schemas" / "datasets.schema.yaml").read_text())
    keys = set(config["properties"])
    keys |= set(config["properties"]["simulate"]["additionalProperties"]["properties"])
    keys |= set(config["properties"]["stages"]["items"]["properties"])
    keys |= set(sheet["properties"])
    missing = sorted(key for key in keys if f"`{key}`" not in text and f"`{key}," not in text
                     and f", `{key}`" not in text)
    assert missing == []
